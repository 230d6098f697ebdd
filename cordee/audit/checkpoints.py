"""Signed checkpoints: the chain's head sealed with the Ed25519 key held outside the database.

A checkpoint says "entry ``seq`` had hash ``entry_hash``", which commits to every entry before it.
Before signing, the entries since the previous checkpoint are verified, so that a checkpoint never
seals a chain that was already tampered with. Checkpoints are made every
``AUDIT_CHECKPOINT_EVERY`` entries (a task enqueued after the commit of entry N, 2N…), and every
``AUDIT_CHECKPOINT_MINUTES`` by ``manage.py audit checkpoint --if-due`` run by a scheduler.

``export_lines`` gives each checkpoint and purge record as one self-contained JSON line (statement,
signature, public key) for a third party to keep: with those lines, a rewrite of the chain by
someone who holds the database but not the key is detected.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cordee.audit import locks, signing
from cordee.audit.models import AuditCheckpoint, AuditEntry, AuditPurge
from cordee.audit.statements import CHECKPOINT_TYPE, PURGE_TYPE, checkpoint_statement, purge_statement


class ChainBroken(Exception):
    """The chain does not verify: no checkpoint is signed over it."""


def _is_due(last: AuditCheckpoint | None, head_seq: int, now: dt.datetime) -> bool:
    if last is None:
        return True
    too_old = now - last.created_at >= dt.timedelta(minutes=settings.AUDIT_CHECKPOINT_MINUTES)
    return too_old or head_seq - last.seq >= settings.AUDIT_CHECKPOINT_EVERY


def make_checkpoint(*, if_due: bool = False, now: dt.datetime | None = None) -> AuditCheckpoint | None:
    """Sign the current head; None when nothing new (or, with ``if_due``, when not yet due).

    Raises ``ChainBroken`` when the entries since the previous checkpoint do not verify.
    """
    from cordee.audit.verify import verify_chain

    now = now or timezone.now()
    with transaction.atomic():
        locks.hold(locks.CHECKPOINTS)
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if head is None or (last is not None and last.seq >= head[0]):
            return None
        if if_due and not _is_due(last, head[0], now):
            return None
        if last is not None:
            problem = signing.signature_problem(checkpoint_statement(last), last.signature, last.key_id)
            if problem:
                raise ChainBroken(f"the last checkpoint (#{last.seq}) does not verify: {problem}")
        start = (last.seq, last.entry_hash) if last else None
        result = verify_chain(start_after=start, until=head[0], check_checkpoints=False)
        if not result.ok:
            raise ChainBroken(result.problems[0].message)
        checkpoint = AuditCheckpoint(
            seq=head[0],
            entry_hash=head[1],
            entry_count=head[0] - (last.seq if last else 0),
            created_at=now,
            key_id=signing.key_id(),
        )
        checkpoint.signature = signing.sign(checkpoint_statement(checkpoint))[1]
        checkpoint.save()
        return checkpoint


def _line(kind: str, statement: bytes, signature: str, public_key: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "statement": statement.decode("ascii"),
        "signature": signature,
        "public_key": public_key,
        **json.loads(statement),
    }


def export_lines() -> Iterator[dict[str, Any]]:
    """Every checkpoint, then every purge record, as self-contained dictionaries (one JSON line each).

    ``statement`` is the exact text signed; ``signature`` and ``public_key`` (raw 32 bytes) are
    base64. The statement's fields are repeated alongside for convenience; trust only the statement.
    """
    public_key = base64.b64encode(signing.raw_public_key()).decode("ascii")
    for checkpoint in AuditCheckpoint.objects.order_by("seq").iterator(chunk_size=1000):
        yield _line("checkpoint", checkpoint_statement(checkpoint), checkpoint.signature, public_key)
    for purge in AuditPurge.objects.order_by("up_to_seq", "pk"):
        yield _line("purge", purge_statement(purge), purge.signature, public_key)


@dataclass(frozen=True)
class ExportedCheckpoint:
    """A checkpoint read back from an export (a third party's copy)."""

    seq: int
    entry_hash: str
    entry_count: int
    created_at: dt.datetime
    key_id: str
    signature: str
    statement: bytes
    source: str

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} ({self.source})"


def read_exported_checkpoints(lines: Iterable[str], source: str) -> list[ExportedCheckpoint]:
    """Parse the checkpoint lines of an export; the fields are taken from the signed statement."""
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            statement = record["statement"]
            fields = json.loads(statement)
            if fields.get("type") != CHECKPOINT_TYPE:
                if fields.get("type") == PURGE_TYPE:
                    continue
                raise ValueError(f"unknown statement type {fields.get('type')!r}")
            found.append(
                ExportedCheckpoint(
                    seq=int(fields["seq"]),
                    entry_hash=str(fields["entry_hash"]),
                    entry_count=int(fields["entry_count"]),
                    created_at=dt.datetime.fromisoformat(fields["created_at"]),
                    key_id=str(fields["key_id"]),
                    signature=str(record["signature"]),
                    statement=statement.encode("ascii"),
                    source=f"{source} line {number}",
                )
            )
        except (ValueError, KeyError, TypeError, UnicodeEncodeError) as exc:
            raise ValueError(f"{source} line {number} is not an exported checkpoint: {exc}") from None
    return found
