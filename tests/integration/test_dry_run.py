"""A real dry run (issue 14, deliverable 3): `--check` and `-e fleetpatch_dry_run=true` on the demo fleet.

Nothing changes on any host (package versions, and the host's own apt lists: the check-mode scan
reads fresh lists from a private directory), no change request is created, the run exits 0 with a
complete plan, the ledger marks the run as a check run, and report.json and plan.json carry the
plan. Then the real night installs exactly the patches the plan listed.
"""

import json
import os

import pytest
from fleetlib import DEBIAN_TARGETS, HOSTS, host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

LISTS = "find /var/lib/apt/lists -type f -printf '%p %s %T@\\n' | sort"


def fleet_state():
    return dict((name, (installed(host), host_exec(host, LISTS)[1])) for name, host in HOSTS.items())


def planned(plan):
    return dict((host["name"], dict((p["name"], p["to"]) for p in host.get("install", []))) for host in plan["hosts"])


@pytest.mark.parametrize("how", [["--check"], ["-e", "fleetpatch_dry_run=true"]], ids=["check", "dry-run-var"])
def test_dry_run_changes_nothing_and_plans_the_night(fleet, tmp_path, how):
    for host in HOSTS.values():
        localfleet("reset", host)
        # a freshly booted host refreshes its lists once (holding the lists lock): let it finish first
        rc, out = host_exec(host, "apt-get update -qq -o DPkg::Lock::Timeout=120")
        assert rc == 0, out
    before = fleet_state()

    dry = run_playbook(str(tmp_path / "dry"), "-e", DEBIAN_TARGETS, *how)

    assert dry.rc == 0, dry.stdout[-4000:]
    assert fleet_state() == before, "a dry run changed a host"
    assert dry.rows("SELECT check_mode, status FROM runs WHERE run_id=?", dry.run_id) == [(1, "checked")]
    # no change request: the local backend never even created its table in this ledger
    assert dry.rows("SELECT name FROM sqlite_master WHERE name='change_requests'") == []
    report = dry.report
    assert report["check_run"] is True and report["change_requests"] == []
    plan = report["plan"]
    assert plan["complete"] and sorted(plan_host["name"] for plan_host in plan["hosts"]) == sorted(HOSTS)
    assert plan == dry.report_at("plan.json")
    assert oct(os.stat(os.path.join(dry.outdir, "plan.json")).st_mode & 0o777) == "0o600"
    db = next(h for h in plan["hosts"] if h["name"] == "db-prod-1")
    kernel = next(p for p in db["not_installed"] if p["name"] == "fp-kernel")
    assert "rejected by rejected_patches entry 'fp-kernel'" in kernel["reason"]
    web = next(h for h in plan["hosts"] if h["name"] == "web-dev-1")
    openssl = next(p for p in web["install"] if p["name"] == "fp-openssl")
    assert (openssl["from"], openssl["to"]) == ("3.0.15-1~deb12u1", "3.0.15-1~deb12u2")
    assert openssl["cves"] == ["CVE-2026-10001", "CVE-2026-10002"] and openssl["advisories"] == ["DSA-6101-1"]
    assert openssl["reason"].startswith("rule ")
    assert web["snapshot"]["provider"] and web["reboot"]["policy"] == "if_needed"
    # the window the night judged for the host: its MaintenanceWindow tag (tools/demo_fleet.json), open
    assert (web["window"]["source"], web["window"]["status"], web["window"]["expression"]) == (
        "tag", "open", "cron(0 0 * * ? *)"), web["window"]
    # (the callback wraps long lines)
    assert "window: status open, source tag, expression cron(0 0 * * ? *), timezone UTC, start " in " ".join(dry.stdout.split())
    assert "DRY RUN %s: nothing was changed on any host" % dry.run_id in dry.stdout
    assert "install fp-openssl 3.0.15-1~deb12u1 -> 3.0.15-1~deb12u2" in dry.stdout

    if how != ["--check"]:
        return
    night = run_playbook(str(tmp_path / "night"), "-e", DEBIAN_TARGETS)
    assert night.rc == 0, night.stdout[-4000:]
    done = dict((h["name"], dict((c["name"], c["to"]) for c in h["patched"])) for h in night.report["hosts"])
    assert done == planned(plan), json.dumps({"planned": planned(plan), "installed": done}, indent=1)
    for name, host in HOSTS.items():
        assert dict((k, installed(host)[k]) for k in planned(plan)[name]) == planned(plan)[name]
