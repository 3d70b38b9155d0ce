from datetime import datetime, timezone

import pytest

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import snapshot as s

NOW = datetime(2026, 11, 27, 2, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("hostvars, policy, provider", [
    ({"fleetpatch_source": "ec2", "fleetpatch_instance_id": "i-0abc1234"}, "required", "ec2"),
    ({"fleetpatch_source": "ssm", "fleetpatch_instance_id": "i-0abc1234"}, "best_effort", "ec2"),
    ({"fleetpatch_source": "ssm", "fleetpatch_instance_id": "mi-0123456789abcdef0"}, "best_effort", "package_state"),
    ({"fleetpatch_source": "onprem", "fleetpatch_vmware_uuid": "4212-abcd"}, "required", "vmware"),
    ({"fleetpatch_source": "onprem", "fleetpatch_vmware_name": "web-1"}, "required", "vmware"),
    ({"fleetpatch_source": "onprem", "fleetpatch_snapshot_lvm_volumes": ["vg0/root"]}, "best_effort", "lvm"),
    ({"fleetpatch_source": "onprem"}, "best_effort", "package_state"),
    ({"fleetpatch_source": "onprem", "fleetpatch_platform": "windows"}, "best_effort", "none"),
    # an explicit provider wins over what the host looks like
    ({"fleetpatch_source": "ec2", "fleetpatch_instance_id": "i-0abc1234", "fleetpatch_snapshot_provider": "package_state"},
     "required", "package_state"),
    # policy none means no snapshot at all, whatever the host
    ({"fleetpatch_source": "ec2", "fleetpatch_instance_id": "i-0abc1234"}, "none", "none"),
    ({}, "best_effort", "package_state"),
    (None, "best_effort", "package_state"),
])
def test_choose_provider(hostvars, policy, provider):
    choice = s.choose_provider(hostvars, policy)
    assert choice["provider"] == provider
    assert choice["reason"]


@pytest.mark.parametrize("hostvars, policy, fragment", [
    ({"fleetpatch_snapshot_provider": "zfs"}, "required", "fleetpatch_snapshot_provider 'zfs' is not one of"),
    ({"fleetpatch_source": "ec2"}, "required", "fleetpatch_instance_id None is not an EC2 instance id"),
    ({"fleetpatch_source": "ec2", "fleetpatch_instance_id": "mi-0123"}, "required", "is not an EC2 instance id"),
    ({}, "always", "snapshot policy 'always' is not one of required, best_effort, none"),
])
def test_choose_provider_rejects_bad_vars(hostvars, policy, fragment):
    with pytest.raises(s.SnapshotError) as err:
        s.choose_provider(hostvars, policy)
    assert fragment in str(err.value)


@pytest.mark.parametrize("policy, provider, ok, applies, status, proceed, warns", [
    ("required", "ec2", True, True, "ok", True, False),
    ("required", "ec2", False, True, "failed", False, False),      # a failed snapshot stops the host
    # best effort forgives a provider that does not apply, never one that failed (issue #18: no
    # silent downgrade of protection, e.g. access denied in the host's account)
    ("best_effort", "ec2", False, True, "failed", False, False),
    ("best_effort", "package_state", False, True, "failed", False, False),
    ("best_effort", "lvm", False, False, "skipped", True, True),   # LVM asked for, host has none
    ("required", "lvm", False, False, "failed", False, False),
    ("best_effort", "lvm", True, True, "ok", True, False),
    ("required", "none", True, True, "failed", False, False),      # required but nothing can snapshot: stop
    ("best_effort", "none", True, True, "skipped", True, True),
    ("none", "ec2", False, True, "skipped", True, False),          # policy none: never a reason to stop
])
def test_policy_outcome(policy, provider, ok, applies, status, proceed, warns):
    out = s.policy_outcome(policy, provider, ok, "CreateSnapshots: UnauthorizedOperation", applies)
    assert (out["status"], out["proceed"], bool(out["warning"])) == (status, proceed, warns)
    if not ok and policy != "none" and provider != "none":
        assert "UnauthorizedOperation" in out["message"]


def test_policy_outcome_rejects_unknown_values():
    with pytest.raises(s.SnapshotError, match="snapshot provider 'zfs'"):
        s.policy_outcome("required", "zfs", True)
    with pytest.raises(s.SnapshotError, match="snapshot policy 'maybe'"):
        s.policy_outcome("maybe", "ec2", True)


@pytest.mark.parametrize("provider, kind", [
    ("ec2", "snapshot"), ("vmware", "snapshot"), ("lvm", "snapshot"), ("package_state", "package_downgrade"), ("none", None)])
def test_restore_kind(provider, kind):
    assert s.restore_kind(provider) == kind


def test_snapshot_tags_mark_ours_with_expiry():
    tags = s.snapshot_tags("run-1", NOW, 7, instance_id="i-0abc1234", cr_number="CHG001", patch_group="web-prod",
                           extra={"Owner": "team-web"})
    assert tags == {
        "fleetpatch:managed-by": "fleetpatch.hybrid", "fleetpatch:run-id": "run-1",
        "fleetpatch:expires-at": "2026-12-04T02:00:00Z", "fleetpatch:instance-id": "i-0abc1234",
        "fleetpatch:cr": "CHG001", "fleetpatch:patch-group": "web-prod", "Owner": "team-web"}
    assert s.is_ours(tags, "run-1") and s.is_ours(tags) and not s.is_ours(tags, "run-2")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"run_id": "", "retention_days": 7}, "run_id is required"),
    ({"run_id": "r", "retention_days": -1}, "retention_days must be a whole number of days >= 0"),
    ({"run_id": "r", "retention_days": True}, "retention_days must be"),
    ({"run_id": "r", "retention_days": 7, "extra": {"fleetpatch:run-id": "other"}}, "'fleetpatch:run-id' is reserved"),
])
def test_snapshot_tags_reject_bad_input(kwargs, fragment):
    with pytest.raises(s.SnapshotError) as err:
        s.snapshot_tags(now=NOW, **kwargs)
    assert fragment in str(err.value)


@pytest.mark.parametrize("tags, ours", [
    ([{"Key": "fleetpatch:managed-by", "Value": "fleetpatch.hybrid"}, {"Key": "fleetpatch:run-id", "Value": "r"}], True),
    ([{"Key": "fleetpatch:run-id", "Value": "r"}], False),                       # no marker: someone copied our tag
    ([{"Key": "fleetpatch:managed-by", "Value": "fleetpatch.hybrid"}], False),   # no run id
    ([{"Key": "fleetpatch:managed-by", "Value": "other-tool"}, {"Key": "fleetpatch:run-id", "Value": "r"}], False),
    ([], False),
    (None, False),
])
def test_is_ours(tags, ours):
    assert s.is_ours(tags) is ours


def _snap(snap_id, run_id="run-1", expires="2026-11-20T00:00:00Z", instance="i-1", marker=True):
    tags = {"fleetpatch:run-id": run_id, "fleetpatch:instance-id": instance}
    if expires is not None:
        tags["fleetpatch:expires-at"] = expires
    if marker:
        tags["fleetpatch:managed-by"] = "fleetpatch.hybrid"
    return {"id": snap_id, "tags": tags}


SNAPS = [
    _snap("snap-expired"),
    _snap("snap-fresh", expires="2026-12-04T02:00:00Z"),
    _snap("snap-other-run", run_id="run-0"),
    _snap("snap-foreign", marker=False),
    _snap("snap-no-expiry", expires=None),
    _snap("snap-bad-expiry", expires="next tuesday"),
    _snap("snap-other-instance", instance="i-2"),
    {"id": "snap-untagged", "tags": []},
]


@pytest.mark.parametrize("mode, instance_id, deleted", [
    ("expired", None, ["snap-expired", "snap-other-instance"]),
    ("expired", "i-1", ["snap-expired"]),
    ("all", None, ["snap-expired", "snap-fresh", "snap-no-expiry", "snap-bad-expiry", "snap-other-instance"]),
    ("all", "i-1", ["snap-expired", "snap-fresh", "snap-no-expiry", "snap-bad-expiry"]),
])
def test_select_for_deletion_never_touches_foreign_or_other_runs(mode, instance_id, deleted):
    choice = s.select_for_deletion(SNAPS, "run-1", NOW, mode=mode, instance_id=instance_id)
    assert choice["delete"] == deleted
    kept = dict((k["id"], k["reason"]) for k in choice["keep"])
    assert set(kept) | set(deleted) == set(x["id"] for x in SNAPS)
    assert kept["snap-other-run"] == "belongs to run run-0"
    assert kept["snap-foreign"] == kept["snap-untagged"] == "not created by fleetpatch.hybrid"
    if mode == "expired":
        assert kept["snap-fresh"] == "expires at 2026-12-04T02:00:00Z"
        assert kept["snap-no-expiry"] == kept["snap-bad-expiry"] == "no readable fleetpatch:expires-at tag"


def test_select_for_deletion_needs_a_run_and_a_known_mode():
    with pytest.raises(s.SnapshotError, match="never deletes across runs"):
        s.select_for_deletion(SNAPS, None, NOW)
    with pytest.raises(s.SnapshotError, match="cleanup mode 'older'"):
        s.select_for_deletion(SNAPS, "run-1", NOW, mode="older")


@pytest.mark.parametrize("value, expected", [
    ("2026-12-04T02:00:00Z", datetime(2026, 12, 4, 2, tzinfo=timezone.utc)),
    ("2026-12-04T02:00:00+01:00", datetime(2026, 12, 4, 1, tzinfo=timezone.utc)),
    ("2026-12-04T02:00:00", datetime(2026, 12, 4, 2, tzinfo=timezone.utc)),
    ("", None), ("soon", None), (None, None), (42, None),
])
def test_parse_time(value, expected):
    assert s.parse_time(value) == expected


@pytest.mark.parametrize("requested, host_lvs, create, missing", [
    (["vg0/root", "vg0/var"], {"root": {"vg": "vg0", "size_g": "10"}, "var": {"vg": "vg0", "size_g": "5"}},
     [("vg0", "root", "root_fp_run-1", "10%ORIGIN"), ("vg0", "var", "var_fp_run-1", "10%ORIGIN")], []),
    ([{"vg": "vg0", "lv": "data", "size": "2g"}], {"data": {"vg": "vg0", "size_g": "50"}},
     [("vg0", "data", "data_fp_run-1", "2g")], []),
    (["vg1/root"], {"root": {"vg": "vg0", "size_g": "10"}}, [], ["vg1/root"]),   # right name, other VG
    (["vg0/root"], "N/A", [], ["vg0/root"]),                                     # host without LVM
    (["vg0/root"], [], [], ["vg0/root"]),
    (["vg1/root", "vg0/root"], ["  vg0/root", "vg0/swap"], [("vg0", "root", "root_fp_run-1", "10%ORIGIN")], ["vg1/root"]),
    ([], {"root": {"vg": "vg0"}}, [], []),
])
def test_lvm_plan(requested, host_lvs, create, missing):
    plan = s.lvm_plan(requested, host_lvs, "run-1")
    assert [(c["vg"], c["lv"], c["snapshot"], c["size"]) for c in plan["create"]] == create
    assert plan["missing"] == missing


@pytest.mark.parametrize("requested, fragment", [
    (["root"], "must be VG/LV"),
    ([{"vg": "vg0"}], "vg and lv must be LVM names"),
    (["vg0/ro ot"], "vg and lv must be LVM names"),
    ([42], "must be VG/LV or {vg, lv, size}"),
])
def test_lvm_plan_rejects_bad_requests(requested, fragment):
    with pytest.raises(s.SnapshotError) as err:
        s.lvm_plan(requested, {}, "run-1")
    assert fragment in str(err.value)


def test_lvm_snapshot_name_is_a_valid_lv_name():
    name = s.lvm_snapshot_name("root", "run 2026/11/27 #1")
    assert name == "root_fp_run_2026_11_27__1"
    assert len(s.lvm_snapshot_name("x" * 100, "r" * 100)) == 127


CONNECTION = {"hostname": "vcenter.example.com", "username": "svc-patch", "password": "s3cret"}


@pytest.mark.parametrize("vm, state, expected", [
    ({"datacenter": "dc1", "name": "web-1", "folder": "/dc1/vm/web"}, "present",
     {"hostname": "vcenter.example.com", "username": "svc-patch", "password": "s3cret", "validate_certs": True,
      "datacenter": "dc1", "name": "web-1", "folder": "/dc1/vm/web", "snapshot_name": "fleetpatch-run-1", "state": "present",
      "description": "fleetpatch.hybrid run run-1 CR CHG001 expires 2026-12-04T02:00:00Z", "quiesce": True, "memory_dump": False}),
    ({"datacenter": "dc1", "uuid": "4212-abcd"}, "revert",
     {"hostname": "vcenter.example.com", "username": "svc-patch", "password": "s3cret", "validate_certs": True,
      "datacenter": "dc1", "uuid": "4212-abcd", "snapshot_name": "fleetpatch-run-1", "state": "revert"}),
    ({"datacenter": "dc1", "moid": "vm-42"}, "absent",
     {"hostname": "vcenter.example.com", "username": "svc-patch", "password": "s3cret", "validate_certs": True,
      "datacenter": "dc1", "moid": "vm-42", "snapshot_name": "fleetpatch-run-1", "state": "absent", "remove_children": False}),
])
def test_vmware_snapshot_params(vm, state, expected):
    """The arguments for community.vmware.vmware_guest_snapshot; no vCenter runs here, so they are checked, not run."""
    params = s.vmware_snapshot_params(vm, CONNECTION, "run-1", state=state, now=NOW, retention_days=7, cr_number="CHG001")
    assert params == expected


def test_vmware_snapshot_params_match_the_module_options():
    """Every key we pass is an option of the installed community.vmware.vmware_guest_snapshot."""
    import yaml
    from ansible_collections.community.vmware.plugins.modules import vmware_guest_snapshot
    options = set(yaml.safe_load(vmware_guest_snapshot.DOCUMENTATION)["options"]) | {
        "hostname", "username", "password", "port", "validate_certs"}
    for state in ("present", "absent", "revert"):
        params = s.vmware_snapshot_params({"datacenter": "dc1", "name": "web-1", "folder": "/dc1/vm"},
                                          dict(CONNECTION, port=443), "run-1", state=state, now=NOW)
        assert set(params) <= options, set(params) - options


def test_vmware_memory_dump_turns_quiesce_off():
    params = s.vmware_snapshot_params({"datacenter": "dc1", "uuid": "u"}, CONNECTION, "run-1", now=NOW, memory_dump=True)
    assert (params["memory_dump"], params["quiesce"]) == (True, False)


@pytest.mark.parametrize("vm, connection, state, fragment", [
    ({"name": "web-1", "folder": "/dc1/vm"}, CONNECTION, "present", "fleetpatch_vmware_datacenter is required"),
    ({"datacenter": "dc1"}, CONNECTION, "present", "one of fleetpatch_vmware_name"),
    ({"datacenter": "dc1", "name": "web-1"}, CONNECTION, "present", "fleetpatch_vmware_folder is required"),
    ({"datacenter": "dc1", "uuid": "u"}, {"hostname": "vc", "username": "u"}, "present", "snapshot_vmware_password is required"),
    ({"datacenter": "dc1", "uuid": "u"}, CONNECTION, "remove_all", "vmware snapshot state 'remove_all'"),
])
def test_vmware_snapshot_params_reject_incomplete_input(vm, connection, state, fragment):
    with pytest.raises(s.SnapshotError) as err:
        s.vmware_snapshot_params(vm, connection, "run-1", state=state, now=NOW)
    assert fragment in str(err.value)


def test_host_plan_computes_only_the_chosen_providers_part():
    ec2 = s.host_plan({"fleetpatch_source": "ec2", "fleetpatch_instance_id": "i-0abc1234"}, "required", "run-1",
                      lvm_lvs=["vg0/root"], vmware_connection=CONNECTION)
    assert ec2 == {"provider": "ec2", "reason": "EC2 instance i-0abc1234", "restore": "snapshot", "lvm": None, "vmware": None}

    lvm = s.host_plan({"fleetpatch_snapshot_lvm_volumes": ["vg0/root", "vg0/srv"]}, "best_effort", "run-1",
                      lvm_lvs=["vg0/root"])
    assert lvm["lvm"] == {"create": [{"vg": "vg0", "lv": "root", "snapshot": "root_fp_run-1", "size": "10%ORIGIN"}],
                          "missing": ["vg0/srv"]}
    assert s.host_plan({"fleetpatch_snapshot_lvm_volumes": ["vg0/root"]}, "best_effort", "run-1")["lvm"] is None

    vmware = s.host_plan({"fleetpatch_vmware_datacenter": "dc1", "fleetpatch_vmware_uuid": "4212-abcd"}, "required", "run-1",
                         vmware_connection=CONNECTION, vmware_state="revert")
    assert vmware["vmware"]["uuid"] == "4212-abcd" and vmware["vmware"]["state"] == "revert"
    assert vmware["restore"] == "snapshot"
