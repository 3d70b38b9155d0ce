"""Inspector2 paging, the 10-ids-per-request limit and the bounded wait for a rescan, with botocore's Stubber.

moto 5.2 answers list_findings from a queue and never returns nextToken, so paging and a source that
changes its answer over time are tested here with the Stubber, which checks every request and answer
against the Inspector2 service model."""

from datetime import datetime, timezone

import boto3
from botocore.stub import Stubber

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings_sources as S
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.modules import vulnerability_findings as M


def finding(instance, cve, name="fp-openssl", status="ACTIVE"):
    return {"findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/%s%s" % (instance, cve),
            "awsAccountId": "123456789012", "type": "PACKAGE_VULNERABILITY", "description": cve,
            "remediation": {}, "severity": "CRITICAL", "status": status,
            "firstObservedAt": datetime(2026, 11, 3, tzinfo=timezone.utc), "lastObservedAt": datetime(2026, 12, 3, tzinfo=timezone.utc),
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": instance}],
            "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "DEBIAN_CVE",
                                            "vulnerablePackages": [{"name": name, "version": "3.0.15", "release": "1~deb12u1",
                                                                    "fixedInVersion": "0:3.0.15-1~deb12u2"}]}}


def client():
    return boto3.client("inspector2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def expected(ids, token=None):
    params = {"filterCriteria": S.inspector2_filter(ids, ("ACTIVE",)), "maxResults": 100}
    if token:
        params["nextToken"] = token
    return params


def test_pages_by_next_token_and_asks_for_ten_instances_at_a_time():
    ids = ["i-%017d" % n for n in range(12)]
    api = client()
    with Stubber(api) as stub:
        stub.add_response("list_findings", {"findings": [finding(ids[0], "CVE-2026-1")], "nextToken": "page2"}, expected(ids[:10]))
        stub.add_response("list_findings", {"findings": [finding(ids[9], "CVE-2026-2")]}, expected(ids[:10], "page2"))
        stub.add_response("list_findings", {"findings": [finding(ids[11], "CVE-2026-3")]}, expected(ids[10:]))
        found = S.inspector2_list(api, ids)
        stub.assert_no_pending_responses()
    assert [(f["identity"]["instance_id"], f["cve"], f["installed_version"], f["fixed_version"], f["severity"], f["first_seen"])
            for f in found] == [
        (ids[0], "CVE-2026-1", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", "critical", "2026-11-03T00:00:00+00:00"),
        (ids[9], "CVE-2026-2", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", "critical", "2026-11-03T00:00:00+00:00"),
        (ids[11], "CVE-2026-3", "3.0.15-1~deb12u1", "3.0.15-1~deb12u2", "critical", "2026-11-03T00:00:00+00:00")]


def test_throttling_is_retried_and_access_denied_is_a_source_error():
    api = client()
    with Stubber(api) as stub:
        stub.add_client_error("list_findings", "ThrottlingException", http_status_code=429, expected_params=expected(["i-1"]))
        stub.add_response("list_findings", {"findings": []}, expected(["i-1"]))
        assert S.inspector2_list(api, ["i-1"], sleep=lambda s: None) == []
        stub.add_client_error("list_findings", "AccessDeniedException", "not authorized to perform inspector2:ListFindings",
                              http_status_code=403, expected_params=expected(["i-1"]))
        result = S.collect([{"type": "inspector2"}], [{"name": "web-1", "instance_id": "i-1"}],
                           reader=lambda spec, hosts: S.read_inspector2(spec, hosts, clients=[("us-east-1", api)]))
    assert "AccessDeniedException" in result["errors"][0]["reason"] and result["errors"][0]["source"] == "inspector2"


def test_confirm_waits_for_the_rescan_within_the_bound():
    """First answer: the finding is still active; second: gone. A third check would be past the bound."""
    api = client()
    hosts = [{"name": "web-1", "instance_id": "i-1"}]
    now = [0.0]
    with Stubber(api) as stub:
        stub.add_response("list_findings", {"findings": [finding("i-1", "CVE-2026-10001")]}, expected(["i-1"]))
        stub.add_response("list_findings", {"findings": []}, expected(["i-1"]))
        still, waited, errors, disagree = M.confirm(
            [{"type": "inspector2"}], hosts, {"web-1": [{"cve": "CVE-2026-10001", "package": "fp-openssl"}]}, 100, 30,
            sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0],
            reader=lambda spec, hs: S.read_inspector2(spec, hs, clients=[("us-east-1", api)]))
    assert (still, waited, errors, disagree) == ({}, 30.0, [], {})
    with Stubber(api) as stub:
        for _answer in range(4):
            stub.add_response("list_findings", {"findings": [finding("i-1", "CVE-2026-10001")]}, expected(["i-1"]))
        now[0] = 0.0
        still, waited, errors, disagree = M.confirm(
            [{"type": "inspector2"}], hosts, {"web-1": [{"cve": "CVE-2026-10001", "package": "fp-openssl"}]}, 100, 30,
            sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0],
            reader=lambda spec, hs: S.read_inspector2(spec, hs, clients=[("us-east-1", api)]))
    assert still == {"web-1": [{"cve": "CVE-2026-10001", "package": "fp-openssl"}]} and waited == 90.0
    assert disagree == {"web-1": [{"cve": "CVE-2026-10001", "package": "fp-openssl", "ours": "closed", "source": "open", "reason": None}]}


def test_confirm_records_a_finding_judged_open_that_the_source_no_longer_reports():
    """Stubber (moto answers a repeated filter with the same queued findings, so it cannot show a rescan): the
    source closed fp-kernel's finding although the kernel is not patched - the other direction of disagreement -
    and still reports fp-libdemo's, judged open here too (agreement: not listed). No wait: nothing was judged closed."""
    api = client()
    hosts = [{"name": "db-1", "instance_id": "i-1"}]
    sleeps = []
    with Stubber(api) as stub:
        stub.add_response("list_findings", {"findings": [finding("i-1", "CVE-2026-40002")]}, expected(["i-1"]))
        still, waited, errors, disagree = M.confirm(
            [{"type": "inspector2"}], hosts, {"db-1": []}, 600, 30, sleep=sleeps.append, clock=lambda: 0.0,
            reader=lambda spec, hs: S.read_inspector2(spec, hs, clients=[("us-east-1", api)]),
            expected_open={"db-1": [{"cve": "CVE-2026-50001", "package": "fp-kernel", "reason": "fp-kernel 6.1.0-1 is older"},
                                    {"cve": "CVE-2026-40002", "package": "fp-openssl", "reason": "older"}]})
        stub.assert_no_pending_responses()
    assert (still, errors, sleeps) == ({}, [], [])
    assert disagree == {"db-1": [{"cve": "CVE-2026-50001", "package": "fp-kernel", "ours": "open", "source": "closed",
                                  "reason": "fp-kernel 6.1.0-1 is older"}]}


def test_an_unreadable_source_reports_no_disagreement():
    api = client()
    with Stubber(api) as stub:
        stub.add_client_error("list_findings", "AccessDeniedException", "not authorized", http_status_code=403,
                              expected_params=expected(["i-1"]))
        still, _waited, errors, disagree = M.confirm(
            [{"type": "inspector2"}], [{"name": "db-1", "instance_id": "i-1"}], {"db-1": []}, 600, 30, sleep=lambda s: None,
            clock=lambda: 0.0, reader=lambda spec, hs: S.read_inspector2(spec, hs, clients=[("us-east-1", api)]),
            expected_open={"db-1": [{"cve": "CVE-2026-50001", "package": "fp-kernel"}]})
    assert still == {} and disagree == {} and "AccessDeniedException" in errors[0]["reason"]


def test_module_marks_every_key_no_log_and_names_a_missing_field():
    assert [k for k, v in M.SOURCE_OPTIONS.items() if v.get("no_log")] == ["access_key", "secret_key", "session_token", "password"]
    assert M.check_sources([{"type": "qualys", "url": "https://q", "username": "u", "password": None}]) == \
        "sources[0] (type qualys): password is required"


def test_ledger_findings_are_appended_and_the_latest_check_wins(tmp_path):
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.start_run("r1")
        ledger.record_findings("r1", "web-1", "scan", "failed", [], message="qualys: answered 401")
        ledger.record_findings("r1", "web-1", "scan", "ok", [{"cve": "CVE-1", "package": "a", "state": "patch_approved"}])
        ledger.record_findings("r1", "web-1", "after", "ok", [{"cve": "CVE-1", "package": "a", "state": "closed", "reason": "a 2 >= 2"}])
        got = ledger.findings("r1")
        rows = ledger.conn.execute("SELECT COUNT(*) FROM findings_checks").fetchone()[0]
    assert rows == 3
    assert got["web-1"]["scan"]["status"] == "ok"
    assert [f["state"] for f in got["web-1"]["scan"]["findings"]] == ["patch_approved"]
    assert got["web-1"]["after"]["findings"][0]["reason"] == "a 2 >= 2"


def test_inspector2_is_asked_per_account_role_and_region():
    hosts = [{"name": "a", "instance_id": "i-a", "region": "eu-west-1", "role_arn": "arn:aws:iam::111111111111:role/fleetpatch"},
             {"name": "b", "instance_id": "i-b", "region": "eu-west-1", "role_arn": "arn:aws:iam::222222222222:role/fleetpatch"},
             {"name": "c", "instance_id": "i-c", "region": "us-east-2", "role_arn": "arn:aws:iam::111111111111:role/fleetpatch"},
             {"name": "d", "instance_id": "i-d"}, {"name": "onprem"}]
    assert S.inspector2_groups({"regions": ["us-east-1", "eu-central-1"]}, hosts) == {
        ("arn:aws:iam::111111111111:role/fleetpatch", "eu-west-1"): ["i-a"],
        ("arn:aws:iam::222222222222:role/fleetpatch", "eu-west-1"): ["i-b"],
        ("arn:aws:iam::111111111111:role/fleetpatch", "us-east-2"): ["i-c"],
        (None, "us-east-1"): ["i-d"], (None, "eu-central-1"): ["i-d"]}
    # the source's own role wins for every host
    assert set(S.inspector2_groups({"role_arn": "arn:aws:iam::333333333333:role/read"}, hosts[:2])) == {
        ("arn:aws:iam::333333333333:role/read", "eu-west-1")}


def test_report_lists_findings_and_never_calls_unverified_ones_closed():
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import findings_report as R
    scan = {"status": "ok", "data": {"patches_without_finding": ["fp-tzdata"]}, "findings": [
        {"cve": "CVE-1", "package": "a", "state": "patch_approved", "reason": "rule 0"},
        {"cve": "CVE-2", "package": "k", "state": "patch_not_approved", "reason": "k: rejected"}]}
    after = {"status": "ok", "data": {}, "findings": [
        {"cve": "CVE-1", "package": "a", "state": "closed", "reason": "a 2 is at or past the fixed version 2"},
        {"cve": "CVE-2", "package": "k", "state": "open", "reason": "k 1 is older than the fixed version 2; k: rejected"}]}
    hosts = [{"name": "web-1", "status": "patched"}, {"name": "db-1", "status": "rolled_back"}, {"name": "app-1", "status": "compliant"}]
    report = {"summary": {}, "hosts": hosts}
    R.add_to_report(report, {"web-1": {"scan": scan, "after": after}, "db-1": {"scan": scan},
                             "_unmatched": {"scan": {"data": {"unmatched_hosts": [{"identity": {"ip": "10.9.9.9"}}]}}}})
    web, db, app = report["hosts"]
    assert [f["cve"] for f in web["findings"]["closed"]] == ["CVE-1"] and web["findings"]["planned"] == {
        "patch_approved": 1, "patch_not_approved": 1}
    assert db["findings"]["closed"] == [] and db["findings"]["open"][0]["reason"] == "not verified after the night: the host is rolled_back"
    assert "findings" not in app
    assert report["summary"]["findings"] == {"closed": 1, "open": 3, "hosts_failed": 0}
    assert report["findings_unmatched"] == [{"identity": {"ip": "10.9.9.9"}}]
    details = R.outcome_details(report["hosts"])
    assert details["web-1"] == ("findings closed: CVE-1 a; findings still open: CVE-2 k (k 1 is older than the fixed version 2; "
                                "k: rejected)")
    assert details["db-1"].startswith("findings closed: none; findings still open: CVE-1 a (not verified")
