"""One read of the run for report.json, the dashboard and the export (module_utils/report_outputs.py).

What a night's report step writes with patch_report's dashboard_dest and export_dest must equal
what patch_report, compliance_dashboard and compliance_publish write each on its own: the same
report.json, the same page (but its minute stamp), the same JSON Lines objects.
"""

import json
import os
import re
import stat

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import compliance_export as export
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger, LedgerError
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import INDENT_HOSTS, host_outcomes, load_report, report_text
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report_outputs import dashboard_page, write_outputs
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.sqlite_file import HEADER

from .test_accounting import KERNEL, SSL, ZLIB, night

STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def files(folder):
    out = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), encoding="utf-8") as handle:
                out[os.path.relpath(os.path.join(root, name), folder)] = handle.read()
    return out


@pytest.fixture
def ledger_path(tmp_path):
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        for run_id in ("r1", "r2"):
            ledger.start_run(run_id, playbook="fleetpatch.hybrid.patch_night")
            night(ledger, "web-1", "web", [SSL, KERNEL], ["openssl", "linux-image"], ["openssl", "linux-image"], [],
                  run_id=run_id)
            night(ledger, "web-2", "web", [SSL, KERNEL, ZLIB], ["openssl"], ["openssl"], ["CVE-2", "CVE-3"], run_id=run_id)
            night(ledger, "db-1", "db", [SSL], ["openssl"], ["openssl"], [], status="rolled_back", run_id=run_id)
            ledger.finish_run(run_id, "finished")
    return path


def test_one_read_writes_what_the_three_steps_write_each_on_its_own(ledger_path, tmp_path):
    out = tmp_path / "night"
    done = write_outputs(ledger_path, "r2", dest=str(out / "report.json"), dashboard_dest=str(out / "dashboard.html"),
                         export_dest=str(out / "export"), check=HEADER)
    assert done["run_id"] == "r2" and done["changed"]
    with Ledger(ledger_path) as ledger:
        report, hosts = load_report(ledger, "r2")
        page = dashboard_page(ledger, "r2")[0]
    # report.json: patch_report's text of the same report, private
    assert (out / "report.json").read_text() == report_text(report) and json.loads(report_text(report)) == done["report"]
    assert stat.S_IMODE(os.stat(str(out / "report.json")).st_mode) == 0o600
    # the dashboard: compliance_dashboard's page, with the trend of r1 and r2
    assert STAMP.sub("T", (out / "dashboard.html").read_text()) == STAMP.sub("T", page)
    assert done["dashboard"]["bytes"] == len(page.encode("utf-8")) and 'data-figure="trend.count">2<' in page
    # the export: compliance_publish's objects for the run
    alone = tmp_path / "alone"
    export.publish_local(str(alone), export.objects(report, hosts), report)
    assert files(str(out / "export")) == files(str(alone)) and len(files(str(alone))) == len(done["export"]["written"]) == 4
    assert [h["name"] for h in done["report"]["hosts"]] == ["db-1", "web-1", "web-2"]


def test_a_rerun_changes_nothing_and_check_mode_writes_nothing(ledger_path, tmp_path):
    out = tmp_path / "night"
    args = dict(dest=str(out / "report.json"), dashboard_dest=str(out / "dashboard.html"), export_dest=str(out / "export"))
    first = write_outputs(ledger_path, "r2", **args)
    first_page = (out / "dashboard.html").read_text()
    again = write_outputs(ledger_path, "r2", **args)
    assert first["changed"] and first["export"]["written"] and first["dashboard"]["changed"]
    # a rerun writes nothing (the dashboard only when the minute of its stamp turned meanwhile)
    assert again["dashboard"]["changed"] is (STAMP.search(first_page).group(0) != STAMP.search(
        (out / "dashboard.html").read_text()).group(0))
    assert again["changed"] is again["dashboard"]["changed"]
    assert again["export"]["written"] == [] and again["export"]["unchanged"] == sorted(first["export"]["written"])
    checked = tmp_path / "checked"
    dry = write_outputs(ledger_path, "r2", dest=str(checked / "report.json"), dashboard_dest=str(checked / "d.html"),
                        export_dest=str(checked / "export"), check_mode=True)
    assert dry["changed"] and dry["export"]["written"] and not os.path.exists(str(checked))


def test_the_newest_run_when_none_is_named_and_a_clear_error_for_an_unknown_one(ledger_path, tmp_path):
    assert write_outputs(ledger_path)["run_id"] == "r2"
    with pytest.raises(LedgerError, match="run_id 'r9' is not in the ledger"):
        write_outputs(ledger_path, "r9", dest=str(tmp_path / "report.json"))
    assert not os.path.exists(str(tmp_path / "report.json"))


def test_report_json_is_indented_for_people_and_compact_for_big_fleets():
    small = {"run_id": "r", "hosts": [{"name": "h%d" % i} for i in range(INDENT_HOSTS)]}
    big = {"run_id": "r", "hosts": [{"name": "h%d" % i} for i in range(INDENT_HOSTS + 1)]}
    assert report_text(small).startswith('{\n  "hosts": [') and json.loads(report_text(small)) == small
    assert "\n" not in report_text(big).rstrip("\n") and json.loads(report_text(big)) == big
    assert report_text(big).startswith('{"hosts":[{"name":"h0"}')


def test_the_outcomes_read_gives_the_reports_statuses(ledger_path):
    """read=outcomes (the night's lost-host step) works out each host's status from its phase rows
    alone: the same name, status and phases as the report's host entries."""
    with Ledger(ledger_path) as ledger:
        ledger.start_run("r3", playbook="fleetpatch.hybrid.patch_night")
        night(ledger, "web-1", "web", [SSL], ["openssl"], ["openssl"], [], run_id="r3")
        ledger.record_host("r3", "web-9", "web", {})
        for phase in ("preflight", "scan"):
            ledger.record_phase("r3", "web-9", phase, "ok", data={"pending": 1} if phase == "scan" else {})
        ledger.record_phase("r3", "web-9", "approve", "ok")
        for run_id in ("r2", "r3"):
            report = load_report(ledger, run_id)[0]
            expected = [dict((k, h[k]) for k in ("name", "status", "phases")) for h in report["hosts"]]
            assert host_outcomes(ledger, run_id) == expected
    assert [h["status"] for h in expected] == ["patched", "incomplete"]
