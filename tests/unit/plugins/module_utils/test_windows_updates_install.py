"""Baseline -> win_updates options, and the parsing of recorded win_updates results of every shape.

The results (fixtures/win_updates_results.json) follow ansible.windows 3.3.0's action plugin
(run() and _get_update_info()); no Windows host ran here.
"""

import json
import os

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline as bl
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import windows_updates as wu
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.patch import make_patch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def results():
    with open(os.path.join(FIXTURES, "win_updates_results.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def searched():
    with open(os.path.join(FIXTURES, "win_updates_searched.json")) as handle:
        return wu.build_patches(json.load(handle), make_patch)


def windows_baseline(**extra):
    base = {"name": "win", "operating_system": "WINDOWS",
            "approval_rules": [{"classifications": ["CriticalUpdates", "SecurityUpdates"], "severities": ["*"]}]}
    base.update(extra)
    return bl.validate(base)


# -- options ---------------------------------------------------------------------------------------

def test_install_options_accept_exactly_the_approved_kbs(searched):
    approved = bl.approved_patches(searched, windows_baseline(), "2024-02-01")
    assert sorted(p["name"] for p in approved) == ["KB5034127", "KB5034863"]
    options = wu.install_options(approved)
    # anchored: win_updates matches entries as unanchored regexes against title and KB
    assert options == {"state": "installed", "category_names": ["*"], "accept_list": ["^KB5034127$", "^KB5034863$"],
                       "reboot": False, "server_selection": "default"}


def test_an_empty_accept_list_is_refused():
    with pytest.raises(wu.WindowsUpdatesError, match="empty accept_list would install every update"):
        wu.install_options([])


def test_a_patch_without_kb_cannot_be_installed_by_kb():
    with pytest.raises(wu.WindowsUpdatesError, match="'Intel - System' has no KB number"):
        wu.install_options([{"name": "Intel - System", "advisories": []}])


@pytest.mark.parametrize("kb,regex", [("KB5034127", "^KB5034127$"), ("5034127", "^KB5034127$"), ("kb890830", "^KB890830$")])
def test_kb_regex(kb, regex):
    assert wu.kb_regex(kb) == regex


def test_search_options():
    assert wu.search_options() == {"state": "searched", "category_names": ["*"], "server_selection": "default"}
    narrow = wu.search_options(windows_baseline(), scope="baseline", server_selection="managed_server")
    assert narrow["category_names"] == ["Security Updates", "Critical Updates"]
    assert narrow["server_selection"] == "managed_server"
    # an approved_patches list can approve any category: search them all
    assert wu.search_options(windows_baseline(approved_patches=["KB890830"]), scope="baseline")["category_names"] == ["*"]
    with pytest.raises(wu.WindowsUpdatesError, match="server_selection: 'wsus'"):
        wu.search_options(server_selection="wsus")


def test_baseline_windows_vocabulary_title_globs_and_days(searched):
    baseline = windows_baseline(
        approval_rules=[{"classifications": ["SecurityUpdates", "CriticalUpdates"], "severities": ["*"], "approve_after_days": 7},
                        {"classifications": ["UpdateRollups"], "severities": ["*"]}],
        approved_patches=["*Defender Antivirus*"], rejected_patches=["*Servicing Stack*"])
    decisions = dict((p["name"], bl.decide(p, baseline, "2024-01-12")) for p in searched)
    assert "approved_patches entry '*Defender Antivirus*'" in decisions["KB2267602"]["reason"]
    assert decisions["KB5034863"]["rejected"] and "'*Servicing Stack*'" in decisions["KB5034863"]["reason"]
    assert not decisions["KB5034127"]["approved"]      # released 2024-01-09: 3 days < 7
    assert bl.decide(dict(searched[0], name="KB5034127"), baseline, "2024-01-16")["approved"]
    assert decisions["KB890830"]["approved"]           # an update rollup, no delay


def test_manifest_of_an_earlier_run_gives_the_exact_kbs(searched):
    baseline = windows_baseline(approved_manifest=[{"name": "KB5034127", "version": "0b3c3a5b-9f73-4b5e-9d31-8d5f6c7e2c11"}])
    approved = [p["name"] for p in bl.approved_patches(searched, baseline, "2024-02-01")]
    assert approved == ["KB5034127"]                   # KB5034863 matches the rules but not the manifest


# -- results ---------------------------------------------------------------------------------------

APPROVED = [{"name": "KB5034127"}, {"name": "KB5034863"}, {"name": "KB5033907"}, {"name": "KB2267602"}]


def test_nothing_found(results):
    summary = wu.install_summary(results["nothing_found"], APPROVED)
    assert summary["status"] == "nothing_found" and summary["installed"] == [] and not summary["reboot_required"]


def test_some_installed(results):
    summary = wu.install_summary(results["some_installed"], APPROVED)
    assert summary["status"] == "installed"
    assert [i["kb"] for i in summary["installed"]] == ["KB2267602", "KB5033907"]
    assert summary["unexpected"] == [] and summary["failed"] == []


def test_reboot_required(results):
    summary = wu.install_summary(results["reboot_required"], APPROVED)
    assert summary["status"] == "installed" and summary["reboot_required"] is True
    assert summary["installed"][0] == {"kb": "KB5034127", "title": summary["installed"][0]["title"],
                                       "update_id": "0b3c3a5b-9f73-4b5e-9d31-8d5f6c7e2c11"}


def test_failed_kb(results):
    summary = wu.install_summary(results["failed_kb"], APPROVED)
    assert summary["status"] == "failed"
    assert [i["kb"] for i in summary["installed"]] == ["KB5034863"]
    assert summary["failed"][0]["kb"] == "KB5034127" and summary["failed"][0]["hresult"] == 2149842967
    assert "WU_E_NOT_APPLICABLE" in summary["failed"][0]["message"]
    assert summary["message"].startswith("Failed to install updates; KB5034127: Operation was not performed")


def test_connection_lost(results):
    summary = wu.install_summary(results["connection_lost"], APPROVED)
    assert summary["status"] == "connection_lost" and "Read timed out" in summary["message"]
    assert summary["installed"] == []


def test_an_installed_kb_that_was_not_approved_is_flagged(results):
    summary = wu.install_summary(results["some_installed"], [{"name": "KB5033907"}])
    assert summary["unexpected"] == ["KB2267602"]
    assert wu.loop_decision(1, 5, ["KB5034127"], summary)["outcome"] == "failed"


# -- the install -> reboot -> search loop --------------------------------------------------------

def test_pending_kbs_from_a_search(results):
    search = {"updates": dict(results["connection_lost"]["updates"], **results["some_installed"]["updates"])}
    assert wu.pending_kbs(search, APPROVED) == ["KB5034127"]     # the installed ones are not pending


@pytest.mark.parametrize("shape,pending,kwargs,again,outcome,words", [
    ("reboot_required", [], {}, False, "done", "no approved KB left pending after 2 round(s)"),
    ("reboot_required", ["KB5034863"], {}, True, "continue", "still pending after round 2: KB5034863"),
    ("reboot_required", ["KB5034863"], {"cutoff_passed": True}, False, "stopped", "cutoff passed"),
    ("reboot_required", ["KB5034863"], {"round_limit": 2}, False, "stopped", "loop limit (2 rounds)"),
    ("reboot_required", ["KB5034863"], {"reboot_pending": True}, False, "stopped", "reboot policy forbids it"),
    ("failed_kb", ["KB5034127"], {}, False, "failed", "round 2 failed"),
    ("nothing_found", ["KB5034127"], {}, False, "failed", "installed nothing and needs no reboot"),
    ("connection_lost", ["KB5034127"], {}, True, "continue", "still pending"),
])
def test_loop_decision(results, shape, pending, kwargs, again, outcome, words):
    summary = wu.install_summary(results[shape], APPROVED)
    decision = wu.loop_decision(2, kwargs.pop("round_limit", 5), pending, summary, **kwargs)
    assert (decision["again"], decision["outcome"]) == (again, outcome)
    assert words in decision["reason"]


@pytest.mark.parametrize("shape,pending,status,note", [
    ("reboot_required", [], "changed", None),                 # installed the last KB
    ("reboot_required", ["KB5034863"], "changed", None),      # installed one, another still pending
    ("failed_kb", ["KB5034127"], "failed", None),
    ("connection_lost", ["KB5034127"], "ok", None),           # nothing known to be installed yet: the retry decides
    # pending at the scan, nothing installed now, nothing pending: an earlier attempt of the run installed them
    ("nothing_found", [], "changed", "already installed when the round began"),
])
def test_round_status_never_judges_a_host_compliant_when_its_approved_kbs_went_in(results, shape, pending, status, note):
    summary = wu.install_summary(results[shape], APPROVED)
    got = wu.round_status(summary, wu.loop_decision(1, 5, pending, summary))
    assert got["status"] == status
    assert (got["note"] is None) if note is None else (note in got["note"]), got


# -- rollback ------------------------------------------------------------------------------------

def test_uninstall_commands_newest_first():
    assert wu.uninstall_commands([{"name": "KB5034863"}, {"name": "KB5034127"}]) == [
        "wusa.exe /uninstall /kb:5034863 /quiet /norestart", "wusa.exe /uninstall /kb:5034127 /quiet /norestart"]


@pytest.mark.parametrize("rc,status,reboot,words", [
    (0, "removed", False, "removed"), (3010, "removed", True, "removed"),
    (2359303, "not_installed", False, "was not installed"), (87, "failed", False, "cannot be uninstalled with wusa"),
])
def test_uninstall_outcome(rc, status, reboot, words):
    outcome = wu.uninstall_outcome("5034127", rc)
    assert (outcome["kb"], outcome["status"], outcome["reboot_required"]) == ("KB5034127", status, reboot)
    assert words in outcome["message"]
