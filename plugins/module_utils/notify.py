# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch notices to asset owners: which groups are due, what each notice says, the chat payloads.

Pure Python, no Ansible import. The wording lives in the notify role's templates (users override
them); here is the logic: whether an impending notice is due (so a schedule running every
`interval` minutes sends it once, N hours before the window), the per-group facts a result notice
reports (outcomes, close code, CVEs closed), and the Slack / Teams / SNS shapes and limits.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting, cr_model
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.cr_errors import CRValidationError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.redact import excerpt, redact

KINDS = ("impending", "result")
CHANNELS = ("sns", "email", "slack", "teams")
WEBHOOK_CHANNELS = ("slack", "teams")
SNS_SUBJECT_MAX = 100
SLACK_TEXT_MAX = 3000


class NotifyError(CRValidationError):
    """Bad notify input: names the group and the field."""


def _now(now):
    if now in (None, ""):
        return datetime.now(timezone.utc)
    return cr_model.parse_time("now", now)


def normalize_group(group, index=0):
    """A patch group for a notice: name, owners, hosts, window, patches (name=version), cves, CR number, channels."""
    if not isinstance(group, dict) or not group.get("name"):
        raise NotifyError("notify group %d needs a name (the patch group), got %s" % (index, excerpt(redact(group))),
                          field="groups")
    name = group["name"]
    try:
        window = cr_model.normalize_window(group.get("window") or {})
        patches = cr_model.normalize_patches(group.get("patches"))
        cves = cr_model.normalize_cves(group.get("cves"), patches)
    except CRValidationError as exc:
        raise NotifyError("patch group %s: %s" % (name, exc.message), field="groups")
    owners = sorted(set(o for o in (group.get("owners") or []) if o))
    out = {
        "name": name,
        "owners": owners,
        "email_to": sorted(set(group.get("email_to") or [o for o in owners if "@" in o])),
        "hosts": sorted(set(group.get("hosts") or [])),
        "window": window,
        "patches": ["%s=%s" % (p["name"], p["version"]) if p.get("version") else p["name"] for p in patches],
        "cves": cves,
        "cr_number": group.get("cr_number"),
        "cr_url": group.get("cr_url"),
    }
    for key in ("sns_topic", "hours_before"):
        if group.get(key) is not None:
            out[key] = group[key]
    # A webhook URL is a secret: the plan (a fact, printed at -v) only says the group has one;
    # the sending task asks webhook_url() for it under no_log.
    for channel in WEBHOOK_CHANNELS:
        if group.get("%s_webhook_url" % channel):
            out["%s_webhook" % channel] = True
    return out


def webhook_url(groups, name, channel, default=""):
    """The group's own webhook URL for channel (slack, teams), else the default."""
    if channel not in WEBHOOK_CHANNELS:
        raise NotifyError("channel %r has no webhook (one of %s)" % (channel, ", ".join(WEBHOOK_CHANNELS)), field="channel")
    for group in groups or []:
        if isinstance(group, dict) and group.get("name") == name and group.get("%s_webhook_url" % channel):
            return group["%s_webhook_url" % channel]
    return default or ""


def notice_due(window_start, now, hours_before, interval_minutes):
    """True when the window starts in (hours_before - interval, hours_before] from now.

    A scheduler that runs the notify playbook every `interval_minutes` therefore sends each impending
    notice exactly once, at the first run within N hours of the window.
    """
    if hours_before < 0 or interval_minutes <= 0:
        raise NotifyError("hours_before must be >= 0 and interval_minutes > 0, got %r and %r" % (hours_before, interval_minutes),
                          field="hours_before")
    minutes = (cr_model.parse_time("window.start", window_start) - _now(now)).total_seconds() / 60.0
    return hours_before * 60 - interval_minutes < minutes <= hours_before * 60


def impending(groups, now=None, hours_before=24, interval_minutes=60, force=False):
    """The groups whose impending notice is due now, each with hours_until; and those skipped, with why."""
    due, skipped = [], []
    for index, raw in enumerate(groups or []):
        group = normalize_group(raw, index)
        start = group["window"].get("start")
        if not start:
            skipped.append({"name": group["name"], "reason": "no window.start"})
            continue
        group["hours_until"] = round((cr_model.parse_time("window.start", start) - _now(now)).total_seconds() / 3600.0, 1)
        if force or notice_due(start, now, float(group.get("hours_before", hours_before)), float(interval_minutes)):
            due.append(group)
        elif group["hours_until"] < 0:
            skipped.append({"name": group["name"], "reason": "the window started %.1f h ago" % -group["hours_until"]})
        else:
            skipped.append({"name": group["name"], "reason": "the window starts in %.1f h, the notice goes %g h before" % (
                group["hours_until"], float(group.get("hours_before", hours_before)))})
    return {"due": due, "skipped": skipped}


def results(report, groups=None, change_requests=None):
    """One result notice per patch group of a report.json: hosts with outcomes, counts, close code, CVEs closed.

    groups: the patch groups (owners, channels) by the same shape as for impending notices;
    change_requests: {patch_group: number} or the change_request role's change_request_opened.
    """
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
        raise NotifyError("the report must be report.json's content (a dict with hosts), got %r" % (type(report).__name__,),
                          field="report")
    known = dict((g["name"], g) for g in (normalize_group(raw, i) for i, raw in enumerate(groups or [])))
    explicit_email = dict((g.get("name"), bool(g.get("email_to"))) for g in groups or [] if isinstance(g, dict))
    numbers = {}
    for name, value in (change_requests or {}).items():
        numbers[name] = value.get("number") if isinstance(value, dict) else value
    by_group = {}
    for host in report["hosts"]:
        name = host.get("patch_group") or "ungrouped"
        entry = by_group.setdefault(name, {"hosts": [], "owners": set()})
        entry["hosts"].append({"name": host["name"], "status": host.get("status") or "incomplete",
                               "reason": host.get("rollback_reason") or host.get("reason"),
                               "patched": len(host.get("patched") or [])})
        if host.get("owner"):
            entry["owners"].add(host["owner"])
    # the figures are the report's (module_utils/accounting.py), never counted again here
    figures = report.get("patch_groups") or accounting.by_key(report["hosts"], "patch_group")
    out = []
    for name in sorted(by_group):
        entry = by_group[name]
        group = dict(known.get(name) or normalize_group({"name": name}))
        outcomes = dict((h["name"], h["status"]) for h in entry["hosts"])
        counts = {}
        for status in outcomes.values():
            counts[status] = counts.get(status, 0) + 1
        group.update(
            hosts=sorted(outcomes),
            outcomes=sorted(entry["hosts"], key=lambda h: h["name"]),
            counts=dict(sorted(counts.items())),
            close_code=cr_model.derive_close_code(outcomes),
            figures=_figures(figures.get(name)),
            run_id=report.get("run_id"),
            cr_number=group.get("cr_number") or numbers.get(name),
        )
        group["cves_closed"] = group["figures"]["cves_closed"]
        group["cves_still_open"] = group["figures"]["cves_still_open"]
        group["owners"] = sorted(set(group["owners"]) | entry["owners"])
        if not explicit_email.get(name):
            group["email_to"] = sorted(o for o in group["owners"] if "@" in o)
        out.append(group)
    return out


def _figures(group):
    """A patch group's figures as report.json states them (module_utils/accounting.py)."""
    keys = ("cves_closed", "cves_closed_distinct", "host_cves_closed", "host_packages_patched", "cves_still_open",
            "cves_still_open_distinct", "hosts_compliant", "hosts_assessed", "compliance_pct")
    group = group or {}
    out = dict((k, group.get(k)) for k in keys)
    for key in ("cves_closed", "cves_still_open"):
        out[key] = out[key] or []
    for key in ("cves_closed_distinct", "host_cves_closed", "host_packages_patched", "cves_still_open_distinct"):
        out[key] = out[key] or 0
    return out


def numbers(change_requests=None, records=None):
    """{patch group: change number} from a {group: number or {number: ...}} dict and/or change records."""
    out = {}
    for record in records or []:
        if isinstance(record, dict) and record.get("patch_group") and record.get("number"):
            out[record["patch_group"]] = record["number"]
    for name, value in (change_requests or {}).items():
        number = value.get("number") if isinstance(value, dict) else value
        if number:
            out[name] = number
    return out


def split_message(rendered):
    """A rendered template: first line the subject, the rest the body."""
    text = (rendered or "").strip("\n")
    subject, dummy, body = text.partition("\n")
    return {"subject": subject.strip(), "body": body.strip("\n")}


def sns_subject(subject):
    """SNS subjects: at most 100 printable ASCII characters, no line break."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in (subject or "").replace("\n", " "))
    return clean if len(clean) <= SNS_SUBJECT_MAX else clean[:SNS_SUBJECT_MAX - 3] + "..."


def slack_payload(subject, body):
    """An incoming-webhook message: a fallback text and header + section blocks (section text <= 3000)."""
    text = body if len(body) <= SLACK_TEXT_MAX else body[:SLACK_TEXT_MAX - 20] + "\n... (truncated)"
    return {
        "text": subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "```%s```" % text if text else " "}},
        ],
    }


def teams_payload(subject, body, facts=None):
    """A Teams incoming-webhook / Workflows message carrying an Adaptive Card."""
    card_body = [{"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium", "wrap": True}]
    if facts:
        card_body.append({"type": "FactSet", "facts": [{"title": str(k), "value": str(v)} for k, v in facts]})
    card_body.append({"type": "TextBlock", "text": body, "wrap": True, "fontType": "Monospace"})
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": card_body},
        }],
    }


def group_facts(group):
    """The few facts a chat card shows above the text."""
    facts = [("Patch group", group["name"])]
    if group.get("cr_number"):
        facts.append(("Change", group["cr_number"]))
    if group.get("window", {}).get("start"):
        facts.append(("Window", "%s -> %s" % (group["window"]["start"], group["window"].get("end", "?"))))
    facts.append(("Hosts", str(len(group.get("hosts") or []))))
    if group.get("close_code"):
        facts.append(("Outcome", group["close_code"]))
    return facts


def plan(kind, groups=None, report=None, now=None, hours_before=24, interval_minutes=60, force=False,
         change_requests=None, records=None):
    """The notices to send now: {due: [group facts for the template], skipped: [{name, reason}]}.

    kind impending: from groups (their window.start against now); kind result: from report.json.
    change_requests/records give each group's change number when the group does not carry one.
    """
    known = numbers(change_requests, records)
    if kind == "impending":
        out = impending(groups, now=now, hours_before=hours_before, interval_minutes=interval_minutes, force=force)
        for group in out["due"]:
            group["cr_number"] = group.get("cr_number") or known.get(group["name"])
        return out
    if kind == "result":
        return {"due": results(report, groups=groups, change_requests=known), "skipped": []}
    raise NotifyError("kind %r is not one of %s" % (kind, ", ".join(KINDS)), field="kind")


def payload(rendered, channel, group=None):
    """What a channel sends for a rendered notice (first line subject, rest body)."""
    message = split_message(rendered)
    if channel == "email":
        return message
    if channel == "sns":
        return {"subject": sns_subject(message["subject"]), "message": message["body"]}
    if channel == "slack":
        return slack_payload(message["subject"], message["body"])
    if channel == "teams":
        return teams_payload(message["subject"], message["body"], group_facts(group or {"name": "?"}))
    raise NotifyError("channel %r is not one of %s" % (channel, ", ".join(CHANNELS)), field="channel")
