"""Appending to the audit trail. Call ``record`` inside the transaction of the act it describes.

Appends are serialised by ``locks.CHAIN`` (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
lock held until commit), so two processes never read the same head and the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.audit import locks
from cordee.audit.chain import GENESIS_HASH, content_hash, header_hash
from cordee.audit.models import AuditEntry


def actor_display(user: Any) -> dict[str, str]:
    """Display copy of an actor: name, RPPS if a professional, role. Never health data."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    display = {"name": user.display_name, "role": user.kind}
    professional = getattr(user, "professional", None) if user.kind == "professional" else None
    if professional is not None:
        display["rpps"] = professional.rpps
        display["role"] = professional.profession_label
    return display


def _client(request: HttpRequest | None) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    return _ip(request.META.get("REMOTE_ADDR")), _text(request.META.get("HTTP_USER_AGENT") or "", 300)


def _ip(raw: str | None) -> str | None:
    """The address in its canonical text, as PostgreSQL's ``inet`` gives it back (or None if junk)."""
    try:
        return str(ipaddress.ip_address(raw)) if raw else None
    except ValueError:
        return None


def _text(value: str, limit: int) -> str:
    """Cut to the column's size; PostgreSQL refuses NUL characters in text."""
    return str(value).replace("\x00", "")[:limit]


def _schedule_checkpoint(seq: int) -> None:
    """After commit, ask for a checkpoint every N entries, and at most every M minutes per process.

    The time rule only fires on an append; ``manage.py audit checkpoint --if-due`` run by a
    scheduler seals the tail of a quiet chain (docs/security.md).
    """
    global _next_time_check
    every_n = seq % settings.AUDIT_CHECKPOINT_EVERY == 0
    now = time.monotonic()
    if not every_n and now < _next_time_check:
        return
    _next_time_check = now + settings.AUDIT_CHECKPOINT_MINUTES * 60
    from cordee.audit.tasks import create_checkpoint

    transaction.on_commit(lambda: create_checkpoint.enqueue(if_due=not every_n), robust=True)


_next_time_check = time.monotonic() + 60.0


def record(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    target: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    target_display: str = "",
    patient_id: int | None = None,
    purpose: str = "",
    outcome: str = AuditEntry.Outcome.SUCCESS,
    category: str = AuditEntry.Category.SECURITY,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction (or a new one)."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        target_display = target_display or str(target)
    ip, user_agent = _client(request)
    values: dict[str, Any] = {
        "created_at": (at or timezone.now()).astimezone(dt.UTC),
        "category": str(category),
        "action": _text(action, 64),
        "outcome": str(outcome),
        "actor_id": getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None,
        "actor_display": actor_display(actor),
        "target_type": _text(target_type, 40),
        "target_id": _text(str(target_id), 64),
        "target_display": _text(target_display, 200),
        "patient_id": patient_id,
        "purpose": _text(purpose, 200),
        "ip": ip,
        "user_agent": user_agent,
        "details": details or {},
    }
    digest = content_hash(values)
    # No savepoint: a failed append must fail the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        locks.hold(locks.CHAIN)
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        entry_hash = header_hash(prev_hash, seq, values["created_at"], values["category"], digest)
        entry = AuditEntry.objects.create(
            seq=seq, prev_hash=prev_hash, content_hash=digest, entry_hash=entry_hash, **values
        )
        _schedule_checkpoint(seq)
    return entry
