"""Which signed records ``verify_chain`` may trust: purge records, checkpoints, and their copies.

Checkpoints come from up to three places: the database, a third party's export (``audit verify
--checkpoints FILE``) and the second, append-only copy (``AUDIT_CHECKPOINT_COPY``, ``copies.py``).
Each must carry a valid signature by a key of the ring (``keyring.py``: the current signing key and
the keys it replaced), made during that key's service, and each place's checkpoints must join up
(``entry_count`` links each to the previous one) and follow the ring's order (no checkpoint signed
by a retired key after one signed by its successor). Across places: a checkpoint kept elsewhere but
no longer in the database was removed from it; a checkpoint of the database missing from the copy
was either never copied (the copy was unreachable: the worker tries again at each tick) or removed
from the copy, and is reported once it is older than the time the worker needs to copy it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from cordee.audit import keyring
from cordee.audit.exports import ExportedCheckpoint
from cordee.audit.models import AuditCheckpoint, AuditPurge
from cordee.audit.results import Problem, VerifyResult
from cordee.audit.statements import checkpoint_statement, purge_statement

Checkpoint = AuditCheckpoint | ExportedCheckpoint


def trusted_ring(result: VerifyResult, *, report: bool = True) -> keyring.KeyRing:
    """The key ring; when it is unsound, the current key alone, and (with ``report``: a whole
    verification, not the walk that precedes a checkpoint) a problem saying why."""
    try:
        return keyring.load()
    except keyring.RingError as exc:
        if report:
            message = f"the audit key ring is not trusted, only the current key is: {exc}"
            result.checkpoint_problems.append(Problem("keyring", None, message))
        return keyring.current_only()


def signed_purges(result: VerifyResult, ring: keyring.KeyRing) -> list[AuditPurge]:
    trusted = []
    for purge in AuditPurge.objects.order_by("up_to_seq", "pk"):
        problem = ring.problem(purge_statement(purge), purge.signature, purge.key_id, purge.purged_at)
        if problem:
            result.checkpoint_problems.append(Problem("purge", purge.up_to_seq, f"{purge} is not trusted: {problem}"))
        else:
            trusted.append(purge)
    result.purges = len(trusted)
    return trusted


def _statement(checkpoint: Checkpoint) -> bytes:
    if isinstance(checkpoint, ExportedCheckpoint):
        return checkpoint.statement
    return checkpoint_statement(checkpoint)


class _Group:
    """The checkpoints of one place whose signatures hold, checked to join up."""

    def __init__(self, result: VerifyResult, checkpoints: list, *, start: int | None, ring: keyring.KeyRing) -> None:
        self.trusted: dict[int, Checkpoint] = {}
        seen: dict[int, bytes] = {}
        latest: tuple[int, Checkpoint] | None = None  # the ring position of the last trusted signer
        for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
            statement = _statement(checkpoint)
            if seen.get(checkpoint.seq) == statement:
                continue  # the same checkpoint written twice (two workers copying at once): harmless
            problem = ring.problem(statement, checkpoint.signature, checkpoint.key_id, checkpoint.created_at)
            if problem:
                result.checkpoint_problems.append(Problem("checkpoint", checkpoint.seq, f"{checkpoint}: {problem}"))
                continue
            position = ring.position(checkpoint.key_id)
            if position is not None and latest is not None and position < latest[0]:
                message = (
                    f"{checkpoint} is signed by the retired key {keyring.short(checkpoint.key_id)} although "
                    f"{latest[1]} before it is signed by a later key (out of order)"
                )
                result.checkpoint_problems.append(Problem("checkpoint", checkpoint.seq, message))
                continue
            if position is not None:
                latest = (position, checkpoint)
            if checkpoint.seq in seen:
                message = f"{checkpoint} differs from another signed checkpoint of the same entry"
                result.checkpoint_problems.append(Problem("checkpoint", checkpoint.seq, message))
                continue
            seen[checkpoint.seq] = statement
            self.trusted[checkpoint.seq] = checkpoint
            if start is not None and checkpoint.seq - checkpoint.entry_count != start:
                message = f"checkpoints are missing before {checkpoint} (the previous one seals #{start})"
                result.checkpoint_problems.append(Problem("checkpoint", checkpoint.seq, message))
            start = checkpoint.seq


def signed_checkpoints(
    result: VerifyResult,
    exported: list[ExportedCheckpoint],
    copied: list[ExportedCheckpoint] | None,
    now: dt.datetime,
    ring: keyring.KeyRing,
) -> dict[int, list[Checkpoint]]:
    """Checkpoints whose signature holds, by seq; problems for the others, for holes between them,
    and for checkpoints present in one place but not in another.

    Stored checkpoints must join up from the chain's start; an export or the copy may begin later,
    but must join up from its first line, and each of their checkpoints must still be in the database.
    """
    rows = list(AuditCheckpoint.objects.order_by("seq"))
    stored_seqs = {checkpoint.seq for checkpoint in rows}
    stored = _Group(result, rows, start=0, ring=ring)
    external = [(_Group(result, exported, start=None, ring=ring), False)]
    if copied is not None:
        external.append((_Group(result, copied, start=None, ring=ring), True))
        result.copied = len(external[-1][0].trusted)
    result.checkpoints = len(stored.trusted) + len(external[0][0].trusted)
    by_seq: dict[int, list[Checkpoint]] = {seq: [checkpoint] for seq, checkpoint in stored.trusted.items()}
    for group, _ in external:
        for seq, checkpoint in group.trusted.items():
            by_seq.setdefault(seq, []).append(checkpoint)
            if seq not in stored_seqs:
                message = f"{checkpoint} is missing from the database"
                result.checkpoint_problems.append(Problem("checkpoint", seq, message))
    if copied is not None:
        _missing_from_the_copy(result, stored.trusted, external[-1][0].trusted, now)
    return by_seq


def _missing_from_the_copy(
    result: VerifyResult, stored: dict[int, Checkpoint], copied: dict[int, Checkpoint], now: dt.datetime
) -> None:
    """Stored checkpoints that the copy lacks, once the worker has had the time to copy them."""
    grace = dt.timedelta(seconds=2 * settings.AUDIT_CHECKPOINT_SECONDS)
    missing = [
        checkpoint
        for seq, checkpoint in stored.items()
        if seq not in copied and isinstance(checkpoint, AuditCheckpoint) and now - checkpoint.created_at > grace
    ]
    if not missing:
        return
    first, last = missing[0].seq, missing[-1].seq
    what = f"checkpoint #{first} is" if len(missing) == 1 else f"{len(missing)} checkpoints (#{first}..#{last}) are"
    message = f"{what} missing from the copy ({settings.AUDIT_CHECKPOINT_COPY})"
    result.checkpoint_problems.append(Problem("copy", first, message))
