"""The night with a mixed Linux + Windows inventory: the Debian hosts are patched for real, the
Windows hosts answer through the TEST-ONLY ansible.windows stand-in (tests/integration/test_only_collections,
recorded results, see its README.md). No Windows host and no PowerShell ran here.

The Windows hosts come from the collection's inventory plugin (on-prem file, platform windows) with
its WinRM connection variables (127.0.0.1:5986, where nothing listens in the test's network
namespace): any task that really connected would make them unreachable. What is checked: the
install -> reboot -> search loop, the retry after a WinRM drop, the accept lists and reboot timeout
the roles asked for, each round judging the host's window again, the EC2 snapshot set of a Windows
instance (in the fleet's moto), the wusa rollback, the CR notes, the ledger rows and the report.
"""

import json
import os
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from fleetlib import HOSTS, ROOT, expected_versions, installed, localfleet, run_playbook

pytestmark = pytest.mark.integration

REPLAY_COLLECTIONS = os.path.join(ROOT, "tests", "integration", "test_only_collections")
CVRF = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "fixtures", "msrc_cvrf_2024-Jan.json")
WINDOWS = ["win-1", "win-2", "win-3", "win-4", "win-5"]

SSU = ("1f2e3d4c-5b6a-4978-8a7b-6c5d4e3f2a10", "5034863", ["Critical Updates", "Windows Server 2019"],
       "2024-01 Servicing Stack Update for Windows Server 2019 for x64-based Systems (KB5034863)")
CU = ("0b3c3a5b-9f73-4b5e-9d31-8d5f6c7e2c11", "5034127", ["Security Updates", "Windows Server 2019"],
      "2024-01 Cumulative Update for Windows Server 2019 (1809) for x64-based Systems (KB5034127)")
MSRT = ("2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c99", "890830", ["Update Rollups", "Windows Server 2019"],
        "Windows Malicious Software Removal Tool x64 - v5.120 (KB890830)")
DOTNET = ("8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d", "5033907", ["Security Updates", "Windows Server 2019"],
          "2024-01 Cumulative Update for .NET Framework 3.5, 4.7.2 and 4.8 for Windows Server 2019 for x64 (KB5033907)")
PREVIEW = ("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "5034204", ["Security Updates", "Windows Server 2019"],
           "2024-01 Cumulative Update Preview for .NET Framework 3.5 and 4.8 for Windows Server 2019 (KB5034204)")


def update(spec, installed=False, failure=None):
    uid, kb, categories, title = spec
    entry = {"id": uid, "kb": [kb], "categories": categories, "title": title, "downloaded": installed, "installed": installed}
    if failure:
        entry.update(failure_hresult_code=failure[0], failure_msg=failure[1])
    return entry


def searched(*specs):
    return {"changed": False, "reboot_required": False, "rebooted": False, "found_update_count": len(specs),
            "failed_update_count": 0, "installed_update_count": 0, "filtered_updates": {},
            "updates": dict((s[0], update(s)) for s in specs), "_expect": {"state": "searched"}}


def installed_result(accept, *specs, reboot_required=True):
    return {"changed": True, "reboot_required": reboot_required, "rebooted": False, "found_update_count": len(specs),
            "failed_update_count": 0, "installed_update_count": len(specs), "filtered_updates": {},
            "updates": dict((s[0], update(s, installed=True)) for s in specs),
            "_expect": {"state": "installed", "accept_list": accept, "reboot": False, "category_names": ["*"]}}


PREFLIGHT = {"changed": False, "output": [{"system_drive": "C:", "free_mb": 20480, "reboot_pending_keys": []}], "error": [],
             "_expect": {}}
SERVICES = {"changed": False, "exists": True, "services": [
    {"name": "wuauserv", "state": "stopped", "start_mode": "manual"},
    {"name": "W3SVC", "state": "started", "start_mode": "auto"}]}
URI = {"changed": False, "status_code": 200, "content": "ok", "_expect": {"url": "http://localhost/health"}}
TCP = {"changed": False, "elapsed": 0, "_expect": {"port": 443}}
PS_OK = {"changed": False, "output": [], "error": [], "_expect": {"script": "Get-Item C:\\inetpub\\wwwroot\\web.config"}}
PS_BROKEN = {"failed": True, "changed": False, "output": [], "msg": "script threw",
             "error": [{"message": "Cannot find path 'C:\\inetpub\\wwwroot\\web.config'"}]}
REBOOT = {"changed": True, "rebooted": True, "elapsed": 312, "_expect": {"reboot_timeout": 3600}}
LOST = {"unreachable": True, "msg": "winrm connection error: Read timed out. (read timeout=30)", "updates": {}, "filtered_updates": {},
        "found_update_count": 0, "failed_update_count": 0, "installed_update_count": 0}

IISRESET = "C:\\Windows\\System32\\iisreset.exe"
WIN4_HOOKS = {"pre_patch": [{"name": "stop IIS", "command": [IISRESET, "/stop"], "timeout": 120}],
              "post_patch": [{"name": "start IIS", "command": [IISRESET, "/start"], "timeout": 120}]}


def hook_ran(stdout, argv, timeout):
    """What roles/hooks/files/run_step.ps1 returns through win_powershell (the parameters it must get)."""
    return {"changed": True, "output": [{"rc": 0, "timed_out": False, "stdout": stdout, "stderr": ""}], "error": [],
            "_expect": {"parameters": {"Argv": argv, "Script": "", "Timeout": timeout}}}


HOOK_STOP_IIS = hook_ran("Internet services successfully stopped", [IISRESET, "/stop"], 120)
HOOK_START_IIS = hook_ran("Internet services successfully started", [IISRESET, "/start"], 120)

RECORDINGS = {
    # servicing stack first, a WinRM drop during the first install, the cumulative update in round 2
    "win-1": {
        "win_powershell": [PREFLIGHT, PS_OK, PS_OK],
        "win_service_info": [SERVICES, SERVICES, SERVICES],
        "win_uri": [URI, URI],
        "win_wait_for": [TCP, TCP],
        "win_updates": [
            searched(SSU, CU, MSRT, PREVIEW),                                   # scan
            LOST,                                                               # round 1, connection lost
            installed_result(["^KB5034127$", "^KB5034863$"], SSU),              # round 1, retried
            searched(CU, MSRT, PREVIEW),                                        # round 1, after the reboot
            installed_result(["^KB5034127$"], CU),                              # round 2
            searched(MSRT, PREVIEW),                                            # round 2, after the reboot
            searched(MSRT, PREVIEW),                                            # rescan
        ],
        "win_reboot": [REBOOT, REBOOT],
    },
    # one round; the PowerShell check breaks after it: the KB is uninstalled with wusa
    "win-2": {
        "win_powershell": [PREFLIGHT, PS_OK, PS_BROKEN, PS_OK],
        "win_service_info": [SERVICES, SERVICES, SERVICES, SERVICES],
        "win_uri": [URI, URI, URI],
        "win_wait_for": [TCP, TCP, TCP],
        "win_updates": [
            searched(CU, MSRT),
            installed_result(["^KB5034127$"], CU),
            searched(MSRT),
        ],
        "win_reboot": [REBOOT, REBOOT],
        "win_command": [{"changed": True, "rc": 3010, "stdout": "", "stderr": "",
                         "_expect": {"argv": ["wusa.exe", "/uninstall", "/kb:5034127", "/quiet", "/norestart"]}}],
    },
    # round 1 installs the .NET update, round 2's cumulative update fails: the .NET update is uninstalled
    "win-3": {
        "win_powershell": [PREFLIGHT, PS_OK, PS_OK],
        "win_service_info": [SERVICES, SERVICES, SERVICES],
        "win_uri": [URI, URI],
        "win_wait_for": [TCP, TCP],
        "win_updates": [
            searched(CU, DOTNET),
            installed_result(["^KB5033907$", "^KB5034127$"], DOTNET, reboot_required=False),
            searched(CU),
            dict(installed_result(["^KB5034127$"], reboot_required=False), failed=True, msg="Failed to install updates",
                 failed_update_count=1, installed_update_count=0,
                 updates={CU[0]: update(CU, failure=(2149842967, "WU_E_NOT_APPLICABLE 0x80240017"))}),
            searched(CU),
        ],
        "win_command": [{"changed": True, "rc": 0, "stdout": "", "stderr": "",
                         "_expect": {"argv": ["wusa.exe", "/uninstall", "/kb:5033907", "/quiet", "/norestart"]}}],
    },
    # the approved cumulative update is pending at the scan but already installed when the round begins
    # (as on a host whose install an earlier, killed attempt of the run made but never recorded):
    # patched, not re-judged compliant
    # and its pre_patch / post_patch hook pair (IIS stopped, then started: roles/hooks/files/run_step.ps1
    # through win_powershell) runs around the install, as on a Linux host
    "win-4": {
        "win_powershell": [PREFLIGHT, PS_OK, HOOK_STOP_IIS, PS_OK, HOOK_START_IIS],
        "win_service_info": [SERVICES, SERVICES, SERVICES],
        "win_uri": [URI, URI],
        "win_wait_for": [TCP, TCP],
        "win_updates": [
            searched(CU, MSRT),
            dict(installed_result(["^KB5034127$"], reboot_required=False), changed=False),
            searched(MSRT),
            searched(MSRT),
        ],
    },
    # the same hook pair; the install fails and installs nothing: the host ends failed, nothing to uninstall,
    # and its post_patch steps still run (they undo what pre_patch did)
    "win-5": {
        "win_powershell": [PREFLIGHT, PS_OK, HOOK_STOP_IIS, HOOK_START_IIS],
        "win_service_info": [SERVICES, SERVICES],
        "win_uri": [URI],
        "win_wait_for": [TCP],
        "win_updates": [
            searched(CU, MSRT),
            dict(installed_result(["^KB5034127$"], reboot_required=False), failed=True, msg="Failed to install updates",
                 failed_update_count=1, installed_update_count=0,
                 updates={CU[0]: update(CU, failure=(2149842967, "WU_E_NOT_APPLICABLE 0x80240017"))}),
            searched(CU),
        ],
    },
}

INVENTORY = """\
plugin: fleetpatch.hybrid.patch_groups
strict: true
sources:
  onprem:
    files: [windows_hosts.yml]
"""
HOSTS_FILE = {"defaults": {"platform": "windows", "os_family": "windows", "os_version": "10.0.17763",
                           "patch_group": "win-prod", "environment": "Prod", "address": "127.0.0.1"},
              "hosts": [{"name": "win-1"}, {"name": "win-2"}, {"name": "win-3"}, {"name": "win-4"}, {"name": "win-5"}]}
GROUP_VARS = {
    "fleetpatch_baseline": {"name": "windows-security", "operating_system": "WINDOWS",
                            "approval_rules": [{"classifications": ["SecurityUpdates", "CriticalUpdates"], "severities": ["*"]}],
                            "rejected_patches": ["*Preview*"]},
    "fleetpatch_msrc_cvrf": [CVRF],
    "fleetpatch_health_checks": [
        {"type": "service", "service": "W3SVC"},
        {"type": "http", "url": "http://localhost/health"},
        {"type": "tcp", "port": 443},
        {"type": "powershell", "name": "web.config present", "script": "Get-Item C:\\inetpub\\wwwroot\\web.config"}],
    "patch_windows_connection_delay": 0,
    "scan_windows_connection_delay": 0,
    "validate_delay": 0,
    "validate_retries": 0,
}


# win-1 is an EC2 instance in the fleet's AWS simulation, listed in the on-prem file with its instance id
# and the ec2 snapshot provider: the same EC2 snapshot set as a Linux instance. Stopped, so that the demo
# inventory (running instances) of this and later tests does not list it.
ENDPOINT = "http://127.0.0.1:5000"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def ec2():
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def calls(replay, host, module):
    with open(os.path.join(replay, "calls.jsonl")) as handle:
        return [c for c in map(json.loads, handle) if c["host"] == host and c["module"] == module]


@pytest.fixture(scope="module")
def night(fleet, tmp_path_factory):
    before, after = expected_versions()
    for name in HOSTS.values():
        localfleet("reset", name)
    inventory = tmp_path_factory.mktemp("windows_inventory")
    (inventory / "windows.patch_groups.yml").write_text(INVENTORY)
    client = ec2()
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium")["Instances"][0]["InstanceId"]
    client.stop_instances(InstanceIds=[instance])
    hosts_file = dict(HOSTS_FILE, hosts=[dict(HOSTS_FILE["hosts"][0], instance_id=instance, snapshot_provider="ec2")]
                      + HOSTS_FILE["hosts"][1:])
    (inventory / "windows_hosts.yml").write_text(json.dumps(hosts_file))
    (inventory / "group_vars").mkdir()
    # every Windows host in one window, opened a minute ago for 24 hours: the rounds judge its cutoff
    opened = (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(microsecond=0)
    window = {"schedule": "at(%s)" % opened.strftime("%Y-%m-%dT%H:%M:%S"), "timezone": "UTC", "duration": 24, "cutoff": 0}
    (inventory / "group_vars" / "platform_windows.yml").write_text(json.dumps(dict(GROUP_VARS, fleetpatch_maintenance_window=window)))
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "win-4.yml").write_text(json.dumps({"fleetpatch_hooks": WIN4_HOOKS}))
    (inventory / "host_vars" / "win-5.yml").write_text(json.dumps({"fleetpatch_hooks": WIN4_HOOKS}))
    (inventory / "host_vars" / "win-1.yml").write_text(json.dumps({
        "fleetpatch_region": "us-east-1", "snapshot_ec2_endpoint_url": ENDPOINT,
        "preflight_ssm_agent": "skip"}))    # the agent check has its own tests (moto lacks DescribeInstanceInformation)
    replay = tmp_path_factory.mktemp("windows_replay")
    for host, recorded in RECORDINGS.items():
        (replay / ("%s.json" % host)).write_text(json.dumps(recorded))
    os.environ["FLEETPATCH_TEST_WINDOWS_REPLAY"] = str(replay)
    saved = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    # the test-only stand-in first, then this collection (ansible.cfg's path), then the bundle's
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([REPLAY_COLLECTIONS, os.path.join(ROOT, ".cache", "collections")])
    try:
        run = run_playbook(str(tmp_path_factory.mktemp("night")), "-i", str(inventory / "windows.patch_groups.yml"),
                           "-e", "fleetpatch_targets=" + ":".join(sorted(HOSTS) + WINDOWS), env_extra=AWS_ENV)
    finally:
        client.terminate_instances(InstanceIds=[instance])
        os.environ.pop("FLEETPATCH_TEST_WINDOWS_REPLAY")
        if saved is None:
            os.environ.pop("ANSIBLE_COLLECTIONS_PATH")
        else:
            os.environ["ANSIBLE_COLLECTIONS_PATH"] = saved
    run.replay = str(replay)
    run.instance = instance
    run.cutoff_at = opened + timedelta(hours=24)
    run.snapshots = client.describe_snapshots(Filters=[{"Name": "tag:fleetpatch:instance-id", "Values": [instance]}])["Snapshots"]
    run.expected = after
    run.output = run.stdout[-6000:] + run.stderr[-3000:]
    with open(os.path.join(run.outdir, "ansible-output.txt"), "w") as handle:
        handle.write(run.stdout + run.stderr)
    return run


def latest(run, host, phase, columns="status, message, data"):
    """The host's last row of the phase: the ledger is append-only, and a phase can have several rows
    (one per round of patch and reboot; validate's health baseline before the patch, then its verdict)."""
    rows = run.rows("SELECT %s FROM host_phases WHERE run_id=? AND host=? AND phase=? ORDER BY id DESC LIMIT 1" % columns,
                    run.run_id, host, phase)
    assert rows, "no %s row for %s" % (phase, host)
    return rows[0]


def statuses(run):
    return dict((h["name"], h["status"]) for h in run.report["hosts"])


def test_linux_hosts_patched_for_real_beside_windows(night):
    for host, name in HOSTS.items():
        assert installed(name) == night.expected[host], night.output
    got = statuses(night)
    assert dict((h, got[h]) for h in HOSTS) == dict((h, "patched") for h in HOSTS), got


def test_windows_statuses_and_no_real_connection(night):
    got = statuses(night)
    assert (got["win-1"], got["win-2"], got["win-3"], got["win-4"], got["win-5"]) == (
        "patched", "rolled_back", "rolled_back", "patched", "failed"), night.output
    # nothing listens on 127.0.0.1:5986: a task that connected would have left the host unreachable
    assert night.rows("SELECT COUNT(*) FROM host_phases WHERE run_id=? AND status='unreachable'", night.run_id) == [(0,)]
    assert "UNREACHABLE" not in night.stdout


def test_scan_maps_kbs_with_cves_from_the_cvrf_document(night):
    (data,) = latest(night, "win-1", "scan", "data")
    patches = dict((p["name"], p) for p in json.loads(data)["patches"])
    assert sorted(patches) == ["KB5034127", "KB5034204", "KB5034863", "KB890830"]
    assert patches["KB5034127"]["cves"] == ["CVE-2024-20674", "CVE-2024-20699"]
    assert patches["KB5034127"]["severity"] == "critical" and patches["KB5034127"]["release_date"] == "2024-01-09"
    (data,) = latest(night, "win-1", "approve", "data")
    assert json.loads(data)["approved"] == ["KB5034127", "KB5034863"]   # the preview is rejected by title, MSRT not a security update


def test_reboot_loop_retry_and_exact_accept_lists(night):
    installs = [c for c in calls(night.replay, "win-1", "win_updates") if c["args"].get("state") == "installed"]
    # round 1 twice (the WinRM drop, then the retry), round 2 once; each only the approved KBs still pending
    assert [c["args"]["accept_list"] for c in installs] == [["^KB5034127$", "^KB5034863$"]] * 2 + [["^KB5034127$"]]
    assert all(c["args"]["reboot"] is False for c in installs)
    reboots = calls(night.replay, "win-1", "win_reboot")
    assert [c["args"]["reboot_timeout"] for c in reboots] == [3600, 3600]
    (data, status) = latest(night, "win-1", "patch", "data, status")
    rounds = json.loads(data)["rounds"]
    assert status == "changed"
    assert [(r["round"], r["installed"], r["connection_retries"], r["rebooted"], r["still_pending"]) for r in rounds] == [
        (1, ["KB5034863"], 1, True, ["KB5034127"]), (2, ["KB5034127"], 0, True, [])]
    # each round judged the host's own window again (the night's plan: its group's window), before its cutoff
    assert [datetime.fromisoformat(r["cutoff_at"]) for r in rounds] == [night.cutoff_at] * 2, rounds
    (data,) = latest(night, "win-1", "reboot", "data")
    assert [r["reboot_seconds"] for r in json.loads(data)["rounds"]] == [312, 312]
    # every recorded result was used: no round more, no search less
    recorded = RECORDINGS["win-1"]["win_updates"]
    assert len(calls(night.replay, "win-1", "win_updates")) == len(recorded)


def test_the_ec2_windows_instance_gets_the_same_snapshot_set(night):
    (status, message, data) = latest(night, "win-1", "snapshot")
    assert status == "ok", message
    assert (json.loads(data)["provider"], json.loads(data)["details"]["instance_id"]) == ("ec2", night.instance), data
    ids = json.loads(data)["ids"]
    assert ids and sorted(ids) == sorted(s["SnapshotId"] for s in night.snapshots), (data, night.snapshots)
    tags = dict((t["Key"], t["Value"]) for t in night.snapshots[0]["Tags"])
    assert (tags["fleetpatch:run-id"], tags["fleetpatch:patch-group"]) == (night.run_id, "win-prod"), tags
    # the on-prem Windows hosts have no provider: their rollback is the wusa uninstall
    assert latest(night, "win-2", "snapshot", "status")[0] == "skipped"


def test_rescan_proves_the_kbs_and_the_report_lists_them(night):
    hosts = dict((h["name"], h) for h in night.report["hosts"])
    patched = dict((c["name"], c) for c in hosts["win-1"]["patched"])
    assert sorted(patched) == ["KB5034127", "KB5034863"]
    assert patched["KB5034127"]["to"] == "0b3c3a5b-9f73-4b5e-9d31-8d5f6c7e2c11"
    assert night.rows("SELECT status FROM host_phases WHERE run_id=? AND host='win-1' AND phase='rescan'", night.run_id) == [("ok",)]


def test_failed_validation_uninstalls_the_kb_with_wusa(night):
    (wusa,) = calls(night.replay, "win-2", "win_command")
    assert wusa["args"]["argv"] == ["wusa.exe", "/uninstall", "/kb:5034127", "/quiet", "/norestart"]
    assert len(calls(night.replay, "win-2", "win_reboot")) == 2       # after the install, after the uninstall (3010)
    (status, message, data) = latest(night, "win-2", "rollback")
    assert (status, message) == ("changed", "KB uninstall done and the health checks pass"), message
    assert json.loads(data)["reason"] == "validation failed; no snapshot, uninstalling the KBs this run installed (KB5034127)"
    assert json.loads(data)["plan"]["removed"] == ["KB5034127"]
    # the health baseline before the patch, then the failed check after it (the rollback row carries the recheck)
    assert night.rows("SELECT status FROM host_phases WHERE run_id=? AND host='win-2' AND phase='validate' ORDER BY id",
                      night.run_id) == [("skipped",), ("failed",)]


def test_change_request_of_the_windows_group_noted_and_closed(night):
    (number, state, hosts, outcomes) = night.rows(
        "SELECT number, state, hosts, host_outcomes FROM change_requests WHERE run_id=? AND patch_group='win-prod'", night.run_id)[0]
    assert sorted(json.loads(hosts)) == WINDOWS and state == "closed"
    expected = {"win-1": "patched", "win-2": "rolled_back", "win-3": "rolled_back", "win-4": "patched", "win-5": "failed"}
    assert json.loads(outcomes) == expected
    notes = [text for (text,) in night.rows("SELECT text FROM change_request_notes WHERE number=?", number)]
    assert any("patched" in text and "win-1" in text for text in notes), notes


def test_a_failed_kb_stops_the_rounds_and_uninstalls_what_they_installed(night):
    (status, message, data) = latest(night, "win-3", "patch")
    assert status == "failed" and "round 2 failed" in message and "WU_E_NOT_APPLICABLE" in message, message
    rounds = json.loads(data)["rounds"]
    assert [(r["round"], r["installed"], r["failed"], r["rebooted"]) for r in rounds] == [
        (1, ["KB5033907"], [], False), (2, [], ["KB5034127"], False)]
    (wusa,) = calls(night.replay, "win-3", "win_command")
    assert wusa["args"]["argv"] == ["wusa.exe", "/uninstall", "/kb:5033907", "/quiet", "/norestart"]
    assert calls(night.replay, "win-3", "win_reboot") == []          # wusa exited 0: no reboot needed
    (status, data) = latest(night, "win-3", "rollback", "status, data")
    assert status == "changed" and json.loads(data)["plan"]["removed"] == ["KB5033907"]


def test_kbs_already_in_place_at_the_install_are_patched_not_rejudged_compliant(night):
    (status, message, data) = latest(night, "win-4", "patch")
    assert status == "changed", message
    assert "already installed when the round began" in message, message
    assert [(r["round"], r["installed"], r["still_pending"]) for r in json.loads(data)["rounds"]] == [(1, [], [])]
    assert calls(night.replay, "win-4", "win_reboot") == []          # nothing asked for a reboot


def test_a_windows_hosts_hook_pair_runs_around_its_install(night):
    """pre_patch after the snapshot and before the install, post_patch after validation and before the
    rescan, each step through win_powershell with the runner script and its argv (recorded, no Windows host)."""
    hooks = [c for c in calls(night.replay, "win-4", "win_powershell") if "Argv" in (c["args"].get("parameters") or {})]
    assert [c["args"]["parameters"]["Argv"] for c in hooks] == [[IISRESET, "/stop"], [IISRESET, "/start"]]
    assert all("taskkill.exe /T /F /PID" in c["args"]["script"] for c in hooks)
    rows = night.rows("SELECT phase, status, data FROM host_phases WHERE run_id=? AND host='win-4' ORDER BY id", night.run_id)
    order = [phase for phase, dummy, dummy2 in rows]
    last = dict((p, i) for i, p in enumerate(order))
    assert last["snapshot"] < order.index("pre_patch") < last["pre_patch"] < order.index("patch"), order
    assert last["validate"] < order.index("post_patch") < last["post_patch"] < order.index("rescan"), order
    outcomes = [json.loads(data) for phase, status, data in rows if phase in ("pre_patch", "post_patch")]
    assert [o.get("outcome") for o in outcomes if "outcome" in o] == ["ok", "ok"], outcomes
    assert any(o.get("output", "").startswith("Internet services successfully stopped") for o in outcomes), outcomes


def test_a_failed_install_that_installed_nothing_still_runs_the_post_patch_undo(night):
    (status, message, dummy) = latest(night, "win-5", "patch")
    assert status == "failed" and "WU_E_NOT_APPLICABLE" in message, message
    hooks = [c for c in calls(night.replay, "win-5", "win_powershell") if "Argv" in (c["args"].get("parameters") or {})]
    assert [c["args"]["parameters"]["Argv"] for c in hooks] == [[IISRESET, "/stop"], [IISRESET, "/start"]]
    order = [p for (p,) in night.rows("SELECT phase FROM host_phases WHERE run_id=? AND host='win-5' ORDER BY id", night.run_id)]
    assert order.index("pre_patch") < order.index("patch") < order.index("post_patch"), order
    assert "rollback" not in order and "rescan" not in order, order          # nothing was installed to take back
    assert calls(night.replay, "win-5", "win_command") == []               # no wusa
