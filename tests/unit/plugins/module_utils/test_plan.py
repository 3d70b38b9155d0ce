"""The dry-run plan (module_utils/plan.py): what the night would do, per host, and when it is complete."""

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import plan as planlib


def decision(name, approved, reason, cves=(), advisories=(), reboot_hint=False):
    return {"name": name, "installed_version": "1", "candidate_version": "2", "classification": "security",
            "severity": "important", "cves": list(cves), "advisories": list(advisories), "approved": approved,
            "approval_reason": reason, "reboot_hint": reboot_hint}


READY = {"name": "web-1", "patch_group": "web", "ready": True, "window": None,
         "decisions": [decision("openssl", True, "rule 0: security/important", ["CVE-2026-1"], ["DSA-1"]),
                       decision("fp-depapp", False, "rule 0: security/important, but fp-depapp needs fp-deplib, which is "
                                "rejected by rejected_patches entry 'fp-deplib' (block)", ["CVE-2026-2"])],
         "reboot_policy": "if_needed", "snapshot_policy": "best_effort", "hostvars": {}}


def test_host_plan_lists_from_to_ids_and_reasons():
    entry = planlib.host_plan(READY)
    assert entry["status"] == "would_patch"
    (install,) = entry["install"]
    assert (install["name"], install["from"], install["to"]) == ("openssl", "1", "2")
    assert install["cves"] == ["CVE-2026-1"] and install["advisories"] == ["DSA-1"]
    assert install["reason"] == "rule 0: security/important"
    (held,) = entry["not_installed"]
    assert "fp-depapp needs fp-deplib" in held["reason"]
    assert entry["cves_closed"] == ["CVE-2026-1"] and entry["cves_remaining"] == ["CVE-2026-2"]
    assert entry["snapshot"] == {"policy": "best_effort", "provider": "package_state",
                                 "reason": "no block-level snapshot available: record package versions"}
    assert entry["reboot"]["would_reboot"] == "if_requested"


def test_reboot_and_snapshot_follow_the_policies():
    kernel = dict(READY, decisions=[decision("linux-image-amd64", True, "rule 0", reboot_hint=True)])
    assert planlib.host_plan(kernel)["reboot"]["would_reboot"] is True
    assert planlib.host_plan(dict(kernel, reboot_policy="never"))["reboot"]["would_reboot"] is False
    assert planlib.host_plan(dict(READY, reboot_policy="always"))["reboot"]["would_reboot"] is True
    ec2 = planlib.host_plan(dict(READY, hostvars={"fleetpatch_source": "ec2", "fleetpatch_instance_id": "i-0abc"}))
    assert ec2["snapshot"]["provider"] == "ec2"
    assert planlib.host_plan(dict(READY, snapshot_policy="none"))["snapshot"]["provider"] == "none"
    nothing = planlib.host_plan(dict(READY, decisions=[]))
    assert nothing["status"] == "nothing_to_install" and nothing["snapshot"] is None
    assert nothing["reboot"]["would_reboot"] is False


def test_plan_is_complete_only_when_every_host_was_scanned():
    plan = planlib.build_plan([READY], "run-1", window={"window_end": "2026-11-28T02:00:00Z"})
    assert plan["complete"] and plan["check_run"] and plan["not_ready"] == []
    assert plan["totals"] == {"hosts": 1, "would_patch": 1, "patches": 1, "held_back": 1, "cves_closed": 1}
    lost = {"name": "db-1", "ready": False, "failure": "preflight: dpkg lock held by apt-get (pid 42)"}
    plan = planlib.build_plan([READY, lost], "run-1")
    assert not plan["complete"] and plan["not_ready"] == ["db-1"]
    assert not planlib.build_plan([], "run-1")["complete"]   # nothing targeted is no plan


def test_rendered_plan_says_what_would_happen():
    text = "\n".join(planlib.render_plan(planlib.build_plan([READY], "run-1", window={"window_end": "x"})))
    assert "DRY RUN run-1: nothing was changed on any host and no change request was opened" in text
    assert "install openssl 1 -> 2 [DSA-1, CVE-2026-1]" in text
    assert "hold    fp-depapp 1 -> 2 [CVE-2026-2]" in text and "because rule 0: security/important, but fp-depapp" in text
    assert "snapshot: package_state (policy best_effort" in text and "reboot: if_requested (policy if_needed" in text
    assert "window: window_end x" in text
    lost = planlib.render_plan(planlib.build_plan([{"name": "db-1", "ready": False, "failure": "unreachable"}], "r"))
    assert "  not ready: unreachable" in lost and lost[-1] == "INCOMPLETE: no plan for db-1"


def test_each_host_shows_the_window_that_applies_to_it():
    applied = {"source": "tag", "status": "open", "expression": "Sat 01:00-05:00", "timezone": "UTC",
               "start": "2026-11-28T01:00:00+00:00", "end": "2026-11-28T05:00:00+00:00", "cutoff_at": None}
    late = {"name": "web-2", "patch_group": "web", "ready": False, "failure": "deferred: outside its window",
            "window": {"source": "tag", "status": "deferred", "next_start": "2026-12-05T01:00:00+00:00",
                       "reason": "deferred: outside its window"}}
    plan = planlib.build_plan([dict(READY, window=applied), late], "run-1")
    assert plan["hosts"][0]["window"] == applied
    text = "\n".join(planlib.render_plan(plan))
    assert ("  window: status open, source tag, expression Sat 01:00-05:00, timezone UTC, "
            "start 2026-11-28T01:00:00+00:00, end 2026-11-28T05:00:00+00:00") in text
    assert "  window: status deferred, source tag, next_start 2026-12-05T01:00:00+00:00" in text
