"""Appending to the audit trail. Call ``record`` inside the transaction of the act it describes.

Each entry gets its place (``seq``, ``prev_hash``), its ``entry_hash`` and its ``mac`` (``mac.py``)
under the lock. Appends are serialised by ``locks.CHAIN`` (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock held until commit), so two processes never read the same head and
the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.utils import timezone

from cordee.audit import locks, mac
from cordee.audit.chain import GENESIS_HASH, content_hash, header_hash
from cordee.audit.models import AuditEntry
from cordee.db.inserts import inserts
from cordee.db.reads import reverse_one

PATIENT_KIND = "patient"


def actor_display(user: Any) -> dict[str, str]:
    """Display copy of an actor: name, RPPS if a professional, role. Never health data.

    A patient is only a role here: their name is read from their encrypted identity when the entry
    is shown (``cordee.audit.display``), so the trail does not say who is a patient.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    if user.kind == PATIENT_KIND:
        return {"role": PATIENT_KIND}
    display = {"name": user.display_name, "role": user.kind}
    professional = reverse_one(user, "professional") if user.kind == "professional" else None
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


def _schedule_checkpoint(first: int, last: int) -> None:
    """After the commit of entry N, 2N…, enqueue a checkpoint (``AUDIT_CHECKPOINT_EVERY``): once
    if the appended entries ``first``…``last`` reach one of those numbers.

    The time rule (a checkpoint at most ``AUDIT_CHECKPOINT_SECONDS`` after any new entry) belongs
    to the worker's scheduler (``manage.py worker``, docs/security.md): it also seals a quiet tail.
    """
    every = settings.AUDIT_CHECKPOINT_EVERY
    if last // every > (first - 1) // every:
        from cordee.audit.tasks import create_checkpoint  # here: tasks → checkpoints → this module (a cycle)

        transaction.on_commit(create_checkpoint.enqueue, robust=True)


def entry_values(
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
    memo: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one entry, hashed content included; its place in the chain comes at append.

    ``memo`` (a dict shared by the entries of one batch): an actor's display copy and a request's
    address and user agent are worked out once per batch, not once per entry."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        if not target_display and getattr(target, "kind", None) != PATIENT_KIND:
            target_display = str(target)  # a patient's account is named by its id only
    if memo is None:
        ip, user_agent = _client(request)
        display = actor_display(actor)
    else:
        client = memo.get(("client", id(request)))
        if client is None:
            client = memo[("client", id(request))] = (_client(request), request)  # kept: its id stays its own
        ip, user_agent = client[0]
        shown = memo.get(("actor", id(actor)))
        if shown is None:
            shown = memo[("actor", id(actor))] = (actor_display(actor), actor)
        display = dict(shown[0])  # each entry its own copy
    values: dict[str, Any] = {
        "created_at": (at or timezone.now()).astimezone(dt.UTC),
        "category": str(category),
        "action": _text(action, 64),
        "outcome": str(outcome),
        "actor_id": getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None,
        "actor_display": display,
        "target_type": _text(target_type, 40),
        "target_id": _text(str(target_id), 64),
        "target_display": _text(target_display, 200),
        "patient_id": None if patient_id is None else int(patient_id),
        "purpose": _text(purpose, 200),
        "ip": ip,
        "user_agent": user_agent,
        "details": details or {},
    }
    values["content_hash"] = content_hash(values)
    return values


def record(action: str, **entry: Any) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction (or a new one).

    ``entry`` takes the arguments of ``entry_values``; ``details`` must be JSON (and carry no
    health data). The row is written with one INSERT built once from the model's fields, not
    through ``save()``: ``pre_save`` is not sent, ``post_save`` is (when anyone listens). Run
    audited code under READ COMMITTED (Django's default).
    """
    values = entry_values(action, **entry)
    (entry_id,) = _append([values])
    saved = AuditEntry(id=entry_id, **values)
    saved._state.adding, saved._state.db = False, connection.alias
    if post_save.has_listeners(AuditEntry):  # the raw INSERT skips the model's save machinery
        post_save.send(AuditEntry, instance=saved, created=True, update_fields=None, raw=False, using=connection.alias)
    return saved


def record_many(entries: list[dict[str, Any]]) -> int:
    """Append several entries (each the arguments of ``record``, ``action`` included) in order,
    with one lock, one read of the head and one batched INSERT: the socket's group commit of
    messages audits a whole batch this way. Returns how many were appended."""
    if post_save.has_listeners(AuditEntry):  # listeners get instances with their ids: one by one
        for entry in entries:
            record(**entry)
        return len(entries)
    if entries:
        memo: dict[Any, Any] = {}
        _append([entry_values(**entry, memo=memo) for entry in entries])
    return len(entries)


def _append(rows: list[dict[str, Any]]) -> list[int | None]:
    """Chain ``rows`` after the head and insert them; the new ids (None when inserted in a batch).

    No savepoint: a failed append must fail the caller's whole transaction anyway.
    """
    statements = _sql()
    sign = mac.signer()  # the key is read before the lock is taken
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        locks.hold(locks.CHAIN)
        # After the lock, in a statement of its own: under READ COMMITTED it sees the last commit.
        cursor.execute(statements.head)
        last = cursor.fetchone()
        seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
        first = seq + 1
        for values in rows:
            seq += 1
            values.update(seq=seq, prev_hash=prev_hash, purged_at=None)
            prev_hash = values["entry_hash"] = header_hash(
                prev_hash, seq, values["created_at"], values["category"], values["content_hash"]
            )
            values["mac"] = sign(seq, prev_hash)
        if len(rows) == 1:
            ids: list[int | None] = [_insert(cursor, rows[0], statements)]
        else:
            statements.rows.many([statements.params(values) for values in rows], cursor)
            ids = [None] * len(rows)
        _schedule_checkpoint(first, seq)
    return ids


class _Statements:
    """The statements of an append, built once per database vendor (the INSERT by ``cordee.db.inserts``)."""

    def __init__(self) -> None:
        self.rows = inserts(AuditEntry)
        self.params = self.rows.params
        self.returning = connection.features.can_return_columns_from_insert
        self.insert = self.rows.one + (f" RETURNING {self.rows.pk_column}" if self.returning else "")
        self.head = f"SELECT seq, entry_hash FROM {self.rows.table} ORDER BY seq DESC LIMIT 1"  # noqa: S608


_statements: dict[str, _Statements] = {}


def _sql() -> _Statements:
    statements = _statements.get(connection.vendor)
    if statements is None:
        statements = _statements[connection.vendor] = _Statements()
    return statements


def _insert(cursor: Any, values: dict[str, Any], statements: _Statements | None = None) -> int:
    """One INSERT (… RETURNING id where the database can): no model save machinery on the hot path."""
    statements = statements or _sql()
    cursor.execute(statements.insert, statements.params(values))
    return cursor.fetchone()[0] if statements.returning else cursor.lastrowid
