"""Retention of the audit trail: two periods, and a chain that stays verifiable across purges.

Security entries are kept ``AUDIT_SECURITY_RETENTION_DAYS`` (default 1 year), patient-access
entries ``AUDIT_ACCESS_RETENTION_DAYS`` (default 3 years). Both kinds are interleaved in one chain,
so cutting the chain at a date would either keep security entries for 3 years or lose access
history early. A purge therefore works in two steps:

1. **Tombstones.** Each expired entry keeps its chain skeleton — ``seq``, ``created_at``,
   ``category``, ``prev_hash``, ``content_hash``, ``entry_hash`` — and loses everything it said
   (actor, action, target, patient, purpose, address, user agent, details); ``purged_at`` is set.
   The hash is two-level (``chain.py``): ``entry_hash`` covers the header and ``content_hash``, so a
   tombstone's link and header are still recomputed and checked; only its content is opaque.
2. **Anchor.** Once the oldest entries are all tombstones (after the longer period), that leading
   run is deleted. The purge record keeps the ``seq`` and ``entry_hash`` of the last deleted entry:
   verification restarts there, as it would from the genesis.

Each purge is recorded in an ``AuditPurge`` row signed with the audit key (its cutoffs, how far it
reached, its anchor) and in an audit entry of its own. ``verify`` accepts a tombstone only when a
signed purge reaching its ``seq`` has a cutoff later than its (hash-protected) ``created_at`` for its
category, so blanking a recent entry is detected; and it starts from the latest *signed* anchor, so
deleting more of the chain's start shows as a gap. A purge first verifies the chain and refuses to
run on a broken one, so that it never destroys the evidence of a tampering.

On PostgreSQL the trigger of migration 0003 refuses UPDATE and DELETE on the audit table unless the
transaction has set ``cordee.audit_purge = 'on'`` (only ``purge`` does, with ``SET LOCAL``), and even
then allows only these two operations: blank a live entry's content keeping its chain columns, and
delete a tombstone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone

from cordee.audit import locks, signing
from cordee.audit.chain import iso_utc
from cordee.audit.models import AuditEntry, AuditPurge
from cordee.audit.services import record
from cordee.audit.statements import purge_statement
from cordee.audit.verify import verify_chain

# What a tombstone keeps of an entry's content: nothing.
BLANK_CONTENT: dict[str, Any] = {
    "action": "",
    "outcome": "",
    "actor_id": None,
    "actor_display": {},
    "target_type": "",
    "target_id": "",
    "target_display": "",
    "patient_id": None,
    "purpose": "",
    "ip": None,
    "user_agent": "",
    "details": {},
}


class PurgeRefused(Exception):
    """The chain does not verify: purging now would destroy the evidence."""


@dataclass(frozen=True)
class Cutoffs:
    security: dt.datetime
    access: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime) -> Cutoffs:
        return cls(
            security=now - dt.timedelta(days=settings.AUDIT_SECURITY_RETENTION_DAYS),
            access=now - dt.timedelta(days=settings.AUDIT_ACCESS_RETENTION_DAYS),
        )


def expired(cutoffs: Cutoffs, up_to_seq: int) -> QuerySet[AuditEntry]:
    """Live entries up to ``up_to_seq`` that are past the retention of their category."""
    return AuditEntry.objects.filter(seq__lte=up_to_seq, purged_at__isnull=True).filter(
        Q(category=AuditEntry.Category.SECURITY, created_at__lt=cutoffs.security)
        | Q(category=AuditEntry.Category.ACCESS, created_at__lt=cutoffs.access)
    )


def _allow_purge(allowed: bool) -> None:
    """Open (or close) the trigger's purge door for this transaction only (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('cordee.audit_purge', %s, true)", ["on" if allowed else "off"])


def _delete_leading_tombstones(up_to_seq: int) -> tuple[int, int | None, str]:
    """Delete the run of tombstones at the chain's start; (count, anchor seq, anchor hash)."""
    first_live = AuditEntry.objects.filter(purged_at__isnull=True).aggregate(first=Min("seq"))["first"]
    boundary = min(first_live or up_to_seq + 1, up_to_seq + 1)
    leading = AuditEntry.objects.filter(seq__lt=boundary, purged_at__isnull=False)
    anchor = leading.order_by("-seq").values_list("seq", "entry_hash").first()
    if anchor is None:
        return 0, None, ""
    deleted, _ = leading.delete()
    return deleted, anchor[0], anchor[1]


def purge(*, now: dt.datetime | None = None, actor: Any = None) -> AuditPurge:
    """Apply both retention periods, sign the purge record and audit it, in one transaction.

    Raises ``PurgeRefused`` if the chain does not verify first.
    """
    with transaction.atomic():
        locks.hold(locks.PURGE)
        now = now or timezone.now()  # under the lock: after any key rotation it waited for
        cutoffs = Cutoffs.at(now)
        up_to_seq = AuditEntry.objects.aggregate(last=Max("seq"))["last"] or 0
        check = verify_chain(until=up_to_seq)
        if not check.ok:
            raise PurgeRefused(f"the audit chain does not verify, nothing was purged: {check.problems[0].message}")
        _allow_purge(True)
        tombstoned = expired(cutoffs, up_to_seq).update(purged_at=now, **BLANK_CONTENT)
        deleted, anchor_seq, anchor_hash = _delete_leading_tombstones(up_to_seq)
        _allow_purge(False)
        purge = AuditPurge(
            purged_at=now,
            up_to_seq=up_to_seq,
            security_cutoff=cutoffs.security,
            access_cutoff=cutoffs.access,
            tombstoned=tombstoned,
            deleted=deleted,
            anchor_seq=anchor_seq,
            anchor_hash=anchor_hash,
            key_id=signing.key_id(),
        )
        purge.signature = signing.sign(purge_statement(purge))[1]
        purge.save()
        record(
            "audit.purged",
            actor=actor,
            target=purge,
            details={
                "tombstoned": tombstoned,
                "deleted": deleted,
                "up_to_seq": up_to_seq,
                "anchor_seq": anchor_seq,
                "security_cutoff": iso_utc(cutoffs.security),
                "access_cutoff": iso_utc(cutoffs.access),
            },
        )
    return purge
