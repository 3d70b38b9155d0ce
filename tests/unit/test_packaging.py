"""Packaging facts that `make unit` checks cheaply (tools/check-package, in `make test`, checks the rest:
the changelog release dry run and the EE build context)."""

import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def galaxy():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


def test_every_plugin_is_added_in_the_collections_version():
    """A version_added above the collection's version drops the plugin from the release's changelog."""
    version = galaxy()["version"]
    wrong = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "*", "*.py"))):
        if "/doc_fragments/" in path:
            continue
        with open(path) as handle:
            text = handle.read()
        if "DOCUMENTATION" not in text:
            continue
        found = re.findall(r"^version_added:\s*['\"]?([\d.]+)", text.split("DOCUMENTATION", 1)[1], re.M)
        if not found or found[0] != version:
            wrong[os.path.relpath(path, ROOT)] = found[0] if found else None
    assert wrong == {}, "version_added must be %s (galaxy.yml version): %s" % (version, wrong)


def test_requires_ansible_matches_the_dependencies():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        assert yaml.safe_load(handle)["requires_ansible"] == ">=2.17.0"   # amazon.aws 10, community.aws 10, vmware 5


def test_no_placeholder_urls_and_a_license_text():
    assert "example.invalid" not in yaml.safe_dump(galaxy())
    assert galaxy()["license"] == ["GPL-3.0-or-later"]
    with open(os.path.join(ROOT, "LICENSE")) as handle:
        text = handle.read()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
