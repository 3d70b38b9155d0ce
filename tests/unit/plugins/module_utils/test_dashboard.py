"""The dashboard page: self-contained, and every data-figure equal to the report's figure.

The page is also opened in headless Chromium in tests/integration/test_compliance_report.py.
"""

import re
from html.parser import HTMLParser

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import dashboard
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report

from .test_accounting import KERNEL, SSL, ZLIB, night


class Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures, self.stack, self.tags = {}, [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        for name in ("src", "href"):
            assert name not in attrs, "the page must not fetch anything: %s=%s" % (name, attrs[name])
        self.stack.append(attrs.get("data-figure"))

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1]:
            self.figures[self.stack[-1]] = self.figures.get(self.stack[-1], "") + data


@pytest.fixture
def page(tmp_path):
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.start_run("r1", playbook="fleetpatch.hybrid.patch_night")
        night(ledger, "web-1", "web", [SSL, KERNEL], ["openssl", "linux-image"], ["openssl", "linux-image"], [])
        night(ledger, "web-2", "web", [SSL, KERNEL, ZLIB], ["openssl"], ["openssl"], ["CVE-2", "CVE-3"], reboot_pending=True)
        night(ledger, "db-1", "db", [SSL], ["openssl"], ["openssl"], [], status="rolled_back")
        ledger.finish_run("r1", "finished")
        report = load_report(ledger, "r1")[0]
    report["change_requests"] = [{"number": "CHG1", "patch_group": "web", "state": "closed", "close_code": "successful"}]
    trend = [dict(dashboard.trend_point(report), run_id="r0", compliance_pct=0.0), dashboard.trend_point(report)]
    text = dashboard.render(report, trend)
    parser = Figures()
    parser.feed(text)
    return text, parser, report


def test_every_figure_is_the_reports(page):
    text, parser, report = page
    summary = report["summary"]
    for key in ("hosts", "compliance_pct", "cves_closed_distinct", "cves_still_open_distinct", "host_cves_closed",
                "host_packages_patched"):
        assert parser.figures["summary.%s" % key] == str(summary[key]), key
    for column, count in summary["columns"].items():
        assert parser.figures["summary.columns.%s" % column] == str(count)
    assert parser.figures["patch_groups.web.cves_closed_distinct"] == "1"
    assert parser.figures["patch_groups.web.compliance_pct"] == str(report["patch_groups"]["web"]["compliance_pct"])
    assert parser.figures["rolled-back-hosts.count"] == "1" and parser.figures["change_requests.count"] == "1"
    assert parser.figures["chart.top_cves_still_open.CVE-2"] == "2"
    assert parser.figures["chart.patch_groups.web.compliance_pct"] == parser.figures["patch_groups.web.compliance_pct"]
    assert parser.figures["chart.summary.missing_by_severity.critical"] == str(summary["missing_by_severity"]["critical"])
    assert parser.figures["trend.count"] == "2"


def test_the_page_needs_no_network(page):
    text, parser, dummy = page
    assert "script" not in parser.tags and "img" not in parser.tags and "link" not in parser.tags
    assert not re.search(r"url\(|@import", text)
    assert "@media print" in text and "<svg" in text


def test_values_are_escaped():
    report = {"run_id": "<r>", "status": "finished", "hosts": [
        {"name": "<b>x</b>", "status": "failed", "patch_group": "g", "reason": "<script>alert(1)</script>",
         "cves_closed": [], "cves_still_open": [], "patched": []}]}
    from ansible_collections.fleetpatch.hybrid.plugins.module_utils import accounting
    report["summary"] = accounting.aggregate(report["hosts"])
    text = dashboard.render(report)
    assert "<script>" not in text and "&lt;script&gt;" in text
