"""Audit test helpers: keys per test, entries, and an attacker's raw SQL on the table."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from cordee.audit import mac, services, signing
from cordee.audit.chain import CONTENT_FIELDS, content_hash, header_hash
from cordee.audit.models import AuditEntry

TABLE = "audit_auditentry"
TABLES = (TABLE, "audit_auditcheckpoint", "audit_auditpurge")


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    """A fresh Ed25519 key per test, outside the database (as in production)."""
    path = tmp_path / "keys" / "audit-ed25519.pem"
    signing.create_key(path)
    settings.AUDIT_SIGNING_KEY_PATH = path
    return path


@pytest.fixture(autouse=True)
def mac_key(settings, tmp_path):
    """A fresh MAC key per test, outside the database (as in production)."""
    path = tmp_path / "keys" / "audit-mac.key"
    mac.create_key(path)
    settings.AUDIT_MAC_KEY_PATH = path
    return path


def make_entries(count: int, *, start: dt.datetime | None = None, step: dt.timedelta | None = None) -> list:
    """``count`` entries alternating security and access categories, optionally back-dated."""
    made = []
    for number in range(count):
        at = start + (step or dt.timedelta(minutes=1)) * number if start else None
        category = AuditEntry.Category.ACCESS if number % 2 else AuditEntry.Category.SECURITY
        made.append(
            services.record(
                f"test.entry{number}",
                category=category,
                target_type="test",
                target_id=number,
                patient_id=1000 + number if category == AuditEntry.Category.ACCESS else None,
                details={"n": number},
                at=at,
            )
        )
    return made


@contextmanager
def attacker() -> Iterator[None]:
    """Raw SQL on the audit tables, as someone with the database's superuser rights.

    On PostgreSQL the append-only triggers are disabled for the duration (a superuser can), and
    enabled again afterwards; on SQLite there is no trigger to bypass.
    """
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for table in TABLES if postgres else ():
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield
        finally:
            for table in TABLES if postgres else ():
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def shift_seqs(from_seq: int, by: int) -> None:
    """Renumber every entry from ``from_seq`` on by ``by`` (two steps: seq is unique)."""
    sql(f"UPDATE {TABLE} SET seq = -seq WHERE seq >= %s", [from_seq])  # noqa: S608 (constant table name)
    sql(f"UPDATE {TABLE} SET seq = -seq + %s WHERE seq < 0", [by])  # noqa: S608


def rehash_from(seq: int, until: int | None = None) -> None:
    """Recompute the hashes from ``seq`` (to ``until`` or the end), as an attacker knowing the format would."""
    previous = AuditEntry.objects.filter(seq__lt=seq).order_by("-seq").values_list("entry_hash", flat=True).first()
    prev_hash = previous or "0" * 64
    entries = AuditEntry.objects.filter(seq__gte=seq, seq__lte=until or 2**62).order_by("seq")
    for entry in entries:
        values = {name: getattr(entry, name) for name in ("seq", "created_at", "category")}
        values.update({name: getattr(entry, name) for name in CONTENT_FIELDS})
        digest = content_hash(values)
        entry_hash = header_hash(prev_hash, entry.seq, entry.created_at, entry.category, digest)
        sql(
            f"UPDATE {TABLE} SET prev_hash = %s, content_hash = %s, entry_hash = %s WHERE id = %s",  # noqa: S608
            [prev_hash, digest, entry_hash, entry.pk],
        )
        prev_hash = entry_hash


def append_forged(key: bytes | None = None) -> int:
    """An attacker's append with well-formed hashes: a MAC made without (or with another) key."""
    head = AuditEntry.objects.order_by("-seq").first()
    seq = head.seq + 1
    values = services.entry_values("login.success", target_type="account", target_id="alice@cordee.test")
    values.update(seq=seq, prev_hash=head.entry_hash)
    values["entry_hash"] = header_hash(head.entry_hash, seq, values["created_at"], "security", values["content_hash"])
    values["mac"] = hmac.new(key, b"%d" % seq, hashlib.sha256).hexdigest() if key else "0" * 64
    with attacker():
        AuditEntry.objects.create(**values)
    return seq
