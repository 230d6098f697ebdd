"""Verification of the audit chain, its signed checkpoints and its signed purge records.

``verify_chain`` walks the entries in ``seq`` order in constant memory (a streaming cursor, one
row of look-ahead), recomputes every hash and names what it finds:

- ``altered``: an entry whose content or hash no longer matches, or which was rewritten with a
  recomputed hash (the next entry then links to the old hash), or whose content was blanked
  outside a signed purge;
- ``forged``: an entry whose hashes hold but whose MAC (``mac.py``) does not: appended, or
  rewritten with every following hash recomputed, by someone without the server's MAC key (a run
  of such entries is one problem naming the first);
- ``removed``: a gap in ``seq``, or entries whose successors were renumbered to close the gap;
- ``inserted``: an entry that sits between two entries that were adjacent;
- ``reordered``: an entry sealed for another position than the one it holds;
- ``checkpoint`` / ``purge``: a signature that is not by a key of the ring (forged, or signed by
  another key), or by a retired key after its retirement (``keyring.py``), a checkpoint whose hash
  is not the entry's, checkpoints missing between two others;
- ``keyring``: the ring of retired keys is malformed or altered (only the current key is trusted).

After a problem the walk re-synchronises on the row found, so that one tampering is reported once
and later ones are still seen. What the chain alone cannot show: entries removed from its end, and
a chain rewritten from some point on with recomputed hashes; the MACs show the second, signed
checkpoints (kept in a second place, ``copies.py``) show both up to the last checkpoint. Entries cut
from the end after the last checkpoint cannot be seen by anything; ``warnings`` say when that
unsealed tail is older than it should be. Memory grows only with the number of checkpoints and purges.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from cordee.audit import mac
from cordee.audit.chain import CONTENT_FIELDS, GENESIS_HASH, content_hash, header_hash
from cordee.audit.exports import ExportedCheckpoint
from cordee.audit.keyring import KeyRing, short
from cordee.audit.models import AuditEntry, AuditPurge
from cordee.audit.results import MAX_PROBLEMS, Problem, VerifyResult
from cordee.audit.signed import signed_checkpoints, signed_purges, trusted_ring

__all__ = ["MAX_PROBLEMS", "Problem", "VerifyResult", "verify_chain"]
ORIGINAL_SEQ_WINDOW = 1024  # how far a moved entry's sealed position is searched for
_FIELDS = (
    "seq",
    "prev_hash",
    "content_hash",
    "entry_hash",
    "mac",
    "purged_at",
    "created_at",
    "category",
    *CONTENT_FIELDS,
)
_HEAD = 8  # the fields before the content


@dataclass
class _Row:
    seq: int
    prev_hash: str
    content_hash: str
    entry_hash: str
    mac: str
    purged_at: dt.datetime | None
    created_at: dt.datetime
    category: str
    content_ok: bool

    @classmethod
    def of(cls, values: tuple[Any, ...]) -> _Row:
        seq, prev_hash, digest, entry_hash, entry_mac, purged_at, created_at, category = values[:_HEAD]
        content = dict(zip(CONTENT_FIELDS, values[_HEAD:], strict=True))
        ok = purged_at is not None or content_hash(content) == digest
        return cls(seq, prev_hash, digest, entry_hash, entry_mac, purged_at, created_at, category, ok)

    def sealed_as(self, seq: int) -> bool:
        """Whether this row's hashes hold for position ``seq``."""
        sealed = header_hash(self.prev_hash, seq, self.created_at, self.category, self.content_hash)
        return self.content_ok and sealed == self.entry_hash

    def original_seq(self) -> int | None:
        """The other position this row was sealed for, if it was moved (None if altered)."""
        if not self.content_ok:
            return None
        for distance in range(1, ORIGINAL_SEQ_WINDOW + 1):
            for candidate in (self.seq - distance, self.seq + distance):
                if candidate > 0 and self.sealed_as(candidate):
                    return candidate
        return None


class _Peekable:
    def __init__(self, rows: Iterable[_Row]) -> None:
        self._rows: Iterator[_Row] = iter(rows)
        self._next: _Row | None = None

    def __iter__(self) -> _Peekable:
        return self

    def __next__(self) -> _Row:
        if self._next is not None:
            row, self._next = self._next, None
            return row
        return next(self._rows)

    def peek(self) -> _Row | None:
        if self._next is None:
            self._next = next(self._rows, None)
        return self._next


class _Cutoffs:
    """Which tombstones a signed purge accounts for: older than its cutoff, within its reach."""

    def __init__(self, purges: list[AuditPurge]) -> None:
        ordered = sorted(purges, key=lambda purge: purge.up_to_seq)
        self.reach = [purge.up_to_seq for purge in ordered]
        self.security: list[dt.datetime] = []
        self.access: list[dt.datetime] = []
        for purge in reversed(ordered):  # suffix maxima: any purge reaching this far counts
            self.security.insert(0, max([purge.security_cutoff, *self.security[:1]]))
            self.access.insert(0, max([purge.access_cutoff, *self.access[:1]]))
        self._index = 0

    def allow(self, row: _Row) -> bool:
        while self._index < len(self.reach) and self.reach[self._index] < row.seq:
            self._index += 1
        if self._index == len(self.reach):
            return False
        cutoffs = self.security if row.category == AuditEntry.Category.SECURITY else self.access
        return row.created_at < cutoffs[self._index]


def _forged_message(first: int, last: int) -> str:
    why = "forged, or rewritten with recomputed hashes, without the server's MAC key"
    if first == last:
        return f"entry #{first} is not authentic: its MAC does not match ({why})"
    return f"entries #{first}..#{last} are not authentic: their MACs do not match ({why})"


class _Walker:
    def __init__(
        self, start: tuple[int, str], cutoffs: _Cutoffs, checkpoints: dict, result: VerifyResult, sign: mac.Signer
    ) -> None:
        self.want, self.head = start[0] + 1, start[1]
        self.before_head: str | None = None
        self.previous_clean = True
        self.shift = 0  # entries renumbered after an insertion (+) or a removal (−)
        self.cutoffs, self.checkpoints, self.result, self.sign = cutoffs, checkpoints, result, sign
        # The run of consecutive entries whose MAC fails: [first seq, last seq, index of its problem or -1].
        self.forged: list[int] | None = None
        self.sealed_up_to = 0  # the last entry a trusted checkpoint seals
        self.first_unsealed: tuple[int, dt.datetime] | None = None  # the first entry after it
        self.ring: KeyRing | None = None  # to check that a retired key sealed only entries of its service

    def problem(self, kind: str, seq: int, message: str) -> None:
        if len(self.result.chain_problems) < MAX_PROBLEMS:
            self.result.chain_problems.append(Problem(kind, seq, message))
        if len(self.result.chain_problems) >= MAX_PROBLEMS:
            self.result.more_problems = True

    def accept(self, row: _Row) -> None:
        self.before_head, self.head, self.want = self.head, row.entry_hash, row.seq + 1

    def step(self, row: _Row, rows: _Peekable) -> None:
        self._count(row)
        run, self.forged = self.forged, None  # a row that is not checked below ends the run
        if row.purged_at is not None and not self.cutoffs.allow(row):
            self.problem("altered", row.seq, f"entry #{row.seq} had its content removed outside any signed purge")
        if row.seq < self.want:
            self.problem("inserted", row.seq, f"entry #{row.seq} appears more than once (inserted)")
            return
        gap = row.seq > self.want
        if gap:
            missing = f"#{self.want}" if row.seq == self.want + 1 else f"#{self.want}..#{row.seq - 1}"
            self.problem("removed", self.want, f"entry {missing} is missing (removed)")
            self.shift = 0
        if row.sealed_as(row.seq - self.shift):
            # (A previous entry reported as forged already explains the broken link.)
            if not gap and row.prev_hash != self.head and self.previous_clean and run is None:
                message = f"entry #{row.seq - 1} was rewritten: entry #{row.seq} links to another hash"
                self.problem("altered", row.seq - 1, message)
            self.previous_clean = True
            self._check_mac(row, run)
        elif not self.result.more_problems and (self._moved(row, rows) or self._inserted_here(row, rows)):
            return  # (past MAX_PROBLEMS, rows are only counted as altered: no costly search)
        else:
            what = "its content" if not row.content_ok else "its header or hash"
            self.problem("altered", row.seq, f"entry #{row.seq} was altered: {what} no longer matches its hash")
            self.previous_clean = False
        self.accept(row)

    def _check_mac(self, row: _Row, run: list[int] | None) -> None:
        """The MAC of a row whose hashes hold, for the position it was sealed for."""
        if hmac.compare_digest(self.sign(row.seq - self.shift, row.entry_hash), row.mac or ""):
            return
        problems = self.result.chain_problems
        if run is not None and run[1] == row.seq - 1:
            run[1] = row.seq
            if run[2] >= 0:
                problems[run[2]] = Problem("forged", run[0], _forged_message(run[0], run[1]))
            self.forged = run
            return
        index = len(problems) if len(problems) < MAX_PROBLEMS else -1
        self.problem("forged", row.seq, _forged_message(row.seq, row.seq))
        self.forged = [row.seq, row.seq, index]

    def finish(self) -> None:
        """Name the likely cause when every entry walked fails its MAC: another key than the trail's."""
        run, result = self.forged, self.result
        if run is None or run[2] < 0 or result.entries < 2 or (run[0], run[1]) != (result.first_seq, result.last_seq):
            return
        hint = "; every entry fails: is AUDIT_MAC_KEY_FILE the key this trail was written with?"
        result.chain_problems[run[2]] = Problem("forged", run[0], _forged_message(run[0], run[1]) + hint)

    def _moved(self, row: _Row, rows: _Peekable) -> bool:
        original = row.original_seq()
        if original is None:
            return False
        offset = row.seq - original
        following = rows.peek()
        if offset > 0 and self.previous_clean and row.prev_hash == self.before_head:
            message = f"entry #{row.seq - 1} was inserted (the entries after it renumbered)"
            self.problem("inserted", row.seq - 1, message)
            self.shift = offset
        elif offset < 0 and following is not None and following.sealed_as(following.seq - offset):
            gone = f"#{row.seq}" if offset == -1 else f"#{row.seq}..#{original - 1}"
            self.problem("removed", row.seq, f"entry {gone} was removed (the entries after it renumbered)")
            self.shift = offset
        else:
            self.problem("reordered", row.seq, f"entry #{original} was moved to #{row.seq} (reordered)")
        self.previous_clean = False
        self.accept(row)
        return True

    def _inserted_here(self, row: _Row, rows: _Peekable) -> bool:
        following = rows.peek()
        if following is None or following.prev_hash != self.head:
            return False
        if not following.sealed_as(following.seq - 1 - self.shift):
            return False
        self.problem("inserted", row.seq, f"entry #{row.seq} was inserted (the entries after it renumbered)")
        self.shift += 1
        self.want = row.seq + 1  # the next entry still links to the current head
        return True

    def _count(self, row: _Row) -> None:
        if self.first_unsealed is None and row.seq > self.sealed_up_to:
            self.first_unsealed = (row.seq, row.created_at)
        result = self.result
        result.entries += 1
        result.tombstones += row.purged_at is not None
        result.first_seq = row.seq if result.first_seq is None else result.first_seq
        result.last_seq = row.seq
        for checkpoint in self.checkpoints.pop(row.seq, ()):
            if checkpoint.entry_hash != row.entry_hash:
                result.checkpoint_problems.append(
                    Problem("checkpoint", row.seq, f"{checkpoint} does not match entry #{row.seq}'s hash")
                )
            key = self.ring.get(checkpoint.key_id) if self.ring else None
            if key is not None and key.retired_at is not None and row.created_at >= key.retired_at:
                # A stolen retired key, its checkpoint backdated into its service: the entry's time
                # (sealed in its hash) says the key was already retired.
                message = f"{checkpoint} is signed by the key {short(key.key_id)}, retired before entry #{row.seq}"
                result.checkpoint_problems.append(Problem("checkpoint", row.seq, message))


def _entries(start_seq: int, until: int | None, chunk_size: int) -> Iterator[_Row]:
    queryset = AuditEntry.objects.filter(seq__gt=start_seq)
    if until is not None:
        queryset = queryset.filter(seq__lte=until)
    for values in queryset.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=chunk_size):
        yield _Row.of(values)


def verify_chain(
    *,
    start_after: tuple[int, str] | None = None,
    until: int | None = None,
    check_checkpoints: bool = True,
    exported: list[ExportedCheckpoint] | None = None,
    copied: list[ExportedCheckpoint] | None = None,
    chunk_size: int = 2000,
    now: dt.datetime | None = None,
) -> VerifyResult:
    """Verify the chain from its trusted start (genesis, the last purge anchor, or ``start_after``).

    ``start_after`` = (seq, hash) trusted from elsewhere (the previous checkpoint); ``until`` stops
    the walk; ``exported`` adds checkpoints read back from a third party's export, ``copied`` those
    of the second copy (``copies.py``; None when there is none). A whole walk (no ``until``, with
    the checkpoints) also warns when entries have waited unsealed too long at ``now``.
    """
    now = now or timezone.now()
    result = VerifyResult()
    ring = trusted_ring(result, report=check_checkpoints)
    purges = signed_purges(result, ring)
    anchors = [(purge.anchor_seq, purge.anchor_hash) for purge in purges if purge.anchor_seq is not None]
    start = max(anchors, default=(0, GENESIS_HASH))
    if start_after is not None and start_after[0] >= start[0]:
        start = start_after
    checkpoints = signed_checkpoints(result, exported or [], copied, now, ring) if check_checkpoints else {}
    sealed_up_to = max(checkpoints, default=None)
    for checkpoint in checkpoints.pop(start[0], ()):
        if checkpoint.entry_hash != start[1]:
            message = f"{checkpoint} does not match the purge anchor #{start[0]}"
            result.checkpoint_problems.append(Problem("checkpoint", start[0], message))
    walker = _Walker(start, _Cutoffs(purges), checkpoints, result, mac.signer())
    walker.sealed_up_to = sealed_up_to or 0
    walker.ring = ring
    rows = _Peekable(_entries(start[0], until, chunk_size))
    for row in rows:
        walker.step(row, rows)
    walker.finish()
    _check_unseen_checkpoints(result, checkpoints, start[0], until)
    if check_checkpoints and until is None:
        _warn_unsealed(result, sealed_up_to, walker.first_unsealed, now)
    return result


def _warn_unsealed(
    result: VerifyResult, sealed_up_to: int | None, first_unsealed: tuple[int, dt.datetime] | None, now: dt.datetime
) -> None:
    """No checkpoint at all, or entries past the last one for longer than the worker would leave them.

    Such entries could be cut from the end, or (by whoever holds the MAC key) rewritten, unseen: the
    worker (``manage.py worker``) seals them every ``AUDIT_CHECKPOINT_SECONDS``; is it running?
    """
    if first_unsealed is None:
        return
    seq, created_at = first_unsealed
    span = f"#{seq}..#{result.last_seq}" if result.last_seq != seq else f"#{seq}"
    hint = "is the worker running (manage.py worker)?"
    if sealed_up_to is None:
        message = f"no checkpoint seals the audit trail: entries {span} can be cut from its end unseen; {hint}"
        result.warnings.append(Problem("unsealed", seq, message))
        return
    waited = now - created_at
    limit = settings.AUDIT_CHECKPOINT_STALE_SECONDS
    if waited > dt.timedelta(seconds=limit):
        message = (
            f"the last checkpoint (#{sealed_up_to}) is stale: entries {span} have waited unsealed for "
            f"{int(waited.total_seconds())} s (more than AUDIT_CHECKPOINT_STALE_SECONDS={limit}); {hint}"
        )
        result.warnings.append(Problem("unsealed", seq, message))


def _check_unseen_checkpoints(result: VerifyResult, checkpoints: dict, start_seq: int, until: int | None) -> None:
    """Checkpoints whose entry was not walked: purged before the anchor, or removed."""
    last = result.last_seq or start_seq
    for seq in sorted(checkpoints):
        if seq <= start_seq or (until is not None and seq > until):
            continue  # sealed entries purged since (their link survives in the anchor), or out of range
        for checkpoint in checkpoints[seq]:
            result.checkpoint_problems.append(Problem("checkpoint", seq, f"{checkpoint}: entry #{seq} is missing"))
    beyond = [seq for seq in checkpoints if seq > last and (until is None or seq <= until)]
    if beyond:
        message = f"entries #{last + 1}..#{max(beyond)} are missing (removed from the end; a checkpoint seals them)"
        result.chain_problems.append(Problem("removed", last + 1, message))
