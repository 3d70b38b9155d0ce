#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_instance_snapshot
short_description: Crash-consistent EBS snapshot set of an EC2 instance before a patch, its cleanup and its restore
version_added: 0.1.0
description:
  - V(present) takes one crash-consistent snapshot set of all the instance's EBS volumes
    (EC2 C(CreateSnapshots)), tags every snapshot with the run id, CR number, patch group, its
    expiry and the fleetpatch marker, and waits until the set is completed or O(wait_timeout)
    passes. It is idempotent per instance and run id - a rerun finds the run's snapshots
    instead of taking new ones.
  - V(absent) deletes the run's snapshots - all of them (the run went well) or, with
    O(only_expired), those past their C(fleetpatch:expires-at). It never deletes a snapshot
    without the fleetpatch tags or of another run.
  - V(restored) puts the run's snapshots back for a rollback - the root volume by a
    replace-root-volume task (the instance keeps its id, addresses and data volumes and is
    restarted by EC2), each data volume by a new volume from its snapshot swapped in at the same
    device (the instance is stopped for the swap and started again). Replaced volumes are kept
    unless O(delete_replaced_volumes).
  - Runs wherever the task runs; delegate it to the controller (C(delegate_to=localhost)).
author:
  - fleetpatch.hybrid developers (@fleetpatch)
options:
  instance_id:
    description: The EC2 instance. Required unless O(state=absent).
    type: str
  run_id:
    description: The patch night's run id, the key of idempotency and of cleanup.
    type: str
    required: true
  state:
    description: Take (V(present)), delete (V(absent)) or restore (V(restored)) the run's snapshot set.
    type: str
    choices: [present, absent, restored]
    default: present
  cr_number:
    description: The change request number, tagged as C(fleetpatch:cr).
    type: str
  patch_group:
    description: The host's patch group, tagged as C(fleetpatch:patch-group).
    type: str
  retention_days:
    description: Days until the snapshots expire (C(fleetpatch:expires-at)); a cleanup with O(only_expired) deletes them after.
    type: int
    default: 7
  tags:
    description: More tags for the snapshots. Keys starting with C(fleetpatch:) are reserved.
    type: dict
    default: {}
  description:
    description: The snapshots' description. Defaults to C(fleetpatch.hybrid RUN_ID INSTANCE_ID).
    type: str
  exclude_boot_volume:
    description: Leave the root volume out of the set.
    type: bool
    default: false
  copy_volume_tags:
    description: Copy each volume's tags to its snapshot (C(CopyTagsFromSource=volume)).
    type: bool
    default: false
  wait:
    description: Wait until the snapshots are completed (V(present)) or the restore has finished (V(restored)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each step before failing with a timeout error.
    type: int
    default: 1800
  only_expired:
    description: With V(absent), delete only the run's snapshots whose expiry has passed.
    type: bool
    default: false
  restore_volumes:
    description: With V(restored), which volumes to restore.
    type: str
    choices: [all, root, data]
    default: all
  stop_instance:
    description:
      - With V(restored), stop a running instance to swap its data volumes (and start it again).
        When V(false), a data volume restore of a running instance fails instead.
    type: bool
    default: true
  delete_replaced_volumes:
    description: With V(restored), let EC2 delete the root volume the task replaces. Data volumes swapped out are always kept.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetpatch.hybrid.aws_role
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Returns the volumes it would snapshot, the snapshots it would delete or the restore steps it would take.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Crash-consistent means all volumes are captured at the same instant, as after a power loss;
    applications that need application-consistent snapshots must flush before this runs.
  - Needs C(ec2:CreateSnapshots), C(ec2:DescribeSnapshots), C(ec2:CreateTags), C(ec2:DescribeInstances),
    and for cleanup C(ec2:DeleteSnapshot); for restore C(ec2:CreateReplaceRootVolumeTask),
    C(ec2:DescribeReplaceRootVolumeTasks), C(ec2:CreateVolume), C(ec2:DescribeVolumes),
    C(ec2:AttachVolume), C(ec2:DetachVolume), C(ec2:StopInstances), C(ec2:StartInstances),
    C(ec2:ModifyInstanceAttribute).
"""

EXAMPLES = r"""
- name: Snapshot the instance's volumes before patching
  fleetpatch.hybrid.ec2_instance_snapshot:
    instance_id: "{{ fleetpatch_instance_id }}"
    run_id: "{{ fleetpatch_run_id }}"
    cr_number: CHG0012345
    patch_group: web-prod
    retention_days: 7
    region: eu-west-1
  delegate_to: localhost
  register: snap

- name: Roll the instance back to the snapshots
  fleetpatch.hybrid.ec2_instance_snapshot:
    instance_id: "{{ fleetpatch_instance_id }}"
    run_id: "{{ fleetpatch_run_id }}"
    state: restored
    region: eu-west-1
  delegate_to: localhost

- name: The night went well - delete the run's snapshots
  fleetpatch.hybrid.ec2_instance_snapshot:
    run_id: "{{ fleetpatch_run_id }}"
    state: absent
    region: eu-west-1
  delegate_to: localhost
  run_once: true

- name: Janitor - delete what has expired of an earlier run
  fleetpatch.hybrid.ec2_instance_snapshot:
    run_id: run-20261120T020000Z
    state: absent
    only_expired: true
    region: eu-west-1
"""

RETURN = r"""
instance_id:
  description: The instance.
  returned: always
  type: str
  sample: i-0abc1234def567890
run_id:
  description: The run.
  returned: always
  type: str
  sample: run-20261127T020000Z
snapshots:
  description: The run's snapshot set of the instance (empty in check mode when it would be created).
  returned: when state is present
  type: list
  elements: dict
  contains:
    snapshot_id:
      description: The snapshot id.
      type: str
      sample: snap-0123456789abcdef0
    volume_id:
      description: The volume it was taken of.
      type: str
      sample: vol-0123456789abcdef0
    device:
      description: The device the volume was attached at.
      type: str
      sample: /dev/xvda
    state:
      description: pending, completed or error.
      type: str
      sample: completed
    progress:
      description: Progress of the snapshot.
      type: str
      sample: 100%
    volume_size:
      description: GiB of the volume.
      type: int
      sample: 8
    start_time:
      description: When the snapshot started (ISO 8601).
      type: str
      sample: "2026-11-27T02:10:00+00:00"
    tags:
      description: The snapshot's tags.
      type: dict
      sample: {"fleetpatch:run-id": "run-20261127T020000Z"}
  sample: [{snapshot_id: snap-0123456789abcdef0, volume_id: vol-0123456789abcdef0, device: /dev/xvda, state: completed}]
would_create:
  description: In check mode, the volumes a new set would capture.
  returned: when state is present, in check mode, and the run has no snapshot of the instance yet
  type: list
  elements: dict
  sample: [{device: /dev/xvda, volume_id: vol-0123456789abcdef0, root: true, delete_on_termination: true}]
tags:
  description: The fleetpatch tags of the set.
  returned: when state is present
  type: dict
  sample: {"fleetpatch:managed-by": fleetpatch.hybrid, "fleetpatch:run-id": run-20261127T020000Z,
           "fleetpatch:expires-at": "2026-12-04T02:10:00Z"}
expires_at:
  description: When the set expires.
  returned: when state is present
  type: str
  sample: "2026-12-04T02:10:00Z"
deleted:
  description: Snapshots deleted (or that would be, in check mode).
  returned: when state is absent
  type: list
  elements: str
  sample: [snap-0123456789abcdef0]
kept:
  description: Snapshots of the run that were kept, with the reason.
  returned: when state is absent
  type: list
  elements: dict
  sample: [{snapshot_id: snap-0123456789abcdef0, reason: "expires at 2026-12-04T02:10:00Z"}]
restore:
  description:
    - The restore steps - C(root) the replace-root-volume task (C(task_id), C(task_state)), C(data) each data
      volume swap (C(new_volume_id)); C(done) tells whether the volume now comes from the snapshot.
  returned: when state is restored
  type: dict
  sample: {root: {device: /dev/xvda, snapshot_id: snap-0123456789abcdef0, old_volume_id: vol-0123456789abcdef0,
                  task_id: replacevol-0123456789abcdef0, task_state: succeeded, done: true}, data: []}
"""

from datetime import datetime, timezone

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import _ec2_snapshot as ec2snap
from ansible_collections.fleetpatch.hybrid.plugins.module_utils import aws_roles
from ansible_collections.fleetpatch.hybrid.plugins.module_utils.snapshot import SnapshotError

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing library
    BotoCoreError = ClientError = Exception


def run(api, params, check_mode, now):
    if params["state"] == "present":
        return ec2snap.ensure_present(api, params, now, check_mode)
    if params["state"] == "absent":
        return ec2snap.ensure_absent(api, params, now, check_mode)
    return ec2snap.restore(api, params, check_mode)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_id=dict(type="str"),
            run_id=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "restored"]),
            cr_number=dict(type="str"),
            patch_group=dict(type="str"),
            retention_days=dict(type="int", default=7),
            tags=dict(type="dict", default={}),
            description=dict(type="str"),
            exclude_boot_volume=dict(type="bool", default=False),
            copy_volume_tags=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
            only_expired=dict(type="bool", default=False),
            restore_volumes=dict(type="str", default="all", choices=list(ec2snap.RESTORE_SCOPES)),
            stop_instance=dict(type="bool", default=True),
            delete_replaced_volumes=dict(type="bool", default=False),
            role_arn=dict(type="str"),
            external_id=dict(type="str"),
            role_session_name=dict(type="str", default=aws_roles.DEFAULT_SESSION_NAME),
        ),
        required_if=[("state", "present", ["instance_id"]), ("state", "restored", ["instance_id"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["instance_id"] and not params["instance_id"].startswith("i-"):
        module.fail_json(msg="instance_id %r is not an EC2 instance id (i-...)" % params["instance_id"])
    if params["wait_timeout"] < 1:
        module.fail_json(msg="wait_timeout must be at least 1 second, got %d" % params["wait_timeout"])
    target = params["instance_id"] or "all instances"
    try:
        role = aws_roles.role_spec(params["role_arn"], params["external_id"], params["role_session_name"])
        api = ec2snap.Ec2Snapshots(aws_roles.module_client(module, "ec2", role), retry=AWSRetry.jittered_backoff(retries=10))
        result = run(api, params, module.check_mode, datetime.now(timezone.utc))
    except aws_roles.RoleError as exc:
        module.fail_json(msg="EC2 snapshot %s of %s in run %s failed: %s" % (params["state"], target, params["run_id"], exc),
                         **exc.details())
    except SnapshotError as exc:
        module.fail_json(msg=str(exc))
    except ec2snap.Ec2SnapshotError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except (BotoCoreError, ClientError) as exc:
        denied = aws_roles.client_error_message(exc, "ec2", role) if hasattr(exc, "operation_name") else None
        if denied:
            module.fail_json(msg="EC2 snapshot %s of %s in run %s failed: %s" % (params["state"], target, params["run_id"], denied),
                             failure="access", account_id=aws_roles.role_account(params["role_arn"]),
                             role_arn=params["role_arn"], permission="ec2:%s" % exc.operation_name)
        module.fail_json_aws(exc, msg="EC2 snapshot %s of %s in run %s failed" % (params["state"], target, params["run_id"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
