"""A second, append-only copy of every signed checkpoint, outside the database.

Whoever holds the database can delete checkpoint rows along with the entries they seal: the table
alone then looks whole. So each checkpoint is also written, after its commit, to a place the
database's holder cannot rewrite (``AUDIT_CHECKPOINT_COPY``):

- a file path: one JSON line per checkpoint (the format of ``audit export-checkpoints``), opened
  ``O_APPEND`` and locked (``flock``) while written; make the file append-only with
  ``chattr +a`` (only root can undo it), ideally on another machine's mount;
- ``s3://bucket/prefix``: one object per checkpoint, written with S3 Object Lock retention in
  COMPLIANCE mode (``AUDIT_COPY_RETENTION_DAYS``), which nobody, the account's root included, can
  shorten or delete before it ends. The bucket must have Object Lock enabled. Object names sort
  newest first (``<prefix><10^19 - 1 - seq, 19 digits>-seq-<seq>.json``) so that one LIST with
  ``MaxKeys=1`` gives the last copied checkpoint.

``catch_up`` writes every checkpoint of the database that the copy lacks, in order: after each new
checkpoint, and at each tick of the worker's scheduler, so that a write that failed (copy
unreachable, process killed between the commit and the write) is made up for, and a copy
configured late receives the earlier checkpoints. A checkpoint whose signature does not verify is
never copied. ``audit verify`` reads the whole copy when one is configured and reports checkpoints
missing from the database or from the copy.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from cordee.audit.exports import ExportedCheckpoint, checkpoint_line, read_exported_checkpoints, ring_for_export
from cordee.audit.models import AuditCheckpoint
from cordee.audit.statements import checkpoint_statement

logger = logging.getLogger("cordee.audit")

_INVERT = 10**19 - 1  # above the largest seq (a signed 64-bit integer)


class CopyError(Exception):
    """The copy cannot be read or written."""


class CheckpointCopy(Protocol):
    def __str__(self) -> str: ...

    def last_seq(self) -> int | None:
        """The seq of the last checkpoint copied (None when the copy is empty)."""

    def append(self, lines: list[dict[str, Any]]) -> int:
        """Add these checkpoint lines (in seq order) after what the copy holds; how many were added."""

    def read(self) -> list[ExportedCheckpoint]:
        """Every checkpoint of the copy."""


class FileCopy:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def _last_line(self, descriptor: int) -> bytes:
        """The file's last line, read backwards from its end (the copy may be long)."""
        end, tail = os.fstat(descriptor).st_size, b""
        while end > 0:
            start = max(0, end - 4096)
            tail = os.pread(descriptor, end - start, start) + tail
            end = start
            lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
            if len(lines) == 2:
                return lines[1]
        return tail.rstrip(b"\n")

    def _last_seq(self, descriptor: int) -> int | None:
        line = self._last_line(descriptor)
        if not line.strip():
            return None
        (checkpoint,) = read_exported_checkpoints([line.decode("utf-8")], f"{self.path.name} (last line)")
        return checkpoint.seq

    def last_seq(self) -> int | None:
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CopyError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            return self._last_seq(descriptor)
        except ValueError as exc:
            raise CopyError(str(exc)) from None
        finally:
            os.close(descriptor)

    def append(self, lines: list[dict[str, Any]]) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_APPEND: each write goes to the end, which is all that a ``chattr +a`` file allows.
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CopyError(f"cannot open {self.path} for appending: {exc.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # two workers never write the same line twice
            last = self._last_seq(descriptor)
            fresh = [line for line in lines if last is None or line["seq"] > last]
            if fresh:
                os.write(descriptor, "".join(json.dumps(line, sort_keys=True) + "\n" for line in fresh).encode())
                os.fsync(descriptor)
            return len(fresh)
        except ValueError as exc:
            raise CopyError(str(exc)) from None
        except OSError as exc:
            raise CopyError(f"cannot append to {self.path}: {exc.strerror}") from None
        finally:
            os.close(descriptor)  # (releases the lock)

    def read(self) -> list[ExportedCheckpoint]:
        try:
            with self.path.open(encoding="utf-8") as lines:
                return read_exported_checkpoints(lines, f"copy {self.path.name}")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CopyError(f"cannot read {self.path}: {exc.strerror}") from None
        except ValueError as exc:
            raise CopyError(str(exc)) from None


class S3Copy:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _client(self) -> Any:
        import boto3  # (only when an S3 copy is configured)

        return boto3.client(
            "s3",
            endpoint_url=settings.AUDIT_COPY_S3_ENDPOINT_URL or None,
            aws_access_key_id=settings.AUDIT_COPY_S3_ACCESS_KEY or None,
            aws_secret_access_key=settings.AUDIT_COPY_S3_SECRET_KEY or None,
            region_name=settings.AUDIT_COPY_S3_REGION,
        )

    def key(self, seq: int) -> str:
        return f"{self.prefix}{_INVERT - seq:019d}-seq-{seq}.json"

    def _call(self, what: str, call: Any, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**arguments)
        except (BotoCoreError, ClientError) as exc:
            raise CopyError(f"{what} {self}: {exc}") from None

    def last_seq(self) -> int | None:
        client = self._client()
        listed = self._call("cannot list", client.list_objects_v2, Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        contents = listed.get("Contents") or []
        if not contents:
            return None
        try:
            return int(contents[0]["Key"].rsplit("-seq-", 1)[1].removesuffix(".json"))
        except (IndexError, ValueError):
            raise CopyError(f"{contents[0]['Key']} in {self} is not a checkpoint's object name") from None

    def append(self, lines: list[dict[str, Any]]) -> int:
        client = self._client()
        retain_until = timezone.now() + dt.timedelta(days=settings.AUDIT_COPY_RETENTION_DAYS)
        for line in lines:
            body = (json.dumps(line, sort_keys=True) + "\n").encode()
            self._call(
                "cannot write to",
                client.put_object,
                Bucket=self.bucket,
                Key=self.key(line["seq"]),
                Body=body,
                ContentType="application/json",
                ContentMD5=base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode(),
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
            )
        return len(lines)

    def _keys(self, client: Any) -> Iterator[str]:
        paginator = client.get_paginator("list_objects_v2")
        pages = self._call("cannot list", paginator.paginate, Bucket=self.bucket, Prefix=self.prefix)
        try:
            for page in pages:
                for item in page.get("Contents") or []:
                    yield item["Key"]
        except Exception as exc:  # botocore errors surface while paging
            raise CopyError(f"cannot list {self}: {exc}") from None

    def read(self) -> list[ExportedCheckpoint]:
        client = self._client()
        found: list[ExportedCheckpoint] = []
        for key in self._keys(client):
            body = self._call("cannot read", client.get_object, Bucket=self.bucket, Key=key)["Body"].read()
            try:
                found += read_exported_checkpoints(body.decode("utf-8").splitlines(), f"copy {key}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise CopyError(str(exc)) from None
        return found


def configured() -> CheckpointCopy | None:
    """The copy named by ``AUDIT_CHECKPOINT_COPY`` (None when there is none)."""
    target = settings.AUDIT_CHECKPOINT_COPY
    if not target:
        return None
    if target.startswith("s3://"):
        bucket, _, prefix = target.removeprefix("s3://").partition("/")
        return S3Copy(bucket, prefix)
    return FileCopy(Path(target))


def catch_up(copy: CheckpointCopy | None = None) -> int:
    """Write to the copy every signed checkpoint it lacks; how many were written.

    Never raises: a copy that cannot be reached is logged (no personal data: seqs and errors) and
    tried again at the next checkpoint or scheduler tick; ``audit verify`` reports what it lacks.
    """
    copy = copy or configured()
    if copy is None:
        return 0
    try:
        last = copy.last_seq()
        pending = AuditCheckpoint.objects.order_by("seq")
        if last is not None:
            pending = pending.filter(seq__gt=last)
        lines = []
        ring = ring_for_export()
        for checkpoint in pending.iterator(chunk_size=1000):
            statement = checkpoint_statement(checkpoint)
            problem = ring.problem(statement, checkpoint.signature, checkpoint.key_id, checkpoint.created_at)
            if problem:
                logger.error("audit checkpoint #%s is not copied to %s: %s", checkpoint.seq, copy, problem)
                continue
            lines.append(checkpoint_line(checkpoint, ring.public_key_base64(checkpoint.key_id)))
        return copy.append(lines) if lines else 0
    except CopyError as exc:
        logger.error("audit checkpoints could not be copied: %s", exc)
        return 0
