"""Hostile and broken on-prem inventory files, and values no group may be made of (issue #14, part B).

The alias bomb is the 514-byte file of the issue's kind (nine levels of nine aliases, 9**9 strings
once expanded): it must be refused from the node graph, in well under a second and a few MB, before
anything expands it. Every error message quotes values shortened.
"""

import resource
import time

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import inventory as inv


def bomb(levels=9):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append("a%d: &a%d [%s]" % (level, level, ",".join(["*a%d" % (level - 1)] * 9)))
    lines.append("hosts:\n  - name: web-1\n    tags: {x: *a%d}" % (levels - 1))
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="hosts.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    text = bomb()
    assert len(text) < 600
    path = write(tmp_path, text)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(inv.OnpremError) as caught:
        inv.load_onprem_files([path])
    assert time.monotonic() - started < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * 1024  # KiB: no expansion happened
    message = str(caught.value)
    assert "its aliases (*name) expand to more than 100000 values: refused before expanding them" in message
    assert message.startswith(path + " line ") and len(message) < 400


def test_a_recursive_alias_is_refused(tmp_path):
    path = write(tmp_path, "hosts: &h\n  - name: web-1\n    tags: {loop: *h}\n")
    with pytest.raises(inv.OnpremError, match="an alias refers to a value that contains it"):
        inv.load_onprem_files([path])


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path):
    text = ("common: &common {patch_group: web, owner: web@example.com}\n"
            "hosts:\n  - {<<: *common, name: web-1}\n  - {<<: *common, name: web-2, tags: &t {Tier: front}}\n"
            "  - {<<: *common, name: web-3, tags: *t}\n")
    with pytest.raises(inv.OnpremError, match="unknown top-level key"):
        inv.load_onprem_files([write(tmp_path, text)])  # 'common' itself is not a known key: said, not expanded
    text = text.replace("common: &common", "defaults: &common")
    records = inv.load_onprem_files([write(tmp_path, text)])
    assert [(r["name"], r["patch_group"], r.get("tags")) for r in records] == [
        ("web-1", "web", None), ("web-2", "web", {"Tier": "front"}), ("web-3", "web", {"Tier": "front"})]


def test_many_hosts_without_aliases_are_not_mistaken_for_a_bomb(tmp_path):
    text = "hosts:\n" + "".join("  - {name: h%05d, patch_group: g, tags: {a: b, c: d}}\n" % i for i in range(20000))
    assert len(inv.load_onprem_files([write(tmp_path, text)])) == 20000


@pytest.mark.parametrize("entry,field,fragment", [
    ("{name: web-1, patch_group: %s}" % ("g" * 100000), "patch_group", "'gggg"),
    ("{name: %s}" % ("n" * 300), "name", "is longer than 253 characters"),
    ("{name: web-1, tags: {%s: v}}" % ("k" * 129), "tags", "keys hold 1-128 characters and values up to 256"),
    ("{name: web-1, tags: {Patch Group: %s}}" % ("v" * 100000), "tags", "got 11 and 100000"),
    ("{name: web-1, ip: %s}" % ("9" * 100000), None, "line 2: a number of 100000 characters cannot be read: quote it"),
    ("{name: web-1, ip: '%s'}" % ("9" * 100000), "ip", "is longer than 256 characters"),
    ("{name: web-1, port: %s}" % ("9" * 5000), None, "line 2: a number of 5000 characters cannot be read"),
    ("{name: web-1, platform: [%s]}" % ",".join(["x" * 100] * 1000), "platform", "expected text, got ["),
    ("%s" % ("[" + ",".join(["y" * 100] * 1000) + "]"), None, "each host must be a mapping with at least name:, got ["),
], ids=["patch_group", "name", "tag_key", "tag_value", "ip_number", "ip", "port", "platform_list", "host_not_mapping"])
def test_overlong_values_are_refused_and_quoted_short(tmp_path, entry, field, fragment):
    path = write(tmp_path, "hosts:\n  - %s\n" % entry)
    with pytest.raises(inv.OnpremError) as caught:
        inv.load_onprem_files([path])
    message = str(caught.value)
    assert fragment in message, message[:600]
    assert len(message) < 500, message[:600]
    if field:
        assert ("field '%s'" % field) in message


def test_a_long_patch_group_in_a_csv_is_refused_too(tmp_path):
    path = write(tmp_path, "name,patch_group\nweb-1,%s\n" % ("p" * 100000), name="hosts.csv")
    with pytest.raises(inv.OnpremError, match=r"line 2, field 'patch_group': 'p{20,}.*\(100000 characters\) is longer") as caught:
        inv.load_onprem_files([path])
    assert len(str(caught.value)) < 400


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    monkeypatch.setattr(inv, "MAX_ONPREM_FILE_BYTES", 1024 * 1024)
    path = write(tmp_path, "hosts:\n" + "  - {name: web-1}\n" * 100000)
    with pytest.raises(inv.OnpremError, match="larger than 1 MiB: split the fleet over several files"):
        inv.load_onprem_files([path])


def test_a_value_no_aws_tag_can_hold_makes_no_group():
    """A patch group from any source (here an EC2 tag a stand-in returned) longer than 256 characters."""
    hosts = [("web-1", {"fleetpatch_patch_group": "g" * 100000, "fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2"]}),
             ("web-2", {"fleetpatch_patch_group": "web", "fleetpatch_environment": "e" * 300,
                        "fleetpatch_platform": "linux", "fleetpatch_sources": ["ec2"]})]
    groups, warnings = inv.group_hosts(hosts, "patch_group_unassigned")
    assert groups["patch_group_unassigned"] == ["web-1"] and groups["patch_group_web"] == ["web-2"]
    assert max(len(g) for g in groups) < 40
    assert "fleetpatch_patch_group" not in hosts[0][1] and "fleetpatch_environment" not in hosts[1][1]
    assert warnings == [
        "Patch Group values longer than 256 characters make no group (hosts 'web-1'); they go to patch_group_unassigned",
        "Environment values longer than 256 characters make no group (hosts 'web-2')"]


def test_config_errors_quote_values_short():
    with pytest.raises(inv.InventoryConfigError) as caught:
        inv.validate_settings({"sources": {"ec2": {"regions": ["us-east-1"]}}, "unassigned_group": "x-" * 50000})
    assert "is not a valid group name" in str(caught.value) and len(str(caught.value)) < 300
