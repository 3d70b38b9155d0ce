"""docs/compliance_export.md's Athena/Glue DDL parses (sqlglot, Athena dialect) and its columns are
exactly the fields compliance_publish exports (partition keys apart)."""

import os
import re

import pytest
import sqlglot
from sqlglot import exp

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import compliance_export as export
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.ledger import Ledger
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.report import load_report

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "compliance_export.md")
PARTITIONS = ["run_date", "patch_group"]


def statements():
    with open(DOC) as handle:
        text = handle.read()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    return dict((re.search(r"fleetpatch\.(\w+)", b).group(1), b) for b in blocks if b.lstrip().startswith("CREATE"))


def columns(ddl):
    tree = sqlglot.parse_one(ddl, read="athena")
    assert isinstance(tree, exp.Create) and tree.kind == "TABLE"
    names = [c.name for c in tree.this.expressions]
    partitioned = tree.find(exp.PartitionedByProperty)
    parts = [c.name for c in partitioned.this.expressions]
    return names, parts, tree


@pytest.fixture
def rows(tmp_path):
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        ledger.start_run("r1", playbook="fleetpatch.hybrid.patch_night")
        ledger.record_host("r1", "h1", "web", {"environment": "prod"})
        ledger.record_phase("r1", "h1", "preflight", "ok")
        ledger.record_phase("r1", "h1", "scan", "ok", data={"patches": [], "cves": []})
        ledger.record_phase("r1", "h1", "approve", "ok", data={"compliance": {"compliant": True, "counts": {}, "patches": {}}})
        report, hosts = load_report(ledger, "r1")
    return export.host_rows(report, hosts)[0], export.group_rows(report)[0]


def test_both_tables_parse_and_match_the_export(rows):
    ddl = statements()
    assert sorted(ddl) == ["groups", "hosts"]
    for table, row in zip(("hosts", "groups"), rows, strict=True):
        names, parts, tree = columns(ddl[table])
        assert parts == PARTITIONS, table
        assert sorted(names + parts) == sorted(row), table
        assert "JsonSerDe" in tree.sql("athena")
        assert "s3://" in ddl[table] and "/%s/" % table in ddl[table]


def test_nested_columns_match_the_export(rows):
    host = rows[0]
    names, parts, tree = columns(statements()["hosts"])
    counts = [c for c in tree.this.expressions if c.name == "compliance_counts"][0]
    fields = [f.name for f in counts.args["kind"].expressions]
    assert sorted(fields) == sorted(host["compliance_counts"])
