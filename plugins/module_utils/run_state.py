# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's state off the runner: its ledger, report and approved manifest kept at fleetpatch_state_url.

AWX and Automation Platform throw the runner's disk away after every job, so a run's files live at
`s3://bucket/prefix/<run id>/` (or `<local path>/<run id>/`):

    ledger.db      the SQLite run ledger (the engine stays SQLite; S3 holds a consistent copy of it)
    report.json    the night's report
    manifest.json  the approved manifest: the exact versions the night's hosts were patched to, which a
                   later night (Dev -> Prod) approves
    claim.json     which night holds the run, and its last sign of life

Two nights on one run id must not overwrite each other's ledger: every write is conditional. A night
claims the run with a conditional create (If-None-Match: *) or a conditional replace of a claim that
lapsed or that the operator takes over (If-Match: its ETag); each later write first renews the claim
with If-Match, so a night that lost its claim fails before it writes anything, with a message saying
who holds the run. The ledger object is written with If-Match too (If-None-Match: * the first time).

Pure Python, no Ansible import; S3 through module_utils.aws (one retry policy, TLS verification on).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import uuid
from datetime import datetime, timezone

from ansible_collections.fleetpatch.hybrid.plugins.module_utils import baseline

LEDGER = "ledger.db"
REPORT = "report.json"
MANIFEST = "manifest.json"
CLAIM = "claim.json"
LOCAL_STATE = ".fleetpatch-state.json"   # this night's token and ETags, beside the working copy
DEFAULT_LEASE_SECONDS = 3600
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$")


class StateError(Exception):
    """Bad input or a refused write: the message says what happened and what to do."""


class Conflict(StateError):
    """A conditional write was refused: someone else wrote the object since we read it."""


# --------------------------------------------------------------------------- URLs


def parse_url(url):
    """{"kind": "s3", "bucket", "prefix"} for s3://bucket[/prefix], else {"kind": "path", "path"}."""
    if not isinstance(url, str) or not url.strip():
        raise StateError("fleetpatch_state_url: expected s3://bucket/prefix or a local directory, got %r" % (url,))
    url = url.strip()
    if url.startswith("s3://"):
        bucket, dummy, prefix = url[5:].partition("/")
        if not BUCKET.match(bucket) or ".." in bucket:
            raise StateError("fleetpatch_state_url: %r is not an S3 bucket name (3-63 lower case letters, digits, "
                             "dots and hyphens), in %s" % (bucket, url))
        return {"kind": "s3", "bucket": bucket, "prefix": prefix.strip("/")}
    if "://" in url and not url.startswith("file://"):
        raise StateError("fleetpatch_state_url: %s: only s3:// URLs and local paths are supported" % url)
    return {"kind": "path", "path": os.path.abspath(url[7:] if url.startswith("file://") else url)}


def check_run_id(run_id):
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise StateError("run id %r cannot name a state folder: use letters, digits and _ . : + - "
                         "(at most 128, starting with a letter or digit)" % (run_id,))
    return run_id


# --------------------------------------------------------------------------- stores


class PathStore(object):
    """Objects as files under a directory; conditional writes under an exclusive lock, ETag = sha256."""

    def __init__(self, root):
        self.root = root

    def where(self, key):
        return os.path.join(self.root, key)

    def get(self, key):
        try:
            with open(self.where(key), "rb") as handle:
                body = handle.read()
        except FileNotFoundError:
            return None, None
        return body, _digest(body)

    def put(self, key, body, if_match=None, if_none_match=False):
        path = self.where(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.path.join(os.path.dirname(path), ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current, etag = self.get(key)
            if if_none_match and current is not None:
                raise Conflict("%s exists" % path)
            if if_match is not None and etag != if_match:
                raise Conflict("%s changed" % path)
            handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(tmp, path)
        return _digest(body)

    def describe(self, key):
        return self.where(key)


class S3Store(object):
    """Objects in S3 through module_utils.aws: `aws` is that module, `client` an S3 client."""

    def __init__(self, aws, client, bucket, prefix):
        self.aws = aws
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        model = client.meta.service_model.operation_model("PutObject").input_shape.members
        if "IfMatch" not in model or "IfNoneMatch" not in model:
            raise StateError("fleetpatch_state_url on S3 needs conditional writes (PutObject If-Match), which this "
                             "botocore lacks: pip install 'boto3>=1.36' 'botocore>=1.36'")

    def key(self, key):
        return "%s/%s" % (self.prefix, key) if self.prefix else key

    def get(self, key):
        try:
            answer = self.aws.call(self.client.get_object, Bucket=self.bucket, Key=self.key(key))
        except self.aws.AwsError as exc:
            if exc.code in ("NoSuchKey", "404"):
                return None, None
            raise StateError("cannot read %s: %s" % (self.describe(key), exc))
        return answer["Body"].read(), answer["ETag"]

    def put(self, key, body, if_match=None, if_none_match=False):
        params = {"Bucket": self.bucket, "Key": self.key(key), "Body": body}
        if if_match is not None:
            params["IfMatch"] = if_match
        elif if_none_match:
            params["IfNoneMatch"] = "*"
        try:
            return self.aws.call(self.client.put_object, **params)["ETag"]
        except self.aws.AwsError as exc:
            # 412 PreconditionFailed; 409 ConditionalRequestConflict (a concurrent conditional write); a
            # replace with If-Match of an object deleted meanwhile: NoSuchKey
            if exc.code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"):
                raise Conflict("%s: %s" % (self.describe(key), exc))
            raise StateError("cannot write %s: %s" % (self.describe(key), exc))

    def describe(self, key):
        return "s3://%s/%s" % (self.bucket, self.key(key))


def _digest(body):
    return hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------- claims


def parse_time(text):
    return datetime.fromisoformat(text)


def utcnow():
    return datetime.now(timezone.utc).replace(microsecond=0)


def judge_claim(claim, now, takeover=False):
    """None when a night may claim the run, else the reason it may not (the message for the operator).

    A run may be claimed when nobody holds it, when its holder finished, when the holder's last sign of
    life is older than its lease (a killed job), or when the operator takes it over.
    """
    if claim is None or claim.get("state") != "running" or takeover:
        return None
    seen = parse_time(claim["heartbeat_at"])
    lease = int(claim.get("lease_seconds") or DEFAULT_LEASE_SECONDS)
    age = int((now - seen).total_seconds())
    if age > lease:
        return None
    return ("run %s is held by another night (%s), which claimed it at %s; its last sign of life was %s, %d s ago "
            "(a claim lapses after %d s without one). Two nights on one run id would overwrite each other's ledger, "
            "so this one stops here. Wait for that night to finish; if it is dead (a killed job), rerun with "
            "-e fleetpatch_state_takeover=true" % (claim["run_id"], claim.get("holder") or "unknown holder",
                                                   claim["claimed_at"], claim["heartbeat_at"], age, lease))


def _claim_body(claim):
    return json.dumps(claim, sort_keys=True, indent=1).encode()


class RunState(object):
    """One run's state folder in a store, and this night's working copy in `workdir`."""

    def __init__(self, store, run_id, workdir, url):
        self.store = store
        self.run_id = check_run_id(run_id)
        self.url = url
        self.local = isinstance(store, PathStore)
        # this night's own folder: its claim record, and for S3 the working copy of the run's files
        self.night_dir = os.path.join(workdir, self.run_id)
        # a local store holds the ledger itself (SQLite works on it in place)
        self.workdir = store.where(self.run_id) if self.local else self.night_dir

    def _key(self, name):
        return "%s/%s" % (self.run_id, name)

    def paths(self):
        return {name: os.path.join(self.workdir, name) for name in (LEDGER, REPORT, MANIFEST)}

    # -- local bookkeeping: this night's token and the ETags it last wrote

    def _book_path(self):
        return os.path.join(self.night_dir, LOCAL_STATE)

    def _book(self):
        try:
            with open(self._book_path()) as handle:
                book = json.load(handle)
        except (OSError, ValueError):
            raise StateError("this night has not claimed run %s at %s (its claim record %s is missing): open the "
                             "state first (fleetpatch.hybrid.run_state action=open)" % (self.run_id, self.url,
                                                                                        self._book_path()))
        return book

    def _save_book(self, book):
        os.makedirs(self.night_dir, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.night_dir, prefix=".state.")
        with os.fdopen(handle, "w") as out:
            json.dump(book, out)
        os.replace(tmp, self._book_path())

    # -- open: claim the run, fetch its ledger

    def open(self, holder, now=None, lease_seconds=DEFAULT_LEASE_SECONDS, takeover=False):
        now = now or utcnow()
        body, claim_etag = self.store.get(self._key(CLAIM))
        previous = json.loads(body) if body else None
        refusal = judge_claim(previous, now, takeover)
        if refusal:
            raise StateError(refusal)
        claim = {"run_id": self.run_id, "token": uuid.uuid4().hex, "state": "running", "holder": holder,
                 "claimed_at": now.isoformat(), "heartbeat_at": now.isoformat(), "lease_seconds": int(lease_seconds)}
        try:
            etag = self.store.put(self._key(CLAIM), _claim_body(claim), if_match=claim_etag,
                                  if_none_match=claim_etag is None)
        except Conflict:
            raise StateError("another night claimed run %s at %s at the same moment as this one; two nights on one "
                             "run id would overwrite each other's ledger, so this one stops here" % (self.run_id, self.url))
        resumed = False
        ledger_etag = None
        os.makedirs(self.workdir, exist_ok=True)
        if not self.local:
            ledger, ledger_etag = self.store.get(self._key(LEDGER))
            if ledger is not None:
                _write_file(self.paths()[LEDGER], ledger)
                resumed = True
            for name in (REPORT, MANIFEST):  # an earlier job's files are not this one's
                if os.path.exists(self.paths()[name]):
                    os.unlink(self.paths()[name])
        else:
            resumed = os.path.exists(self.paths()[LEDGER])
        self._save_book({"token": claim["token"], "claim": claim, "claim_etag": etag, "ledger_etag": ledger_etag})
        return {"resumed": resumed, "took_over": previous if previous and previous.get("state") == "running" else None,
                "paths": self.paths(), "claim": claim}

    # -- sync: renew the claim, then write the ledger (and the report and manifest when given)

    def sync(self, now=None, report=None, manifest=None, finish=False):
        now = now or utcnow()
        book = self._book()
        claim = dict(book["claim"], heartbeat_at=now.isoformat())
        if finish:
            claim.update(state="finished", finished_at=now.isoformat())
        try:
            book["claim_etag"] = self.store.put(self._key(CLAIM), _claim_body(claim), if_match=book["claim_etag"])
        except Conflict:
            body, dummy = self.store.get(self._key(CLAIM))
            holder = json.loads(body) if body else {}
            raise StateError("this night no longer holds run %s at %s: %s claimed it at %s (a takeover, or this "
                             "night's claim lapsed). It stops here without writing, so the two nights do not overwrite "
                             "each other's ledger; the other night carries on" % (
                                 self.run_id, self.url, holder.get("holder") or "another night",
                                 holder.get("claimed_at") or "an unknown time"))
        book["claim"] = claim
        written = []
        if not self.local:
            try:
                book["ledger_etag"] = self.store.put(self._key(LEDGER), snapshot(self.paths()[LEDGER]),
                                                     if_match=book["ledger_etag"],
                                                     if_none_match=book["ledger_etag"] is None)
            except Conflict:
                raise StateError("the ledger of run %s at %s was written by someone else since this night read it; "
                                 "this night stops without overwriting it" % (self.run_id, self.url))
            written.append(self.store.describe(self._key(LEDGER)))
        for name, content in ((REPORT, report), (MANIFEST, manifest)):
            if content is None:
                continue
            body = json.dumps(content, indent=1, sort_keys=True).encode()
            if self.local:
                _write_file(self.paths()[name], body)
            else:
                self.store.put(self._key(name), body)
            written.append(self.store.describe(self._key(name)))
        self._save_book(book)
        return {"written": written, "claim": claim}

    # -- fetch: another run's files (read only; no claim)

    def fetch(self, names):
        out = {}
        for name in names:
            body, dummy = self.store.get(self._key(name))
            if body is None:
                out[name] = None
                continue
            path = os.path.join(self.workdir, name)
            if not self.local:
                _write_file(path, body)
            out[name] = path
        return out

    def location(self, name=None):
        return self.store.describe(self._key(name)) if name else self.store.describe(self.run_id)


def _write_file(path, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
    with os.fdopen(handle, "wb") as out:
        out.write(body)
    os.replace(tmp, path)


def snapshot(path):
    """A consistent copy of a SQLite database in WAL mode, as bytes (SQLite's online backup)."""
    if not os.path.exists(path):
        raise StateError("there is no ledger at %s to keep" % path)
    handle, tmp = tempfile.mkstemp(prefix=".ledger-snapshot.", dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        source = sqlite3.connect(path, timeout=30)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        with open(tmp, "rb") as copy:
            return copy.read()
    finally:
        os.unlink(tmp)


def manifest_entries(report, patch_group=None):
    """The approved manifest of a night, [{name, version}] sorted: the versions its patched hosts went to, read
    as baseline.manifest_from_report reads a report (an empty list when nothing was patched)."""
    try:
        manifest = baseline.manifest_from_report(report, patch_group)
    except baseline.BaselineError:
        return []
    return [{"name": name, "version": version} for name in sorted(manifest) for version in sorted(manifest[name])]


def workflow_stats(report, location):
    """What a night hands the next node of an AWX workflow (set_stats): its run id, the host counts by
    status, the CVEs closed, the change request numbers and where its report is."""
    hosts = report.get("hosts") or []
    counts = {}
    for host in hosts:
        counts[host["status"]] = counts.get(host["status"], 0) + 1
    return {
        "fleetpatch_result_run_id": report.get("run_id"),
        "fleetpatch_result_host_counts": dict(sorted(counts.items())),
        "fleetpatch_result_cves_closed": sorted({cve for host in hosts for cve in host.get("cves_closed") or []}),
        "fleetpatch_result_change_requests": [cr["number"] for cr in report.get("change_requests") or [] if cr.get("number")],
        "fleetpatch_result_report_location": location,
    }
