"""Transaction-scoped locks that serialise writers of the audit tables across processes.

SQLite: every transaction is ``BEGIN IMMEDIATE`` (settings), so a writing transaction already holds
the database's single write lock from its first statement; nothing more is needed.
PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback.
"""

from __future__ import annotations

from django.db import connection

CHAIN = 0x436F72646565  # "Cordee": appends to the chain
CHECKPOINTS = 0x436F72646566  # checkpoint creation (one at a time, so that checkpoints join up)
PURGE = 0x436F72646567  # retention purges


def hold(key: int) -> None:
    """Hold ``key`` until the current transaction ends (call inside ``transaction.atomic``)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
