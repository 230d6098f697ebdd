"""Appending to the audit trail. Call ``record`` inside the transaction of the act it describes.

Appends are serialised by ``locks.CHAIN`` (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
lock held until commit), so two processes never read the same head and the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.signals import post_save
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
    """After the commit of entry N, 2N…, enqueue a checkpoint (``AUDIT_CHECKPOINT_EVERY``).

    The time rule (every ``AUDIT_CHECKPOINT_MINUTES``) belongs to the scheduler, which runs
    ``manage.py audit checkpoint --if-due`` (docs/security.md): it also seals a quiet chain's tail.
    """
    if seq % settings.AUDIT_CHECKPOINT_EVERY == 0:
        from cordee.audit.tasks import create_checkpoint

        transaction.on_commit(create_checkpoint.enqueue, robust=True)


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
    """Append one entry to the chain, inside the caller's transaction (or a new one).

    ``details`` must be JSON (and carry no health data). The row is written with one INSERT built
    once from the model's fields, not through ``save()``: ``pre_save`` is not sent, ``post_save``
    is (when anyone listens). Run audited code under READ COMMITTED (Django's default).
    """
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
    values["content_hash"] = content_hash(values)
    # No savepoint: a failed append must fail the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        locks.hold(locks.CHAIN)
        # After the lock, in a statement of its own: under READ COMMITTED it sees the last commit.
        cursor.execute(_sql().head)
        last = cursor.fetchone()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        values.update(seq=seq, prev_hash=prev_hash, purged_at=None)
        values["entry_hash"] = header_hash(
            prev_hash, seq, values["created_at"], values["category"], values["content_hash"]
        )
        entry = AuditEntry(id=_insert(cursor, values), **values)
        entry._state.adding, entry._state.db = False, connection.alias
        _schedule_checkpoint(seq)
    if post_save.has_listeners(AuditEntry):  # the raw INSERT skips the model's save machinery
        post_save.send(AuditEntry, instance=entry, created=True, update_fields=None, raw=False, using=connection.alias)
    return entry


class _Statements:
    """The two statements of an append, built once per database vendor from the model's fields."""

    def __init__(self, model: type[models.Model] = AuditEntry) -> None:
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        self.fields = [field for field in model._meta.local_concrete_fields if not field.primary_key]
        columns = ", ".join(quote(field.column or field.name) for field in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        self.returning = connection.features.can_return_columns_from_insert
        # Only the model's own table and column names are interpolated, never a value.
        self.insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        if self.returning:
            self.insert += f" RETURNING {quote('id')}"
        self.head = f"SELECT seq, entry_hash FROM {table} ORDER BY seq DESC LIMIT 1"  # noqa: S608


_statements: dict[str, _Statements] = {}


def _sql() -> _Statements:
    statements = _statements.get(connection.vendor)
    if statements is None:
        statements = _statements[connection.vendor] = _Statements()
    return statements


def _insert(cursor: Any, values: dict[str, Any], statements: _Statements | None = None) -> int:
    """One INSERT (… RETURNING id where the database can): no model save machinery on the hot path."""
    statements = statements or _sql()
    cursor.execute(
        statements.insert, [field.get_db_prep_save(values[field.name], connection) for field in statements.fields]
    )
    return cursor.fetchone()[0] if statements.returning else cursor.lastrowid
