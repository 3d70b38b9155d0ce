# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 snapshot sets of an instance and their restore (private to the collection, free to change).

No Ansible import: the module hands in a boto3 EC2 client and amazon.aws's retry decorator.
Every call goes through that decorator; waiting uses botocore's waiters where EC2 has one
(snapshot completed, volume available/in use, instance stopped/running) and a bounded poll
where it has none (replace-root-volume tasks). Each wait ends with an Ec2SnapshotError naming
what did not finish and after how long.
"""

from __future__ import annotations

import math
import time

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import snapshot as policy

try:
    from botocore.exceptions import WaiterError
except ImportError:  # the module reports a missing botocore before any call
    WaiterError = Exception

RESTORE_SCOPES = ("all", "root", "data")
_TASK_DONE = ("succeeded",)
_TASK_FAILED = ("failed", "failed-detached")


class Ec2SnapshotError(Exception):
    """A failure with a message for the operator and the details to return with it."""

    def __init__(self, message, **details):
        super(Ec2SnapshotError, self).__init__(message)
        self.details = details


def _tag_list(tags):
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


class Ec2Snapshots(object):
    def __init__(self, client, retry=None, sleep=time.sleep, clock=time.monotonic, delay=15):
        self.client = client
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.delay = delay

    def call(self, name, **kwargs):
        method = getattr(self.client, name)
        return (self.retry(method) if self.retry else method)(**kwargs)

    def paginate(self, name, key, **kwargs):
        def pages():
            return self.client.get_paginator(name).paginate(**kwargs).build_full_result()
        return (self.retry(pages) if self.retry else pages)().get(key, [])

    # --- reading ---------------------------------------------------------------------------

    def instance(self, instance_id):
        reservations = self.call("describe_instances", InstanceIds=[instance_id])["Reservations"]
        instances = [i for r in reservations for i in r["Instances"]]
        if not instances:
            raise Ec2SnapshotError("instance %s not found" % instance_id)
        return instances[0]

    @staticmethod
    def volumes_of(instance):
        """[{device, volume_id, root, delete_on_termination}] of the instance's EBS volumes."""
        root = instance.get("RootDeviceName")
        return [{"device": m["DeviceName"], "volume_id": m["Ebs"]["VolumeId"], "root": m["DeviceName"] == root,
                 "delete_on_termination": bool(m["Ebs"].get("DeleteOnTermination"))}
                for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]

    def run_snapshots(self, run_id, instance_id=None):
        """The snapshots this run made (of one instance, or of all when instance_id is None)."""
        filters = [{"Name": "tag:%s" % policy.TAG_MANAGED_BY, "Values": [policy.MANAGED_BY]},
                   {"Name": "tag:%s" % policy.TAG_RUN_ID, "Values": [run_id]}]
        if instance_id:
            filters.append({"Name": "tag:%s" % policy.TAG_INSTANCE, "Values": [instance_id]})
        found = self.paginate("describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=filters)
        # the server filtered by tag; check again so nothing without our tags can slip through
        return [s for s in found if policy.is_ours(s.get("Tags"), run_id)
                and (instance_id is None or policy.tag_dict(s.get("Tags")).get(policy.TAG_INSTANCE) == instance_id)]

    # --- taking a snapshot set ---------------------------------------------------------------

    def create_set(self, instance, tags, description, exclude_boot_volume=False, copy_volume_tags=False):
        """One crash-consistent set of the instance's EBS volumes (create_snapshots), each tagged with its device."""
        params = {"InstanceSpecification": {"InstanceId": instance["InstanceId"], "ExcludeBootVolume": bool(exclude_boot_volume)},
                  "Description": description,
                  "TagSpecifications": [{"ResourceType": "snapshot", "Tags": _tag_list(tags)}]}
        if copy_volume_tags:
            params["CopyTagsFromSource"] = "volume"
        made = self.call("create_snapshots", **params)["Snapshots"]
        devices = dict((v["volume_id"], v["device"]) for v in self.volumes_of(instance))
        for snap in made:
            device = devices.get(snap.get("VolumeId"))
            if device:
                # the device lets a restore find where the volume belongs even after volumes were swapped
                self.call("create_tags", Resources=[snap["SnapshotId"]], Tags=[{"Key": policy.TAG_DEVICE, "Value": device}])
                snap.setdefault("Tags", []).append({"Key": policy.TAG_DEVICE, "Value": device})
        return made

    def wait_snapshots(self, snapshot_ids, timeout):
        if not snapshot_ids:
            return []
        delay = self._delay(timeout)
        waiter = self.client.get_waiter("snapshot_completed")
        try:
            waiter.wait(SnapshotIds=list(snapshot_ids), OwnerIds=["self"],
                        WaiterConfig={"Delay": delay, "MaxAttempts": self._attempts(timeout, delay)})
        except WaiterError as exc:
            last = getattr(exc, "last_response", None) or {}
            states = ["%s %s %s" % (s["SnapshotId"], s.get("State"), s.get("Progress", "")) for s in last.get("Snapshots", [])]
            broken = [s for s in last.get("Snapshots", []) if s.get("State") == "error"]
            if broken:
                raise Ec2SnapshotError("snapshot %s failed: %s" % (broken[0]["SnapshotId"], broken[0].get("StateMessage", "state error")),
                                       snapshot_states=states)
            if "Max attempts exceeded" in str(exc):
                raise Ec2SnapshotError("snapshots %s did not complete within %d s (%s); raise wait_timeout or set wait: false"
                                       % (", ".join(snapshot_ids), timeout, "; ".join(states) or "no state read"),
                                       snapshot_states=states)
            raise Ec2SnapshotError("waiting for snapshots %s failed: %s" % (", ".join(snapshot_ids), exc), snapshot_states=states)
        return self.paginate("describe_snapshots", "Snapshots", SnapshotIds=list(snapshot_ids), OwnerIds=["self"])

    def delete(self, snapshot_ids):
        for snapshot_id in snapshot_ids:
            self.call("delete_snapshot", SnapshotId=snapshot_id)

    # --- restore -----------------------------------------------------------------------------

    def volume(self, volume_id):
        return self.call("describe_volumes", VolumeIds=[volume_id])["Volumes"][0]

    def root_tasks(self, instance_id):
        return self.paginate("describe_replace_root_volume_tasks", "ReplaceRootVolumeTasks",
                             Filters=[{"Name": "instance-id", "Values": [instance_id]}])

    def replace_root(self, instance_id, snapshot_id, tags, delete_replaced=False):
        task = self.call("create_replace_root_volume_task", InstanceId=instance_id, SnapshotId=snapshot_id,
                         DeleteReplacedRootVolume=bool(delete_replaced),
                         TagSpecifications=[{"ResourceType": "replace-root-volume-task", "Tags": _tag_list(tags)}])
        return task["ReplaceRootVolumeTask"]

    def wait_root_task(self, task_id, timeout):
        """Poll the replace-root-volume task (EC2 has no waiter for it) until it ends or the timeout."""
        delay = self._delay(timeout)
        deadline = self.clock() + timeout
        while True:
            tasks = self.call("describe_replace_root_volume_tasks", ReplaceRootVolumeTaskIds=[task_id])["ReplaceRootVolumeTasks"]
            state = tasks[0]["TaskState"] if tasks else "missing"
            if state in _TASK_DONE:
                return tasks[0]
            if state in _TASK_FAILED or state == "missing":
                raise Ec2SnapshotError("replace-root-volume task %s ended in state %s" % (task_id, state), task=tasks[0] if tasks else None)
            if self.clock() + delay > deadline:
                raise Ec2SnapshotError("replace-root-volume task %s did not finish within %d s (state %s); raise wait_timeout"
                                       % (task_id, timeout, state), task=tasks[0])
            self.sleep(delay)

    def wait(self, waiter_name, timeout, what, **kwargs):
        delay = self._delay(timeout)
        try:
            self.client.get_waiter(waiter_name).wait(WaiterConfig={"Delay": delay, "MaxAttempts": self._attempts(timeout, delay)},
                                                     **kwargs)
        except WaiterError as exc:
            if "Max attempts exceeded" in str(exc):
                raise Ec2SnapshotError("%s did not happen within %d s; raise wait_timeout" % (what, timeout))
            raise Ec2SnapshotError("%s failed: %s" % (what, exc))

    def volume_from_snapshot(self, snapshot_id, like, zone, tags):
        """A new volume from the snapshot with the type and performance of the volume it replaces."""
        params = {"SnapshotId": snapshot_id, "AvailabilityZone": zone, "VolumeType": like.get("VolumeType", "gp3"),
                  "TagSpecifications": [{"ResourceType": "volume", "Tags": _tag_list(tags)}]}
        if like.get("VolumeType") in ("io1", "io2", "gp3") and like.get("Iops"):
            params["Iops"] = like["Iops"]
        if like.get("VolumeType") == "gp3" and like.get("Throughput"):
            params["Throughput"] = like["Throughput"]
        return self.call("create_volume", **params)

    def _delay(self, timeout):
        return max(0, min(self.delay, timeout))

    @staticmethod
    def _attempts(timeout, delay):
        return max(1, int(math.ceil(float(timeout) / delay)) + 1) if delay else max(1, int(timeout) + 1)


# --- what the module does ---------------------------------------------------------------------

def describe(snap):
    tags = policy.tag_dict(snap.get("Tags"))
    return {"snapshot_id": snap["SnapshotId"], "volume_id": snap.get("VolumeId"), "device": tags.get(policy.TAG_DEVICE),
            "state": snap.get("State"), "progress": snap.get("Progress"), "volume_size": snap.get("VolumeSize"),
            "start_time": snap["StartTime"].isoformat() if hasattr(snap.get("StartTime"), "isoformat") else snap.get("StartTime"),
            "tags": tags}


def ensure_present(api, params, now, check_mode=False):
    """Find the run's snapshot set of the instance, or take one; wait for it when asked."""
    instance_id, run_id = params["instance_id"], params["run_id"]
    tags = policy.snapshot_tags(run_id, now, params["retention_days"], instance_id=instance_id,
                                cr_number=params.get("cr_number"), patch_group=params.get("patch_group"), extra=params.get("tags"))
    existing = [s for s in api.run_snapshots(run_id, instance_id) if s.get("State") != "error"]
    result = {"changed": False, "instance_id": instance_id, "run_id": run_id, "tags": tags, "expires_at": tags[policy.TAG_EXPIRES]}
    if existing:
        snaps = existing
        tags = policy.tag_dict(existing[0].get("Tags"))
        result.update(tags=dict((k, v) for k, v in tags.items() if k != policy.TAG_DEVICE), expires_at=tags.get(policy.TAG_EXPIRES))
    else:
        instance = api.instance(instance_id)
        volumes = api.volumes_of(instance)
        if params.get("exclude_boot_volume"):
            volumes = [v for v in volumes if not v["root"]]
        if not volumes:
            raise Ec2SnapshotError("instance %s has no EBS volume to snapshot" % instance_id)
        result["changed"] = True
        if check_mode:
            result.update(snapshots=[], would_create=volumes)
            return result
        description = params.get("description") or "%s %s %s" % (policy.MANAGED_BY, run_id, instance_id)
        snaps = api.create_set(instance, tags, description, params.get("exclude_boot_volume"), params.get("copy_volume_tags"))
    if params.get("wait") and not check_mode and any(s.get("State") != "completed" for s in snaps):
        snaps = api.wait_snapshots([s["SnapshotId"] for s in snaps], params["wait_timeout"])
    result["snapshots"] = [describe(s) for s in snaps]
    return result


def ensure_absent(api, params, now, check_mode=False):
    """Delete the run's snapshots (of one instance, or all), all of them or only the expired ones."""
    found = api.run_snapshots(params["run_id"], params.get("instance_id"))
    mode = "expired" if params.get("only_expired") else "all"
    choice = policy.select_for_deletion([{"id": s["SnapshotId"], "tags": s.get("Tags")} for s in found],
                                        params["run_id"], now, mode=mode, instance_id=params.get("instance_id"))
    if not check_mode:
        api.delete(choice["delete"])
    return {"changed": bool(choice["delete"]), "run_id": params["run_id"], "instance_id": params.get("instance_id"),
            "deleted": choice["delete"], "kept": [{"snapshot_id": k["id"], "reason": k["reason"]} for k in choice["keep"]]}


def restore(api, params, check_mode=False):
    """Put the run's snapshots back: the root volume by a replace-root-volume task, data volumes by a swap.

    Data volumes go first (the instance is stopped for the swap and started again), then the root
    (the task restarts the instance itself). A volume that already comes from our snapshot is
    left alone, so a rerun finishes a restore instead of repeating it.
    """
    instance_id, run_id, scope = params["instance_id"], params["run_id"], params.get("restore_volumes") or "all"
    snaps = [s for s in api.run_snapshots(run_id, instance_id) if s.get("State") == "completed"]
    if not snaps:
        raise Ec2SnapshotError("no completed snapshot of run %s for instance %s: nothing to restore from" % (run_id, instance_id))
    instance = api.instance(instance_id)
    by_device = dict((v["device"], v) for v in api.volumes_of(instance))
    root_device = instance.get("RootDeviceName")
    plan = {"root": None, "data": []}
    for snap in snaps:
        device = policy.tag_dict(snap.get("Tags")).get(policy.TAG_DEVICE)
        current = by_device.get(device)
        if device is None or current is None:
            raise Ec2SnapshotError("snapshot %s of run %s has no device of instance %s to restore to (%s tag: %s)"
                                   % (snap["SnapshotId"], run_id, instance_id, policy.TAG_DEVICE, device))
        volume = api.volume(current["volume_id"])
        step = {"device": device, "snapshot_id": snap["SnapshotId"], "old_volume_id": current["volume_id"],
                "done": volume.get("SnapshotId") == snap["SnapshotId"]}
        if device == root_device:
            if scope in ("all", "root"):
                plan["root"] = step
        elif scope in ("all", "data"):
            step["volume"] = volume
            step["delete_on_termination"] = current["delete_on_termination"]
            plan["data"].append(step)
    todo_data = [s for s in plan["data"] if not s["done"]]
    todo_root = plan["root"] if plan["root"] and not plan["root"]["done"] else None
    result = {"changed": bool(todo_data or todo_root), "instance_id": instance_id, "run_id": run_id,
              "restore": {"root": _public(plan["root"]), "data": [_public(s) for s in plan["data"]]}}
    if check_mode or not result["changed"]:
        return result
    tags = {policy.TAG_MANAGED_BY: policy.MANAGED_BY, policy.TAG_RUN_ID: run_id, policy.TAG_INSTANCE: instance_id}
    if todo_data:
        _swap_data_volumes(api, instance, todo_data, tags, params)
    if todo_root:
        _replace_root(api, instance_id, todo_root, tags, params)
    result["restore"] = {"root": _public(plan["root"]), "data": [_public(s) for s in plan["data"]]}
    return result


def _public(step):
    if step is None:
        return None
    return dict((k, v) for k, v in step.items() if k not in ("volume",))


def _swap_data_volumes(api, instance, steps, tags, params):
    instance_id, timeout = instance["InstanceId"], params["wait_timeout"]
    running = instance["State"]["Name"] == "running"
    if running and not params.get("stop_instance", True):
        raise Ec2SnapshotError("instance %s is running and restoring data volumes %s needs it stopped: set stop_instance: true "
                               "or restore_volumes: root" % (instance_id, ", ".join(s["device"] for s in steps)))
    zone = instance["Placement"]["AvailabilityZone"]
    for step in steps:
        new = api.volume_from_snapshot(step["snapshot_id"], step["volume"], zone,
                                       dict(tags, **{policy.TAG_RESTORED_FROM: step["snapshot_id"], policy.TAG_DEVICE: step["device"]}))
        step["new_volume_id"] = new["VolumeId"]
    api.wait("volume_available", timeout, "new volumes %s available" % ", ".join(s["new_volume_id"] for s in steps),
             VolumeIds=[s["new_volume_id"] for s in steps])
    if running:
        api.call("stop_instances", InstanceIds=[instance_id])
        api.wait("instance_stopped", timeout, "instance %s stopped" % instance_id, InstanceIds=[instance_id])
    for step in steps:
        api.call("detach_volume", VolumeId=step["old_volume_id"], InstanceId=instance_id, Device=step["device"])
        api.wait("volume_available", timeout, "volume %s detached" % step["old_volume_id"], VolumeIds=[step["old_volume_id"]])
        api.call("attach_volume", VolumeId=step["new_volume_id"], InstanceId=instance_id, Device=step["device"])
        api.wait("volume_in_use", timeout, "volume %s attached at %s" % (step["new_volume_id"], step["device"]),
                 VolumeIds=[step["new_volume_id"]])
        if step["delete_on_termination"]:
            api.call("modify_instance_attribute", InstanceId=instance_id,
                     BlockDeviceMappings=[{"DeviceName": step["device"], "Ebs": {"DeleteOnTermination": True}}])
        step["done"] = True
    if running:
        api.call("start_instances", InstanceIds=[instance_id])
        api.wait("instance_running", timeout, "instance %s running again" % instance_id, InstanceIds=[instance_id])


def _replace_root(api, instance_id, step, tags, params):
    mine = [t for t in api.root_tasks(instance_id)
            if t.get("SnapshotId") == step["snapshot_id"] and t.get("TaskState") not in _TASK_FAILED]
    task = mine[0] if mine else api.replace_root(instance_id, step["snapshot_id"], tags, params.get("delete_replaced_volumes"))
    step["task_id"] = task["ReplaceRootVolumeTaskId"]
    if params.get("wait", True):
        task = api.wait_root_task(task["ReplaceRootVolumeTaskId"], params["wait_timeout"])
        step["done"] = True
    step["task_state"] = task.get("TaskState")
