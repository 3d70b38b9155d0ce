# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SSM agent of a host: what SSM says of it, and whether that stops the host (pure Python).

summarize() turns a DescribeInstanceInformation node into the entry ssm_agent_info returns;
gate() is what the preflight role decides from that answer for one host under
preflight_ssm_agent (auto | required | skip).
"""

from __future__ import annotations

import re

MODES = ("auto", "required", "skip")
SSM_CONNECTION = "amazon.aws.aws_ssm"
REASON_LENGTH = 250


def version_tuple(version):
    return tuple(int(p) for p in re.findall(r"\d+", version or ""))


def summarize(instance_id, region, node, min_agent_version=None):
    entry = {"instance_id": instance_id, "region": region, "managed": node is not None, "ready": False, "reason": None,
             "ping_status": None, "agent_version": None, "is_latest_version": None, "last_ping": None,
             "platform_type": None, "platform_name": None, "platform_version": None, "resource_type": None,
             "computer_name": None, "ip_address": None}
    if node is None:
        entry["reason"] = "not managed by SSM in %s (no agent registered, instance stopped, or another account)" % region
        return entry
    last_ping = node.get("LastPingDateTime")
    entry.update(ping_status=node.get("PingStatus"), agent_version=node.get("AgentVersion"),
                 is_latest_version=node.get("IsLatestVersion"),
                 last_ping=last_ping.isoformat() if hasattr(last_ping, "isoformat") else last_ping,
                 platform_type=node.get("PlatformType"), platform_name=node.get("PlatformName"),
                 platform_version=node.get("PlatformVersion"), resource_type=node.get("ResourceType"),
                 computer_name=node.get("ComputerName"), ip_address=node.get("IPAddress"))
    if entry["ping_status"] != "Online":
        entry["reason"] = "SSM agent %s (last ping %s)" % (entry["ping_status"], entry["last_ping"])
    elif min_agent_version and version_tuple(entry["agent_version"]) < version_tuple(min_agent_version):
        entry["reason"] = "SSM agent %s is older than %s" % (entry["agent_version"], min_agent_version)
    else:
        entry["ready"] = True
    return entry


def _short(text, length=REASON_LENGTH):
    text = str(text)
    return text if len(text) <= length else text[:length - 3] + "..."


def managed_by_inventory(sources=None, source="", instance_id="", connection=""):
    """Whether the inventory says SSM manages the host: its ssm source saw it, a hybrid mi- node, or
    reached through the aws_ssm connection."""
    sources = sources if sources is not None else [source or ""]
    return "ssm" in sources or (instance_id or "").startswith("mi-") or (connection or "") == SSM_CONNECTION


def gate(answer, instance_id, mode, by_inventory, agent_service="", agent_services=()):
    """What SSM's answer means for one host.

    `answer` is the registered result of ssm_agent_info for the batch (skipped when SSM was not
    asked, failed when the call failed). Returns:
      entry           what SSM said of this host ({} when nothing)
      reason          why the host must not be patched ('' when it may): under `required` a failed
                      call; an agent SSM knows that is not ready; an agent not ready where the
                      inventory says SSM manages the host
      agent_services  the services preflight checks on the host: the SSM agent's when SSM manages
                      it (by the inventory or SSM's word, unless `skip`), then `agent_services`
      record          what the ledger keeps of SSM's view: the entry, or the failed call, or None
    """
    if mode not in MODES:
        raise ValueError("preflight_ssm_agent %r is not one of %s" % (mode, ", ".join(MODES)))
    answer = answer if isinstance(answer, dict) else {}
    failed = bool(answer.get("failed"))
    error = _short(answer.get("msg") or "SSM DescribeInstanceInformation failed") if failed else ""
    entry = (answer.get("instances") or {}).get(instance_id) or {} if instance_id else {}
    reason, services = "", []
    if mode != "skip":
        unknown = entry.get("checked") is False  # its account could not be asked (role, access): like a failed call
        if (failed or unknown) and instance_id and mode == "required":
            reason = "SSM agent status unknown: %s" % (error or entry.get("error"))
        elif entry and not unknown and not entry.get("ready") and (entry.get("managed") or mode == "required" or by_inventory):
            reason = entry.get("reason") or "SSM agent not ready"
        if agent_service and (by_inventory or entry.get("managed")):
            services = [agent_service]
    record = entry or ({"checked": False, "error": _short(answer.get("msg") or "")} if failed and instance_id else None)
    return {"entry": entry, "reason": reason, "agent_services": services + list(agent_services or []), "record": record}
