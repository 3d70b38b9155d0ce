# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots before a patch: which provider a host gets, what the policy makes of a failure, and
which snapshots a cleanup may delete (pure Python, no Ansible import).

Ownership is proven by tags, never guessed from names: a snapshot is ours only when it carries
the fleetpatch marker and a run id, and a cleanup only ever deletes snapshots of the run it was
given. A snapshot whose expiry cannot be read is kept.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

PROVIDERS = ("ec2", "vmware", "lvm", "package_state", "none")
POLICIES = ("required", "best_effort", "none")
# What each provider can give back on rollback. package_state restores by package downgrade
# (see rollback.py), which is not a snapshot restore.
RESTORE = {"ec2": "snapshot", "vmware": "snapshot", "lvm": "snapshot", "package_state": "package_downgrade", "none": None}

MANAGED_BY = "fleetpatch.hybrid"
TAG_MANAGED_BY = "fleetpatch:managed-by"
TAG_RUN_ID = "fleetpatch:run-id"
TAG_CR = "fleetpatch:cr"
TAG_PATCH_GROUP = "fleetpatch:patch-group"
TAG_EXPIRES = "fleetpatch:expires-at"
TAG_INSTANCE = "fleetpatch:instance-id"
TAG_DEVICE = "fleetpatch:device"
TAG_RESTORED_FROM = "fleetpatch:restored-from"

CLEANUP_MODES = ("all", "expired")
_LV_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")


class SnapshotError(ValueError):
    """Bad snapshot input: the message names the field and the fix."""


# --- provider and policy -------------------------------------------------------------------

def choose_provider(hostvars, policy="best_effort"):
    """The snapshot provider of a host, from its host vars, with the reason.

    An explicit ``fleetpatch_snapshot_provider`` wins. Otherwise: an EC2 instance (source ec2, or
    an ``i-`` instance id, as SSM reports EC2 instances too) gets ec2; a host with vCenter
    coordinates (``fleetpatch_vmware_name``/``_uuid``/``_moid``) gets vmware; a host with
    ``fleetpatch_snapshot_lvm_volumes`` gets lvm; a Windows host gets none; any other host gets
    package_state, which every Linux host can do.
    """
    check_policy(policy)
    hostvars = hostvars or {}
    if policy == "none":
        return {"provider": "none", "reason": "snapshot policy is none"}
    explicit = hostvars.get("fleetpatch_snapshot_provider")
    if explicit:
        if explicit not in PROVIDERS:
            raise SnapshotError("fleetpatch_snapshot_provider %r is not one of %s" % (explicit, ", ".join(PROVIDERS)))
        return {"provider": explicit, "reason": "set by fleetpatch_snapshot_provider"}
    instance_id = str(hostvars.get("fleetpatch_instance_id") or "")
    if hostvars.get("fleetpatch_source") == "ec2" or instance_id.startswith("i-"):
        if not instance_id.startswith("i-"):
            raise SnapshotError("host source is ec2 but fleetpatch_instance_id %r is not an EC2 instance id (i-...): "
                                "set fleetpatch_instance_id or fleetpatch_snapshot_provider" % (instance_id or None))
        return {"provider": "ec2", "reason": "EC2 instance %s" % instance_id}
    for key in ("fleetpatch_vmware_name", "fleetpatch_vmware_uuid", "fleetpatch_vmware_moid"):
        if hostvars.get(key):
            return {"provider": "vmware", "reason": "VMware guest (%s)" % key}
    if hostvars.get("fleetpatch_snapshot_lvm_volumes"):
        return {"provider": "lvm", "reason": "fleetpatch_snapshot_lvm_volumes is set"}
    if str(hostvars.get("fleetpatch_platform") or "").lower() == "windows":
        return {"provider": "none", "reason": "no snapshot provider for a Windows host outside EC2/VMware"}
    return {"provider": "package_state", "reason": "no block-level snapshot available: record package versions"}


def check_policy(policy):
    if policy not in POLICIES:
        raise SnapshotError("snapshot policy %r is not one of %s (set snapshot_policy or the patch group's "
                            "snapshot policy)" % (policy, ", ".join(POLICIES)))
    return policy


def policy_outcome(policy, provider, ok, message=None, applies=True):
    """What a snapshot attempt means for the host.

    ``applies`` False: the chosen provider turned out not to apply to the host (LVM volumes asked
    for on a host without LVM), which best_effort forgives like provider none. Returns {status,
    proceed, message, warning}: ``status`` is the ledger status of the snapshot phase; ``proceed``
    False stops the host before it is patched.
    """
    check_policy(policy)
    if provider not in PROVIDERS:
        raise SnapshotError("snapshot provider %r is not one of %s" % (provider, ", ".join(PROVIDERS)))
    if policy == "none":
        return {"status": "skipped", "proceed": True, "message": "snapshot policy is none", "warning": None}
    if provider == "none":
        if policy == "required":
            return {"status": "failed", "proceed": False, "warning": None,
                    "message": "snapshot required by policy but the host's snapshot provider is none"}
        return {"status": "skipped", "proceed": True, "message": "no snapshot provider for this host",
                "warning": "best_effort: patching without a snapshot (provider none)"}
    if ok:
        return {"status": "ok", "proceed": True, "message": message, "warning": None}
    if not applies and policy == "best_effort":
        reason = message or "the %s provider does not apply to this host" % provider
        return {"status": "skipped", "proceed": True, "message": "best_effort: %s" % reason,
                "warning": "best_effort: patching without a snapshot (%s does not apply: %s)" % (provider, reason)}
    # best_effort covers a host no provider applies to, never a provider that failed: a snapshot
    # that could not be taken (no access to the host's account, a quota, a timeout) stops the host
    # under either policy, so protection is never downgraded in silence
    reason = message or "no snapshot could be made"
    return {"status": "failed", "proceed": False, "warning": None,
            "message": ("snapshot required by policy: %s" % reason) if policy == "required" else
            "best_effort: the %s snapshot failed, so the host is not patched (best_effort forgives a host no "
            "snapshot provider applies to, not a failed snapshot): %s" % (provider, reason)}


def restore_kind(provider):
    """'snapshot', 'package_downgrade' or None: what a rollback of this provider's protection does."""
    if provider not in PROVIDERS:
        raise SnapshotError("snapshot provider %r is not one of %s" % (provider, ", ".join(PROVIDERS)))
    return RESTORE[provider]


# --- tags, expiry and retention ------------------------------------------------------------

def parse_time(value):
    """An aware datetime from an ISO 8601 string or datetime; None when it cannot be read."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def expires_at(now, retention_days):
    if not isinstance(retention_days, int) or isinstance(retention_days, bool) or retention_days < 0:
        raise SnapshotError("retention_days must be a whole number of days >= 0, got %r" % (retention_days,))
    return (parse_time(now) + timedelta(days=retention_days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def snapshot_tags(run_id, now, retention_days, instance_id=None, cr_number=None, patch_group=None, extra=None):
    """The tags that mark a snapshot as ours: run id, CR, patch group, expiry, instance."""
    if not run_id or not isinstance(run_id, str):
        raise SnapshotError("run_id is required (a non-empty string), got %r" % (run_id,))
    tags = dict(extra or {})
    for key in list(tags):
        if key.startswith("fleetpatch:"):
            raise SnapshotError("tags: %r is reserved for fleetpatch.hybrid; choose another key" % key)
    tags.update({TAG_MANAGED_BY: MANAGED_BY, TAG_RUN_ID: run_id, TAG_EXPIRES: expires_at(now, retention_days)})
    if instance_id:
        tags[TAG_INSTANCE] = instance_id
    if cr_number:
        tags[TAG_CR] = str(cr_number)
    if patch_group:
        tags[TAG_PATCH_GROUP] = str(patch_group)
    return tags


def tag_dict(tags):
    """{key: value} from an AWS tag list [{Key, Value}] or a dict."""
    if isinstance(tags, dict):
        return dict(tags)
    return dict((t["Key"], t.get("Value", "")) for t in tags or [])


def is_ours(tags, run_id=None):
    tags = tag_dict(tags)
    if tags.get(TAG_MANAGED_BY) != MANAGED_BY or not tags.get(TAG_RUN_ID):
        return False
    return run_id is None or tags[TAG_RUN_ID] == run_id


def select_for_deletion(snapshots, run_id, now, mode="expired", instance_id=None):
    """Which snapshots a cleanup deletes: {delete: [ids], keep: [{id, reason}]}.

    ``snapshots`` are dicts with ``id`` and ``tags``. Only snapshots marked as ours and of
    ``run_id`` (and of ``instance_id`` when given) are candidates; mode ``all`` deletes them
    (the run went well), mode ``expired`` only those whose expiry has passed.
    """
    if not run_id or not isinstance(run_id, str):
        raise SnapshotError("run_id is required to clean up snapshots: a cleanup never deletes across runs")
    if mode not in CLEANUP_MODES:
        raise SnapshotError("cleanup mode %r is not one of %s" % (mode, ", ".join(CLEANUP_MODES)))
    now = parse_time(now)
    delete, keep = [], []
    for snap in snapshots:
        tags = tag_dict(snap.get("tags"))
        if not is_ours(tags):
            keep.append({"id": snap["id"], "reason": "not created by fleetpatch.hybrid"})
        elif tags[TAG_RUN_ID] != run_id:
            keep.append({"id": snap["id"], "reason": "belongs to run %s" % tags[TAG_RUN_ID]})
        elif instance_id and tags.get(TAG_INSTANCE) != instance_id:
            keep.append({"id": snap["id"], "reason": "of another instance (%s)" % tags.get(TAG_INSTANCE)})
        elif mode == "all":
            delete.append(snap["id"])
        else:
            expiry = parse_time(tags.get(TAG_EXPIRES))
            if expiry is None:
                keep.append({"id": snap["id"], "reason": "no readable %s tag" % TAG_EXPIRES})
            elif expiry <= now:
                delete.append(snap["id"])
            else:
                keep.append({"id": snap["id"], "reason": "expires at %s" % tags[TAG_EXPIRES]})
    return {"delete": delete, "keep": keep}


# --- LVM and VMware providers ---------------------------------------------------------------

def lvm_snapshot_name(lv, run_id):
    """A valid LV name for the snapshot of ``lv`` in ``run_id`` (LVM allows [A-Za-z0-9+_.-], 127 chars)."""
    slug = re.sub(r"[^A-Za-z0-9+_.-]", "_", run_id)
    return ("%s_fp_%s" % (lv, slug))[:127]


def lvm_plan(requested, host_lvs, run_id, default_size="10%ORIGIN"):
    """The LVM snapshots to take: {create: [{vg, lv, snapshot, size}], missing: [vg/lv]}.

    ``requested``: ``vg/lv`` strings or dicts {vg, lv, size}; ``host_lvs``: the host's LVs as
    ``vg/lv`` strings (``lvs --noheadings --separator / -o vg_name,lv_name``) or Ansible's
    ``ansible_lvm.lvs`` ({lv: {vg, size_g}}), or anything falsy when the host has no LVM, in
    which case every request is missing.
    """
    plan = {"create": [], "missing": []}
    if isinstance(host_lvs, dict):
        present = set("%s/%s" % (v.get("vg"), k) for k, v in host_lvs.items() if isinstance(v, dict))
    elif isinstance(host_lvs, (list, tuple)):
        present = set(str(x).strip() for x in host_lvs)
    else:
        present = set()
    for index, item in enumerate(requested or []):
        if isinstance(item, str):
            vg, sep, lv = item.partition("/")
            size = default_size
            if not sep:
                raise SnapshotError("fleetpatch_snapshot_lvm_volumes[%d] %r must be VG/LV (e.g. vg0/root)" % (index, item))
        elif isinstance(item, dict):
            vg, lv, size = item.get("vg"), item.get("lv"), item.get("size") or default_size
        else:
            raise SnapshotError("fleetpatch_snapshot_lvm_volumes[%d] must be VG/LV or {vg, lv, size}, got %r" % (index, item))
        if not vg or not lv or not _LV_NAME.match(vg) or not _LV_NAME.match(lv):
            raise SnapshotError("fleetpatch_snapshot_lvm_volumes[%d]: vg and lv must be LVM names, got %r" % (index, item))
        if "%s/%s" % (vg, lv) not in present:
            plan["missing"].append("%s/%s" % (vg, lv))
            continue
        plan["create"].append({"vg": vg, "lv": lv, "snapshot": lvm_snapshot_name(lv, run_id), "size": str(size)})
    return plan


VMWARE_CONNECTION_KEYS = ("hostname", "username", "password", "port", "validate_certs")


def vmware_snapshot_name(run_id):
    return "fleetpatch-%s" % run_id


def vmware_snapshot_params(vm, connection, run_id, state="present", now=None, retention_days=7, cr_number=None,
                           quiesce=True, memory_dump=False):
    """The arguments for community.vmware.vmware_guest_snapshot (there is no vCenter here to run it).

    ``vm``: {datacenter, and name + folder, or uuid, or moid}; ``connection``: {hostname,
    username, password, port, validate_certs}. State present takes the snapshot, revert restores
    it, absent removes it (never its children: a snapshot someone took after ours is kept).
    """
    if state not in ("present", "absent", "revert"):
        raise SnapshotError("vmware snapshot state %r is not one of present, absent, revert" % (state,))
    vm = vm or {}
    connection = connection or {}
    if not vm.get("datacenter"):
        raise SnapshotError("fleetpatch_vmware_datacenter is required for a VMware snapshot")
    if not (vm.get("name") or vm.get("uuid") or vm.get("moid")):
        raise SnapshotError("one of fleetpatch_vmware_name (with fleetpatch_vmware_folder), fleetpatch_vmware_uuid or "
                            "fleetpatch_vmware_moid is required for a VMware snapshot")
    if vm.get("name") and not vm.get("folder") and not (vm.get("uuid") or vm.get("moid")):
        raise SnapshotError("fleetpatch_vmware_folder is required with fleetpatch_vmware_name (e.g. /dc1/vm/web)")
    for key in ("hostname", "username", "password"):
        if not connection.get(key):
            raise SnapshotError("snapshot_vmware_%s is required for a VMware snapshot" % key)
    params = {
        "hostname": connection["hostname"],
        "username": connection["username"],
        "password": connection["password"],
        "validate_certs": bool(connection.get("validate_certs", True)),
        "datacenter": vm["datacenter"],
        "snapshot_name": vmware_snapshot_name(run_id),
        "state": state,
    }
    if connection.get("port"):
        params["port"] = int(connection["port"])
    if vm.get("uuid"):
        params["uuid"] = vm["uuid"]
    elif vm.get("moid"):
        params["moid"] = vm["moid"]
    else:
        params["name"] = vm["name"]
        params["folder"] = vm["folder"]
    if state == "present":
        expiry = expires_at(now or datetime.now(timezone.utc), retention_days)
        params["description"] = "%s run %s%s expires %s" % (
            MANAGED_BY, run_id, " CR %s" % cr_number if cr_number else "", expiry)
        # memory_dump and quiesce exclude each other in vSphere; a memory snapshot wins when asked for
        params["quiesce"] = bool(quiesce) and not memory_dump
        params["memory_dump"] = bool(memory_dump)
    elif state == "absent":
        params["remove_children"] = False
    return params


# --- everything the snapshot role needs for one host ----------------------------------------

def host_plan(hostvars, policy, run_id, lvm_lvs=None, lvm_default_size="10%ORIGIN", vmware_connection=None,
              vmware_state="present", cr_number=None, retention_days=7, now=None):
    """The provider of a host and, when its inputs are given, the provider's own plan.

    Returns {provider, reason, restore, lvm, vmware}: ``lvm`` is lvm_plan() when the provider is
    lvm and ``lvm_lvs`` (the host's LVs) is given; ``vmware`` is vmware_snapshot_params() when the
    provider is vmware and ``vmware_connection`` is given, with the VM from the host vars
    ``fleetpatch_vmware_datacenter``/``_name``/``_folder``/``_uuid``/``_moid``.
    """
    hostvars = hostvars or {}
    choice = choose_provider(hostvars, policy)
    plan = {"provider": choice["provider"], "reason": choice["reason"], "restore": restore_kind(choice["provider"]),
            "lvm": None, "vmware": None}
    if choice["provider"] == "lvm" and lvm_lvs is not None:
        plan["lvm"] = lvm_plan(hostvars.get("fleetpatch_snapshot_lvm_volumes"), lvm_lvs, run_id, lvm_default_size)
    if choice["provider"] == "vmware" and vmware_connection is not None:
        vm = dict((key, hostvars.get("fleetpatch_vmware_" + key)) for key in ("datacenter", "name", "folder", "uuid", "moid"))
        plan["vmware"] = vmware_snapshot_params(vm, vmware_connection, run_id, state=vmware_state, now=now,
                                                retention_days=retention_days, cr_number=cr_number)
    return plan
