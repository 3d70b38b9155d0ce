"""The patch night end to end on 3 local hosts, against the local apt archive and moto.

Each test reads what really changed: package versions on the hosts (dpkg over ssh), the
ledger rows (SQLite) and report.json.
"""

import json
import os
import re

import pytest
from fleetlib import DEBIAN_TARGETS, HOSTS, TEST_PACKAGES, host_exec, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

BEFORE = dict((p["name"], p["installed"]["version"]) for p in TEST_PACKAGES["packages"])
PUBLISHED = dict((p["name"], [u for u in p["updates"] if u.get("publish", True)][-1]["version"])
                 for p in TEST_PACKAGES["packages"] if p["updates"])
IN_BASE = [p["name"] for p in TEST_PACKAGES["packages"] if p.get("in_base", True)]
BEFORE = dict((n, v) for n, v in BEFORE.items() if n in IN_BASE)
PUBLISHED = dict((n, v) for n, v in PUBLISHED.items() if n in IN_BASE)
# db-prod's baseline (inventories/demo/group_vars/patch_group_db_prod.yml) rejects the kernel
REJECTED = {"db-prod-1": ["fp-kernel"]}
EXPECTED = dict((host, dict((n, v) for n, v in PUBLISHED.items() if n not in REJECTED.get(host, []))) for host in HOSTS)


def cves_of(names):
    return sorted(set(c for p in TEST_PACKAGES["packages"] if p["name"] in names for u in p["updates"]
                      for c in re.findall(r"CVE-\d+-\d+", " ".join(u["changes"]))))


PHASES = ["approve", "patch", "preflight", "reboot", "rescan", "scan", "snapshot", "validate"]
REBOOTED = {"web-dev-1": True, "web-prod-1": True, "db-prod-1": False}


def boot_id(name):
    rc, out = host_exec(name, "cat /proc/sys/kernel/random/boot_id")
    assert rc == 0
    return out.strip()


@pytest.fixture(scope="module")
def nights(fleet, tmp_path_factory):
    """Two nights in a row on fresh hosts: the first patches, the second must change nothing."""
    for name in HOSTS.values():
        localfleet("reset", name)
        assert installed(name) == BEFORE, "hosts must start from the base image"
    boot_before = dict((host, boot_id(name)) for host, name in HOSTS.items())
    first = run_playbook(str(tmp_path_factory.mktemp("night1")), "-e", DEBIAN_TARGETS)
    after_first = dict((host, installed(name)) for host, name in HOSTS.items())
    first.boot_changed = dict((host, boot_id(name) != boot_before[host]) for host, name in HOSTS.items())
    second = run_playbook(str(tmp_path_factory.mktemp("night2")), "-e", DEBIAN_TARGETS)
    after_second = dict((host, installed(name)) for host, name in HOSTS.items())
    return first, after_first, second, after_second


def test_first_night_installs_exactly_the_approved_versions(nights):
    first, after_first, dummy, dummy = nights
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "CVE-2024-40001" in cves_of(PUBLISHED)  # closed by an update that was never published on its own
    for host in HOSTS:
        assert after_first[host] == dict(BEFORE, **EXPECTED[host]), host


def test_only_hosts_that_need_it_are_rebooted(nights):
    first = nights[0]
    assert first.boot_changed == REBOOTED
    rows = dict(first.rows("SELECT host, status FROM host_phases WHERE run_id=? AND phase='reboot'", first.run_id))
    assert rows == {"web-dev-1": "changed", "web-prod-1": "changed", "db-prod-1": "skipped"}
    (message,) = first.rows("SELECT message FROM host_phases WHERE run_id=? AND host='web-dev-1' AND phase='reboot'",
                            first.run_id)[0]
    assert "/var/run/reboot-required (fp-kernel)" in message
    for host in HOSTS:
        assert installed(HOSTS[host]) == nights[1][host]  # what was installed survived the reboot


def test_ledger_has_one_row_per_host_per_phase(nights):
    first = nights[0]
    rows = first.rows("SELECT host, phase, status FROM host_phases WHERE run_id=? ORDER BY host, phase", first.run_id)
    assert [(h, p) for h, p, dummy in rows] == [(h, p) for h in sorted(HOSTS) for p in PHASES]
    statuses = dict(((h, p), s) for h, p, s in rows)
    for host in HOSTS:
        assert statuses[(host, "patch")] == "changed"
        assert statuses[(host, "rescan")] == "ok"
    changes = first.rows("SELECT host, name, from_version, to_version FROM package_changes WHERE run_id=? ORDER BY host, name",
                         first.run_id)
    assert changes == [(h, n, BEFORE[n], EXPECTED[h][n]) for h in sorted(HOSTS) for n in sorted(EXPECTED[h])]
    assert first.rows("SELECT status FROM runs WHERE run_id=?", first.run_id) == [("finished",)]


def test_report_contract(nights):
    report = nights[0].report
    assert report["run_id"] == nights[0].run_id
    assert sorted(h["name"] for h in report["hosts"]) == sorted(HOSTS)
    for host in report["hosts"]:
        assert host["status"] == "patched"
        assert host["patch_group"] in ("web-dev", "web-prod", "db-prod")
        expected = EXPECTED[host["name"]]
        assert sorted(host["patched"], key=lambda p: p["name"]) == [
            {"name": n, "from": BEFORE[n], "to": expected[n]} for n in sorted(expected)]
        assert host["cves_closed"] == cves_of(expected)
        assert host["cves_still_open"] == cves_of(REJECTED.get(host["name"], []))
        assert host["rebooted"] is REBOOTED[host["name"]]


def test_scan_classifies_and_correlates(nights):
    first = nights[0]
    (data,) = first.rows("SELECT data FROM host_phases WHERE run_id=? AND host='web-dev-1' AND phase='scan'", first.run_id)[0]
    import json
    patches = dict((p["name"], p) for p in json.loads(data)["patches"])
    assert patches["fp-openssl"]["classification"] == "security"
    assert patches["fp-openssl"]["cves"] == ["CVE-2026-10001", "CVE-2026-10002"]
    assert patches["fp-openssl"]["advisories"] == ["DSA-6101-1"]
    assert patches["fp-openssl"]["release_date"] == "2026-11-02T09:00:00+00:00"
    assert patches["fp-tzdata"]["classification"] == "bugfix"
    assert patches["fp-tzdata"]["cves"] == []
    assert patches["fp-tools"]["cves"] == ["CVE-2026-30001"]  # native package: changelog.gz
    assert patches["fp-libdemo"]["cves"] == ["CVE-2024-40001", "CVE-2026-40002"]


def test_second_night_changes_nothing(nights):
    dummy, after_first, second, after_second = nights
    assert second.rc == 0, second.stdout[-3000:]
    assert after_second == after_first
    recap = second.recap()
    for host in HOSTS:
        assert recap[host]["changed"] == 0, recap
        assert recap[host]["failed"] == 0, recap
    statuses = dict((h["name"], h["status"]) for h in second.report["hosts"])
    assert statuses == dict((h, "compliant") for h in HOSTS)
    assert second.rows("SELECT COUNT(*) FROM host_phases WHERE run_id=? AND phase='reboot'", second.run_id) == [(0,)]
    patch_rows = second.rows("SELECT status FROM host_phases WHERE run_id=? AND phase='patch'", second.run_id)
    assert patch_rows == [("skipped",)] * 3


def test_one_change_request_per_patch_group_opened_noted_and_closed(nights):
    first, dummy, second, dummy = nights
    crs = first.rows("SELECT patch_group, state, close_code, hosts, number FROM change_requests WHERE run_id=? ORDER BY patch_group",
                     first.run_id)
    assert [(g, s, c) for g, s, c, dummy, dummy in crs] == [
        ("db-prod", "closed", "successful"), ("web-dev", "closed", "successful"), ("web-prod", "closed", "successful")]
    assert [json.loads(h) for dummy, dummy, dummy, h, dummy in crs] == [["db-prod-1"], ["web-dev-1"], ["web-prod-1"]]
    notes = first.rows("SELECT n.text FROM change_request_notes n JOIN change_requests c ON c.number = n.number "
                       "WHERE c.run_id=? AND c.patch_group='web-dev'", first.run_id)
    assert any("patched" in text for (text,) in notes)
    shown = dict((cr["patch_group"], (cr["state"], cr["close_code"])) for cr in first.report["change_requests"])
    assert shown == {"db-prod": ("closed", "successful"), "web-dev": ("closed", "successful"), "web-prod": ("closed", "successful")}
    # the patch records keep their CVEs and advisories; the description states the plan
    (description, patches, close_notes), = first.rows(
        "SELECT description, patches, close_notes FROM change_requests WHERE run_id=? AND patch_group='web-dev'", first.run_id)
    ssl = [p for p in json.loads(patches) if p["name"] == "fp-openssl"]
    assert ssl == [{"name": "fp-openssl", "version": PUBLISHED["fp-openssl"], "cves": ["CVE-2026-10001", "CVE-2026-10002"],
                    "advisories": ["DSA-6101-1"]}]
    assert "  - fp-openssl=%s (DSA-6101-1, CVE-2026-10001, CVE-2026-10002)" % PUBLISHED["fp-openssl"] in description
    assert "CVEs the approved patches fix, once installed" in description
    # the close notes state what happened, in the report's figures
    group = first.report["patch_groups"]["web-dev"]
    assert "(%d): %s" % (group["cves_closed_distinct"], ", ".join(group["cves_closed"])) in close_notes
    assert "Host-CVE pairs closed: %d. Host-package pairs patched: %d." % (
        group["host_cves_closed"], group["host_packages_patched"]) in close_notes
    assert "- web-dev-1: patched; %d package(s) patched; closed " % len(EXPECTED["web-dev-1"]) in close_notes
    # nothing left to patch the second night: no change request is raised
    assert second.rows("SELECT name FROM sqlite_master WHERE name='change_requests'") == []


def console_rows(stdout):
    """The last per-group table the night printed: {group: [hosts, patched, failed, deferred, skipped, closed, open, cr...]}."""
    lines = [line.strip().strip('",').lstrip("- ").strip('"') for line in stdout.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith("PATCH GROUP")]
    assert starts, stdout[-3000:]
    rows = {}
    for line in lines[starts[-1] + 2:]:
        if not line or line.startswith("(run)"):
            break
        rows[line.split()[0]] = line.split()[1:]
    return rows


def test_every_figure_agrees_with_the_ledger_and_the_hosts(nights):
    """The demo fleet with one host rejecting a CVE's patch (db-prod's baseline rejects fp-kernel):
    report.json, the console table, the change requests' close notes and the dashboard state the
    same figures, and the hosts' installed versions are the ledger's."""
    from dashboardlib import check_dashboard_equals_report, dashboard_figures
    first, after_first = nights[0], nights[1]
    report = first.report
    hosts = dict((h["name"], h) for h in report["hosts"])

    # the hosts hold exactly what the ledger says was installed, and nothing else changed
    changed = dict(((h, n), v) for h, n, v in first.rows("SELECT host, name, to_version FROM package_changes WHERE run_id=?",
                                                         first.run_id))
    for host in HOSTS:
        for name, version in after_first[host].items():
            assert version == changed.get((host, name), BEFORE.get(name)), (host, name)

    # the rejected patch's CVEs: closed on the web hosts, still open on db-prod-1, so not closed for the run
    kernel = cves_of(["fp-kernel"])
    assert kernel and hosts["db-prod-1"]["cves_still_open"] == kernel
    assert set(kernel) <= set(hosts["web-dev-1"]["cves_closed"])
    summary = report["summary"]
    closed_somewhere = set(c for h in report["hosts"] for c in h["cves_closed"])
    assert summary["cves_closed"] == sorted(closed_somewhere - set(kernel))
    assert summary["cves_closed_distinct"] == len(closed_somewhere) - len(kernel)
    assert summary["host_cves_closed"] == sum(len(h["cves_closed"]) for h in report["hosts"])
    assert summary["host_packages_patched"] == len(changed)
    assert report["patch_groups"]["db-prod"]["cves_still_open"] == kernel
    assert hosts["db-prod-1"]["compliance_after"]["status"] == "COMPLIANT"  # a rejected patch is not missing (as in SSM)
    # the window that applied, per host: the demo's MaintenanceWindow tags (open all day), recorded with
    # each host in the ledger (run_hosts.attrs.window_applied) with the occurrence it was patched in
    attrs = dict((h, json.loads(a)) for h, a in first.rows("SELECT host, attrs FROM run_hosts WHERE run_id=?", first.run_id))
    for name, host in hosts.items():
        applied = host["window_applied"]
        assert applied["name"] == attrs[name]["window"], name
        assert (applied["source"], applied["status"], applied["expression"]) == ("tag", "open", "cron(0 0 * * ? *)"), applied
        assert applied["start"] <= report["started_at"] < applied["end"], applied
        assert all(applied[k] == v for k, v in attrs[name]["window_applied"].items() if v is not None), name

    # the console's table per patch group
    rows = console_rows(first.stdout)
    for name, group in report["patch_groups"].items():
        cr = group["change_request"]
        assert rows[name][:7] == [str(group["hosts"])] + [str(group["columns"][c]) for c in
                                                          ("patched", "failed", "deferred", "skipped")] + [
            str(group["cves_closed_distinct"]), str(group["cves_still_open_distinct"])], name
        assert rows[name][7:] == [cr["number"], cr["close_code"]], name

    # the change requests' close notes
    for name, notes in first.rows("SELECT patch_group, close_notes FROM change_requests WHERE run_id=?", first.run_id):
        group = report["patch_groups"][name]
        assert "(%d): %s" % (group["cves_closed_distinct"], ", ".join(group["cves_closed"]) or "-") in notes
        assert "still open on a host of the group (%d): %s" % (
            group["cves_still_open_distinct"], ", ".join(group["cves_still_open"]) or "-") in notes
        assert "Host-CVE pairs closed: %d. Host-package pairs patched: %d." % (
            group["host_cves_closed"], group["host_packages_patched"]) in notes

    # the run's figures the report kept in the ledger, which later dashboards' trends read
    kept = json.loads(first.rows("SELECT figures FROM run_figures WHERE run_id=? ORDER BY id DESC LIMIT 1", first.run_id)[0][0])
    assert kept["run_id"] == report["run_id"]
    for key in ("hosts", "compliance_pct", "cves_closed_distinct", "cves_still_open_distinct", "host_packages_patched", "columns"):
        assert kept[key] == summary[key], key

    # the dashboard the night wrote, as Chromium shows it
    figures = dashboard_figures(os.path.join(first.outdir, "dashboard.html"), os.path.join(first.outdir, "dashboard.png"))
    check_dashboard_equals_report(figures, report)
