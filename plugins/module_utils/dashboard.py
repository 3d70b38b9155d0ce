# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance dashboard: one self-contained HTML file (no script, no network, inline SVG charts).

Every number on it is a figure of report.json (module_utils/accounting.py) and carries a
data-figure attribute naming it, so a test (or an auditor with the browser's inspector) can hold
the page against the report. Readable on a laptop screen, and printable (print stylesheet).
No Ansible import.
"""

from __future__ import annotations

import html

from . import accounting

MAX_ROWS = 200  # per table of hosts; the counts above each table are always complete
TREND_RUNS = 30

CSS = """
*{box-sizing:border-box}body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f4f6f8}
header{background:#17324d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.85}
main{max-width:1280px;margin:0 auto;padding:16px 24px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-bottom:16px}
.kpi{background:#fff;border-radius:6px;padding:10px 12px;border:1px solid #dde3e9}.kpi b{display:block;font-size:24px}
.kpi span{color:#57606a;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
section{background:#fff;border:1px solid #dde3e9;border-radius:6px;padding:12px 14px;margin-bottom:14px;break-inside:avoid}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef1f4;vertical-align:top}th{color:#57606a;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#57606a;font-size:12px}
.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}code{font-size:12px}
svg text{font:13px system-ui,sans-serif;fill:#1b1f24}
@media print{body{background:#fff;font-size:11px}header{background:#fff;color:#000;border-bottom:2px solid #000}
section,.kpi{border:1px solid #999}main{max-width:none;padding:0}.grid{grid-template-columns:1fr 1fr}}
"""
SEVERITY_COLOURS = {"critical": "#cf222e", "important": "#e16f24", "moderate": "#d4a72c", "low": "#4d88c4",
                    "unspecified": "#8c959f"}


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _num(figure, value, css=""):
    shown = "-" if value is None else value
    return '<b data-figure="%s"%s>%s</b>' % (_e(figure), (' class="%s"' % css) if css else "", _e(shown))


def _kpi(figure, value, label, css=""):
    return '<div class="kpi">%s<span>%s</span></div>' % (_num(figure, value, css), _e(label))


def bar_chart(title_id, rows, unit="", max_value=None, colours=None):
    """Horizontal bars: rows [(label, value, figure name)]; an inline SVG sized to its rows."""
    if not rows:
        return '<p class="muted">none</p>'
    top = max_value if max_value is not None else max([v for dummy, v, dummy2 in rows if v is not None] + [1])
    height = 24 * len(rows) + 6
    parts = ['<svg role="img" aria-labelledby="%s" viewBox="0 0 420 %d" width="100%%" preserveAspectRatio="xMinYMin meet">'
             % (_e(title_id), height)]
    for i, (label, value, figure) in enumerate(rows):
        y = 4 + i * 24
        width = 0 if value is None or not top else 210.0 * value / top
        colour = (colours or {}).get(label, "#2f6fb0")
        parts.append('<text x="0" y="%d">%s</text>' % (y + 14, _e(str(label)[:20])))
        parts.append('<rect x="140" y="%d" width="%.1f" height="16" rx="2" fill="%s"></rect>' % (y, width, colour))
        parts.append('<text x="%.1f" y="%d"><tspan data-figure="chart.%s">%s</tspan>%s</text>' % (
            146 + width, y + 13, _e(figure), _e("-" if value is None else value), _e(unit if value is not None else "")))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title_id, points, series):
    """The trend: one polyline per series [(name, key, colour)] over points (dicts, oldest first), 0-100 scaled per series."""
    if len(points) < 2:
        return '<p class="muted">a trend needs two runs or more</p>'
    width, height, left, bottom = 520, 180, 36, 24
    step = (width - left - 10) / float(len(points) - 1)
    parts = ['<svg role="img" aria-labelledby="%s" viewBox="0 0 %d %d" width="100%%">' % (_e(title_id), width, height)]
    parts.append('<line x1="%d" y1="8" x2="%d" y2="%d" stroke="#8c959f"></line>' % (left, left, height - bottom))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#8c959f"></line>' % (
        left, height - bottom, width - 10, height - bottom))
    for name, key, colour in series:
        values = [p.get(key) for p in points]
        top = max([v for v in values if v is not None] + [1])
        if key == "compliance_pct":
            top = 100.0
        coords = []
        for i, value in enumerate(values):
            if value is None:
                continue
            x = left + i * step
            y = (height - bottom) - (height - bottom - 12) * value / top
            coords.append("%.1f,%.1f" % (x, y))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>'
                     % (colour, " ".join(coords), _e(name)))
    parts.append('<text x="%d" y="%d">%s</text>' % (left, height - 6, _e(points[0]["run_id"][:24])))
    parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (width - 10, height - 6, _e(points[-1]["run_id"][:24])))
    parts.append("</svg>")
    legend = " ".join('<span style="color:%s">&#9632; %s</span>' % (c, _e(n)) for n, dummy, c in series)
    return "".join(parts) + '<p class="muted">%s</p>' % legend


def trend_point(report):
    """What the trend keeps of one run (the run's summary figures)."""
    summary = report["summary"]
    return {"run_id": report["run_id"], "started_at": report.get("started_at"), "hosts": summary["hosts"],
            "compliance_pct": summary["compliance_pct"], "cves_closed_distinct": summary["cves_closed_distinct"],
            "cves_still_open_distinct": summary["cves_still_open_distinct"],
            "host_packages_patched": summary["host_packages_patched"], "columns": summary["columns"]}


def _pct_rows(prefix, figures):
    return [(name, group["compliance_pct"], "%s.%s.compliance_pct" % (prefix, name)) for name, group in figures.items()]


def _hosts_table(section_id, title, hosts, columns):
    head = "".join("<th>%s</th>" % _e(label) for label, dummy in columns)
    rows = []
    for host in hosts[:MAX_ROWS]:
        rows.append("<tr data-host=\"%s\">%s</tr>" % (_e(host["name"]), "".join(
            "<td>%s</td>" % _e(getter(host)) for dummy, getter in columns)))
    more = ('<p class="muted">and %d more (all of them are in report.json and the export)</p>' % (len(hosts) - MAX_ROWS)
            if len(hosts) > MAX_ROWS else "")
    body = ("<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>%s" % (head, "".join(rows), more)
            if hosts else '<p class="muted">none</p>')
    return '<section id="%s"><h2>%s (<span data-figure="%s.count">%d</span>)</h2>%s</section>' % (
        _e(section_id), _e(title), _e(section_id), len(hosts), body)


def _reason(host):
    return host.get("rollback_reason") or host.get("reason") or ""


def render(report, trend=(), generated_at=None):
    """The dashboard of one run (report.json's content) with the trend over earlier runs (trend_point dicts, oldest first)."""
    summary = report["summary"]
    groups = report.get("patch_groups") or accounting.patch_groups(report)
    environments = accounting.by_key(report["hosts"], "environment")
    systems = accounting.by_key(report["hosts"], "os")
    columns = summary["columns"]
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           "<title>Patch compliance - %s</title><style>%s</style></head><body>" % (_e(report["run_id"]), CSS)]
    out.append('<header><h1>Patch compliance</h1><p>Run <code data-figure="run_id">%s</code> (%s), started %s, finished %s%s</p>'
               '</header><main>' % (_e(report["run_id"]), _e(report.get("status")), _e(report.get("started_at")),
                                    _e(report.get("finished_at") or "-"),
                                    (", page written %s" % _e(generated_at)) if generated_at else ""))
    pct = summary["compliance_pct"]
    out.append('<div class="kpis">')
    out.append(_kpi("summary.compliance_pct", pct, "%% hosts compliant after the night (%d of %d assessed)" % (
        summary["hosts_compliant"], summary["hosts_assessed"]), "ok" if pct == 100 else "warn"))
    out.append(_kpi("summary.hosts", summary["hosts"], "hosts targeted"))
    for column in accounting.COLUMNS:
        css = "bad" if column == "failed" and columns[column] else ""
        out.append(_kpi("summary.columns.%s" % column, columns[column], "hosts %s" % column, css))
    out.append(_kpi("summary.cves_closed_distinct", summary["cves_closed_distinct"],
                    "distinct CVEs closed (no targeted host still has them)", "ok"))
    out.append(_kpi("summary.cves_still_open_distinct", summary["cves_still_open_distinct"], "distinct CVEs still open",
                    "bad" if summary["cves_still_open_distinct"] else ""))
    out.append(_kpi("summary.host_cves_closed", summary["host_cves_closed"], "host-CVE pairs closed"))
    out.append(_kpi("summary.host_packages_patched", summary["host_packages_patched"], "host-package pairs patched"))
    out.append("</div>")

    out.append('<div class="grid">')
    out.append('<section id="by-group"><h2 id="t-group">Compliance %% by patch group</h2>%s</section>'
               % bar_chart("t-group", _pct_rows("patch_groups", groups), "%", 100))
    out.append('<section id="by-environment"><h2 id="t-env">Compliance %% by environment</h2>%s</section>'
               % bar_chart("t-env", _pct_rows("environments", environments), "%", 100))
    out.append('<section id="by-os"><h2 id="t-os">Compliance %% by OS</h2>%s</section>'
               % bar_chart("t-os", _pct_rows("os", systems), "%", 100))
    severity = summary["missing_by_severity"]
    out.append('<section id="severity"><h2 id="t-sev">Missing patches by severity (host-patch pairs)</h2>%s</section>'
               % bar_chart("t-sev", [(s, severity.get(s, 0), "summary.missing_by_severity.%s" % s)
                                     for s in accounting.SEVERITIES], colours=SEVERITY_COLOURS))
    out.append("</div>")

    out.append('<section id="groups"><h2>Patch groups</h2><table><thead><tr><th>Patch group</th><th class="n">Hosts</th>'
               '<th class="n">Compliant %</th><th class="n">Patched</th><th class="n">Failed</th><th class="n">Deferred</th>'
               '<th class="n">Skipped</th><th class="n">CVEs closed</th><th class="n">Still open</th><th>Change request</th>'
               '</tr></thead><tbody>')
    for name, group in groups.items():
        cr = group.get("change_request") or {}
        cells = [("hosts", group["hosts"]), ("compliance_pct", group["compliance_pct"])]
        cells += [("columns.%s" % c, group["columns"][c]) for c in accounting.COLUMNS]
        cells += [("cves_closed_distinct", group["cves_closed_distinct"]),
                  ("cves_still_open_distinct", group["cves_still_open_distinct"])]
        out.append('<tr data-group="%s"><td>%s</td>%s<td>%s</td></tr>' % (
            _e(name), _e(name), "".join('<td class="n" data-figure="patch_groups.%s.%s">%s</td>' % (
                _e(name), key, _e("-" if value is None else value)) for key, value in cells),
            _e(("%s (%s%s)" % (cr["number"], cr.get("state"), (", " + cr["close_code"]) if cr.get("close_code") else ""))
               if cr.get("number") else "-")))
    out.append("</tbody></table></section>")

    out.append('<div class="grid">')
    out.append('<section id="cves-closed"><h2>CVEs closed this run (<span data-figure="summary.cves_closed.count">%d</span>)</h2>'
               '<p>%s</p></section>' % (len(summary["cves_closed"]), _e(", ".join(summary["cves_closed"]) or "none")))
    top = summary["top_cves_still_open"]
    out.append('<section id="cves-open"><h2 id="t-top">CVEs still open (<span data-figure="summary.cves_still_open.count">%d</span>)'
               ', top by hosts affected</h2>%s</section>' % (
                   len(summary["cves_still_open"]),
                   bar_chart("t-top", [(t["cve"], t["hosts"], "top_cves_still_open.%s" % t["cve"]) for t in top])))
    out.append("</div>")

    failed = [h for h in report["hosts"] if accounting.column_of(h["status"]) == "failed"]
    deferred = [h for h in report["hosts"] if accounting.column_of(h["status"]) == "deferred"]
    rolled = [h for h in report["hosts"] if h["status"] in ("rolled_back", "rollback_failed")]
    out.append(_hosts_table("failed-hosts", "Failed hosts", failed, [
        ("Host", lambda h: h["name"]), ("Patch group", lambda h: h.get("patch_group") or "-"), ("Status", lambda h: h["status"]),
        ("Phase", lambda h: h.get("failed_phase") or "-"), ("Reason", _reason)]))
    out.append(_hosts_table("rolled-back-hosts", "Rolled-back hosts", rolled, [
        ("Host", lambda h: h["name"]), ("Patch group", lambda h: h.get("patch_group") or "-"), ("Status", lambda h: h["status"]),
        ("Reason", _reason)]))
    out.append(_hosts_table("deferred-hosts", "Deferred hosts", deferred, [
        ("Host", lambda h: h["name"]), ("Patch group", lambda h: h.get("patch_group") or "-"),
        ("Window", lambda h: (h.get("window_applied") or {}).get("name") or (h.get("window_applied") or {}).get("start") or "-"),
        ("Reason", _reason)]))

    crs = report.get("change_requests") or []
    rows = "".join('<tr data-cr="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
        _e(cr.get("number")), _e(cr.get("number")), _e(cr.get("patch_group")), _e(cr.get("state")), _e(cr.get("close_code") or "-"))
        for cr in crs)
    out.append('<section id="change-requests"><h2>Change requests (<span data-figure="change_requests.count">%d</span>)</h2>%s'
               '</section>' % (len(crs), ("<table><thead><tr><th>Number</th><th>Patch group</th><th>State</th><th>Close code</th>"
                                          "</tr></thead><tbody>%s</tbody></table>" % rows) if crs else '<p class="muted">none</p>'))

    points = list(trend)[-TREND_RUNS:]
    trend_rows = "".join('<tr><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td></tr>' % (
        _e(p["run_id"]), _e(p["hosts"]), _e("-" if p["compliance_pct"] is None else p["compliance_pct"]),
        _e(p["cves_closed_distinct"]), _e(p["cves_still_open_distinct"])) for p in reversed(points))
    out.append('<section id="trend"><h2 id="t-trend">Trend over the last <span data-figure="trend.count">%d</span> run(s)</h2>%s'
               '<table><thead><tr><th>Run</th><th class="n">Hosts</th><th class="n">Compliant %%</th><th class="n">CVEs closed</th>'
               '<th class="n">Still open</th></tr></thead><tbody>%s</tbody></table></section>' % (
                   len(points), line_chart("t-trend", points, [("compliant %", "compliance_pct", "#1a7f37"),
                                                               ("CVEs still open", "cves_still_open_distinct", "#cf222e")]),
                   trend_rows))
    out.append('<p class="muted">Figures as in report.json (fleetpatch.hybrid module_utils/accounting.py). "CVEs closed" counts '
               "a CVE once, and only where no targeted host still has it.</p></main></body></html>")
    return "\n".join(out)
