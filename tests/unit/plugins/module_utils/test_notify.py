import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import notify

NOW = "2026-11-28T02:30:00Z"


def group(name="web", start="2026-11-29T02:00:00Z", **kw):
    out = {"name": name, "owners": ["web@example.com", "Web team"], "hosts": ["web-2", "web-1"],
           "window": {"start": start}, "patches": ["openssl=3.0.16"],
           "cves": ["CVE-2024-12797"]}
    out.update(kw)
    return out


@pytest.mark.parametrize("start,hours,interval,due", [
    ("2026-11-29T02:30:00Z", 24, 60, True),     # exactly 24 h ahead
    ("2026-11-29T01:31:00Z", 24, 60, True),     # 23 h 01 min: the first run inside 24 h
    ("2026-11-29T01:30:00Z", 24, 60, False),    # 23 h: the previous run already sent it
    ("2026-11-29T02:31:00Z", 24, 60, False),    # 24 h 01 min: next run
    ("2026-11-28T04:30:00Z", 2, 15, True),
    ("2026-11-28T04:14:00Z", 2, 15, False),
    ("2026-11-28T02:00:00Z", 24, 60, False),    # already started
    ("2026-11-29T03:30:00+01:00", 24, 60, True),  # offsets are honoured
])
def test_notice_due_once_per_window(start, hours, interval, due):
    assert notify.notice_due(start, NOW, hours, interval) is due


def test_a_schedule_sends_each_notice_exactly_once():
    start = "2026-11-29T02:17:00Z"
    runs = ["2026-11-27T%02d:00:00Z" % h for h in range(24)] + ["2026-11-28T%02d:00:00Z" % h for h in range(24)]
    assert sum(notify.notice_due(start, run, 24, 60) for run in runs) == 1


def test_impending_picks_due_groups_and_says_why_others_wait():
    plan = notify.plan("impending", [group("web"), group("db", start="2026-11-30T02:00:00Z"), group("old", start="2026-11-27T02:00:00Z"),
                                     {"name": "nowin", "hosts": ["x"]}],
                       now=NOW, change_requests={"web": {"number": "CHG0001001", "state": "scheduled"}})
    assert [g["name"] for g in plan["due"]] == ["web"]
    web = plan["due"][0]
    assert web["hours_until"] == 23.5 and web["cr_number"] == "CHG0001001"
    assert web["hosts"] == ["web-1", "web-2"] and web["email_to"] == ["web@example.com"]
    assert dict((s["name"], s["reason"]) for s in plan["skipped"]) == {
        "db": "the window starts in 47.5 h, the notice goes 24 h before",
        "old": "the window started 24.5 h ago",
        "nowin": "no window.start",
    }


def test_a_group_may_ask_for_its_own_lead_time():
    plan = notify.plan("impending", [group("db", start="2026-11-30T02:00:00Z", hours_before=48)], now=NOW)
    assert [g["name"] for g in plan["due"]] == ["db"]


def test_force_sends_every_group_with_a_window():
    plan = notify.plan("impending", [group("web"), group("db", start="2026-12-30T02:00:00Z")], now=NOW, force=True)
    assert [g["name"] for g in plan["due"]] == ["web", "db"]


REPORT = {
    "run_id": "run-1",
    "hosts": [
        {"name": "web-1", "patch_group": "web", "status": "patched", "owner": "alice@example.com",
         "cves_closed": ["CVE-2024-12797"], "cves_still_open": [], "patched": [{"name": "openssl"}]},
        {"name": "web-2", "patch_group": "web", "status": "failed", "reason": "patch: dpkg lock", "owner": "alice@example.com",
         "cves_closed": [], "cves_still_open": ["CVE-2024-12797"], "patched": []},
        {"name": "db-1", "patch_group": "db", "status": "compliant", "owner": "dba@example.com"},
    ],
}


def test_result_notices_per_group_with_close_code():
    plan = notify.plan("result", report=REPORT, groups=[group("web", email_to=["oncall@example.com"])],
                       records=[{"patch_group": "db", "number": "CHG0001002"}], change_requests={"web": "CHG0001001"})
    by_name = dict((g["name"], g) for g in plan["due"])
    web, db = by_name["web"], by_name["db"]
    assert web["close_code"] == "successful_issues" and web["counts"] == {"failed": 1, "patched": 1}
    assert web["outcomes"][1] == {"name": "web-2", "status": "failed", "reason": "patch: dpkg lock", "patched": 0}
    # closed on web-1 but still open on web-2: the group has not closed it (module_utils/accounting.py)
    assert web["cves_closed"] == [] and web["cves_still_open"] == ["CVE-2024-12797"]
    assert web["figures"]["host_cves_closed"] == 1 and web["figures"]["host_packages_patched"] == 1
    assert web["cr_number"] == "CHG0001001" and web["email_to"] == ["oncall@example.com"]
    assert "alice@example.com" in web["owners"]
    assert db["close_code"] == "successful" and db["cr_number"] == "CHG0001002" and db["email_to"] == ["dba@example.com"]


@pytest.mark.parametrize("call,message", [
    (lambda: notify.plan("soon", []), "kind 'soon' is not one of impending, result"),
    (lambda: notify.plan("result", report={"hosts": "x"}), "the report must be report.json's content"),
    (lambda: notify.plan("impending", [{"hosts": ["a"]}]), "notify group 0 needs a name"),
    (lambda: notify.plan("impending", [group(window={"start": "Sunday"})]), "patch group web: window.start 'Sunday'"),
    (lambda: notify.notice_due("2026-11-29T02:00:00Z", NOW, 24, 0), "interval_minutes > 0"),
    (lambda: notify.payload("a\nb", "pager"), "channel 'pager' is not one of sns, email, slack, teams"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(notify.NotifyError, match=message):
        call()


def test_payloads_per_channel():
    text = "[patch night] web: 2 host(s)\nPatch group web.\n\nHosts (2):\n  - web-1"
    assert notify.payload(text, "email") == {"subject": "[patch night] web: 2 host(s)", "body": "Patch group web.\n\nHosts (2):\n  - web-1"}
    slack = notify.payload(text, "slack")
    assert slack["text"] == "[patch night] web: 2 host(s)" and slack["blocks"][1]["text"]["text"].startswith("```Patch group web.")
    teams = notify.payload(text, "teams", {"name": "web", "cr_number": "CHG1", "hosts": ["a", "b"], "close_code": "successful"})
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][1]["facts"] == [{"title": "Patch group", "value": "web"}, {"title": "Change", "value": "CHG1"},
                                        {"title": "Hosts", "value": "2"}, {"title": "Outcome", "value": "successful"}]
    assert notify.payload(text, "sns") == {"subject": "[patch night] web: 2 host(s)",
                                           "message": "Patch group web.\n\nHosts (2):\n  - web-1"}


@pytest.mark.parametrize("subject,expected", [
    ("short", "short"),
    ("x" * 100, "x" * 100),
    ("x" * 101, "x" * 97 + "..."),
    ("café\tnight", "caf??night"),
])
def test_sns_subject_limits(subject, expected):
    assert notify.sns_subject(subject) == expected


def test_slack_text_is_cut_to_the_block_limit():
    payload = notify.slack_payload("s", "y" * 5000)
    assert len(payload["blocks"][1]["text"]["text"]) <= notify.SLACK_TEXT_MAX + 6
    assert payload["blocks"][1]["text"]["text"].endswith("(truncated)```")
