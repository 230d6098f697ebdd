"""Appending to the audit trail. Call ``record`` inside the transaction of the act it describes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.audit.chain import GENESIS_HASH, link_hash
from cordee.audit.models import AuditEntry

# One constant key for PostgreSQL's advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 0x436F72646565  # "Cordee"


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
    ip = request.META.get("REMOTE_ADDR") or None
    return ip, (request.META.get("HTTP_USER_AGENT") or "")[:300]


def _lock_chain() -> None:
    """Serialise appenders until the transaction ends.

    SQLite: transactions are BEGIN IMMEDIATE (settings), so a writer already holds the lock.
    PostgreSQL: a transaction-scoped advisory lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


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
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        values: dict[str, Any] = {
            "seq": seq,
            "created_at": (at or timezone.now()).astimezone(dt.UTC),
            "category": str(category),
            "action": action,
            "outcome": str(outcome),
            "actor_id": getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None,
            "actor_display": actor_display(actor),
            "target_type": target_type,
            "target_id": str(target_id),
            "target_display": target_display[:200],
            "patient_id": patient_id,
            "purpose": purpose[:200],
            "ip": ip,
            "user_agent": user_agent,
            "details": details or {},
        }
        return AuditEntry.objects.create(prev_hash=prev_hash, entry_hash=link_hash(prev_hash, values), **values)
