"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN is YAML that parses.

ansible-test sanity (yamllint, validate-modules, ansible-doc) checks the same, but it needs the
network and runs last in `make test`; this catches a `: ` in a plain scalar during `make unit`.
"""

import ast
import glob
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FILES = sorted(path for path in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py"))
               if os.path.basename(os.path.dirname(path)) != "module_utils" and not path.endswith("__init__.py"))
NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def doc_strings(path):
    """{name: string} of the module-level (or ModuleDocFragment class-level) doc assignments."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = {}
    bodies = [tree.body] + [node.body for node in tree.body if isinstance(node, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name) and (target.id in NAMES or target.id.isupper()):
                        found["%s:%d" % (target.id, node.lineno)] = node.value.value
    return found


def test_there_are_plugins_to_check():
    assert len(FILES) > 30 and any(p.endswith("modules/patch_report.py") for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_doc_blocks_parse_as_yaml(path):
    blocks = doc_strings(path)
    kind = os.path.basename(os.path.dirname(path))
    if kind in ("modules", "filter", "lookup", "inventory", "callback", "test"):
        assert any(key.startswith("DOCUMENTATION:") for key in blocks), "%s has no DOCUMENTATION" % path
    for key, text in blocks.items():
        name = key.split(":")[0]
        if name not in NAMES and kind != "doc_fragments":
            continue
        try:
            list(yaml.safe_load_all(text))     # EXAMPLES may hold several files (---)
        except yaml.YAMLError as exc:
            pytest.fail("%s %s is not valid YAML: %s" % (os.path.relpath(path, ROOT), key, exc))
