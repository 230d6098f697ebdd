"""Signed checkpoints: the chain's head sealed with the Ed25519 key held outside the database.

A checkpoint says "entry ``seq`` had hash ``entry_hash``", which commits to every entry before it.
Before signing, the entries since the previous checkpoint are verified (hashes and MACs), so that a
checkpoint never seals a chain that was already tampered with. The worker's scheduler
(``manage.py worker``) makes one every ``AUDIT_CHECKPOINT_SECONDS`` when there are entries to
seal; a task enqueued after the commit of entry N, 2N… (``AUDIT_CHECKPOINT_EVERY``) bounds how
many a burst leaves unsealed. After its commit, each checkpoint is also written to the second,
append-only copy (``copies.py``), when one is configured.

``exports.py`` gives each checkpoint and purge record as one self-contained JSON line (statement,
signature, public key) for a third party to keep.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cordee.audit import copies, keyring, locks, signing
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.statements import checkpoint_statement
from cordee.audit.verify import verify_chain


class ChainBroken(Exception):
    """The chain does not verify: no checkpoint is signed over it."""


def _is_due(last: AuditCheckpoint | None, head_seq: int, now: dt.datetime) -> bool:
    if last is None:
        return True
    too_old = now - last.created_at >= dt.timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS)
    return too_old or head_seq - last.seq >= settings.AUDIT_CHECKPOINT_EVERY


def make_checkpoint(*, if_due: bool = False, now: dt.datetime | None = None) -> AuditCheckpoint | None:
    """Sign the current head; None when nothing new (or, with ``if_due``, when not yet due).

    Raises ``ChainBroken`` when the entries since the previous checkpoint do not verify. Several
    processes may call this at once: the lock makes them take turns, and the later ones find
    nothing new. The copy (``copies.catch_up``) is written after the commit.
    """
    with transaction.atomic():
        locks.hold(locks.CHECKPOINTS)
        # The time is taken under the lock, so that a checkpoint that waited for a key rotation
        # (``rotation.py``) is dated after it, within the new key's service.
        now = now or timezone.now()
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if head is None or (last is not None and last.seq >= head[0]):
            return None
        if if_due and not _is_due(last, head[0], now):
            return None
        if last is not None:
            try:
                ring = keyring.load()
            except keyring.RingError:
                ring = keyring.current_only()  # ``audit verify`` reports the ring; sealing goes on
            problem = ring.problem(checkpoint_statement(last), last.signature, last.key_id, last.created_at)
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
        if copies.configured() is not None:
            transaction.on_commit(copies.catch_up)
        return checkpoint
