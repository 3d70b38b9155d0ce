"""The dashboard as a reader sees it: opened in headless Chromium (Debian's chromium package), a
screenshot taken, and every data-figure read from the DOM Chromium built, held against report.json."""

import os
import shutil
import subprocess
from html.parser import HTMLParser


class Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures, self.stack = {}, []

    def handle_starttag(self, tag, attrs):
        self.stack.append(dict(attrs).get("data-figure"))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1]:
            self.figures[self.stack[-1]] = self.figures.get(self.stack[-1], "") + data.strip()


def chromium(*args):
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium package is needed (make test installs it)"
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] + list(args),
                          capture_output=True, text=True, timeout=120, check=False)


def dashboard_figures(path, screenshot):
    """The DOM Chromium built from the page (what a reader sees), and a screenshot of it."""
    shot = chromium("--window-size=1366,2400", "--screenshot=%s" % screenshot, "file://%s" % path)
    assert os.path.getsize(screenshot) > 10000, shot.stderr[-2000:]
    dom = chromium("--dump-dom", "file://%s" % path)
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    parser = Figures()
    parser.feed(dom.stdout)
    return parser.figures


def check_dashboard_equals_report(figures, report):
    summary = report["summary"]
    for key in ("hosts", "cves_closed_distinct", "cves_still_open_distinct", "host_cves_closed", "host_packages_patched"):
        assert figures["summary.%s" % key] == str(summary[key]), key
    assert figures["summary.compliance_pct"] == str(summary["compliance_pct"])
    for column, count in summary["columns"].items():
        assert figures["summary.columns.%s" % column] == str(count), column
    for name, group in report["patch_groups"].items():
        for key in ("hosts", "cves_closed_distinct", "cves_still_open_distinct"):
            assert figures["patch_groups.%s.%s" % (name, key)] == str(group[key]), (name, key)
        assert figures["patch_groups.%s.compliance_pct" % name] == str(group["compliance_pct"])
    for severity, count in summary["missing_by_severity"].items():
        assert figures["chart.summary.missing_by_severity.%s" % severity] == str(count)
    failed = [h for h in report["hosts"] if h["status"] in ("failed", "unreachable", "rolled_back", "rollback_failed", "incomplete")]
    assert figures["failed-hosts.count"] == str(len(failed))
    assert figures["change_requests.count"] == str(len(report["change_requests"]))
