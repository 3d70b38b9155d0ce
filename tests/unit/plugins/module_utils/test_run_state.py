"""module_utils/run_state.py with its local-directory store (the S3 store runs against a moto server in
tests/integration/test_run_state_s3.py): claims, refusals, takeover, resume, snapshots, manifests."""

import json
import sqlite3
from datetime import timedelta

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import run_state as rs
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger

T0 = rs.parse_time("2026-12-04T02:00:00+00:00")


def state(tmp_path, run_id="run-1", work="work"):
    return rs.RunState(rs.PathStore(str(tmp_path / "state")), run_id, str(tmp_path / work), str(tmp_path / "state"))


@pytest.mark.parametrize("url,expected", [
    ("s3://patching-state/nights/", {"kind": "s3", "bucket": "patching-state", "prefix": "nights"}),
    ("s3://patching-state", {"kind": "s3", "bucket": "patching-state", "prefix": ""}),
    ("/var/lib/fleetpatch", {"kind": "path", "path": "/var/lib/fleetpatch"}),
    ("file:///var/lib/fleetpatch", {"kind": "path", "path": "/var/lib/fleetpatch"}),
])
def test_parse_url(url, expected):
    assert rs.parse_url(url) == expected


@pytest.mark.parametrize("url,message", [
    ("s3://Bad_Bucket/x", "'Bad_Bucket' is not an S3 bucket name"),
    ("https://example.com/x", "only s3:// URLs and local paths are supported"),
    ("", "expected s3://bucket/prefix or a local directory"),
])
def test_bad_urls_name_the_fix(url, message):
    with pytest.raises(rs.StateError, match=message):
        rs.parse_url(url)


def test_a_run_id_that_cannot_name_a_folder_is_refused(tmp_path):
    with pytest.raises(rs.StateError, match=r"run id '../x' cannot name a state folder"):
        state(tmp_path, run_id="../x")


def test_a_second_night_on_a_held_run_fails_naming_the_holder(tmp_path):
    first = state(tmp_path)
    opened = first.open("AWX job 41", now=T0)
    assert opened["resumed"] is False and opened["took_over"] is None
    second = state(tmp_path, work="other")
    with pytest.raises(rs.StateError) as err:
        second.open("AWX job 42", now=T0 + timedelta(minutes=10))
    message = str(err.value)
    assert "run run-1 is held by another night (AWX job 41), which claimed it at 2026-12-04T02:00:00+00:00" in message
    assert "600 s ago (a claim lapses after 3600 s without one)" in message
    assert "rerun with -e fleetpatch_state_takeover=true" in message


def test_a_lapsed_claim_is_taken_over_and_the_old_night_stops_without_writing(tmp_path):
    first = state(tmp_path)
    first.open("AWX job 41", now=T0, lease_seconds=600)
    with Ledger(first.paths()[rs.LEDGER]) as ledger:
        ledger.start_run("run-1")
    first.sync(now=T0 + timedelta(minutes=5))                     # a sign of life: the claim holds 600 s more
    second = state(tmp_path, work="other")
    with pytest.raises(rs.StateError, match="held by another night"):
        second.open("AWX job 42", now=T0 + timedelta(minutes=14))
    opened = second.open("AWX job 42", now=T0 + timedelta(minutes=16))
    assert opened["took_over"]["holder"] == "AWX job 41" and opened["resumed"] is True
    with pytest.raises(rs.StateError) as err:
        first.sync(now=T0 + timedelta(minutes=17), report={"hosts": []})
    assert ("this night no longer holds run run-1 at %s: AWX job 42 claimed it at 2026-12-04T02:16:00+00:00"
            % (tmp_path / "state")) in str(err.value)
    assert not (tmp_path / "state" / "run-1" / rs.REPORT).exists()   # the old night wrote nothing


def test_takeover_by_the_operator_and_a_finished_run_is_free_at_once(tmp_path):
    state(tmp_path).open("job 1", now=T0)
    taker = state(tmp_path, work="b")
    assert taker.open("job 2", now=T0 + timedelta(seconds=5), takeover=True)["took_over"]["holder"] == "job 1"
    taker.sync(now=T0 + timedelta(seconds=6), finish=True)
    third = state(tmp_path, work="c").open("job 3", now=T0 + timedelta(seconds=7))
    assert third["took_over"] is None


def test_sync_before_open_says_so(tmp_path):
    with pytest.raises(rs.StateError, match="this night has not claimed run run-1"):
        state(tmp_path).sync()


def test_the_report_and_its_manifest_are_kept_beside_the_ledger(tmp_path):
    night = state(tmp_path)
    night.open("job", now=T0)
    report = {"run_id": "run-1", "hosts": [
        {"name": "a", "status": "patched", "patch_group": "web", "patched": [{"name": "openssl", "to": "3.0.17"}]},
        {"name": "b", "status": "failed", "patch_group": "web", "patched": [{"name": "curl", "to": "9"}]},
        {"name": "c", "status": "patched", "patch_group": "db", "patched": [{"name": "openssl", "to": "3.0.17"},
                                                                            {"name": "tzdata", "to": "2026a"}]}]}
    night.sync(now=T0, report=report, manifest=rs.manifest_entries(report))
    folder = tmp_path / "state" / "run-1"
    assert json.loads((folder / rs.REPORT).read_text()) == report
    manifest = [{"name": "openssl", "version": "3.0.17"}, {"name": "tzdata", "version": "2026a"}]
    assert json.loads((folder / rs.MANIFEST).read_text()) == manifest
    assert rs.manifest_entries(report, "web") == [{"name": "openssl", "version": "3.0.17"}]
    assert rs.manifest_entries({"hosts": []}) == []
    fetched = state(tmp_path, work="reader").fetch([rs.MANIFEST, rs.LEDGER])
    assert fetched == {rs.MANIFEST: str(folder / rs.MANIFEST), rs.LEDGER: None}


def test_snapshot_is_a_consistent_copy_of_a_wal_ledger(tmp_path):
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        ledger.start_run("r")
        ledger.record_phase("r", "h1", "scan", "ok")
        copy = rs.snapshot(path)                                    # taken while the WAL holds the rows
    (tmp_path / "copy.db").write_bytes(copy)
    conn = sqlite3.connect(str(tmp_path / "copy.db"))
    assert conn.execute("SELECT host, phase FROM host_phases").fetchall()[0][:2] == ("h1", "scan")
    conn.close()
    with pytest.raises(rs.StateError, match="there is no ledger at"):
        rs.snapshot(str(tmp_path / "missing.db"))


def test_workflow_stats_for_set_stats():
    report = {"run_id": "run-1", "hosts": [
        {"name": "a", "status": "patched", "cves_closed": ["CVE-2026-2", "CVE-2026-1"]},
        {"name": "b", "status": "patched", "cves_closed": ["CVE-2026-1"]},
        {"name": "c", "status": "failed", "cves_closed": []}],
        "change_requests": [{"number": "CHG0001", "patch_group": "web"}, {"number": "CHG0002"}]}
    assert rs.workflow_stats(report, "s3://b/p/run-1/report.json") == {
        "fleetpatch_result_run_id": "run-1", "fleetpatch_result_host_counts": {"failed": 1, "patched": 2},
        "fleetpatch_result_cves_closed": ["CVE-2026-1", "CVE-2026-2"], "fleetpatch_result_change_requests": ["CHG0001", "CHG0002"],
        "fleetpatch_result_report_location": "s3://b/p/run-1/report.json"}
