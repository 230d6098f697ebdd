"""The shred list: the owners whose data keys were destroyed, kept OUTSIDE the backups.

Crypto-shredding (``vault.services.do_shred``) erases an owner's wrapped data keys; a backup taken
before that still holds them. So every erasure is also appended to this file (JSON lines:
owner type, owner id, when), which lives beside the keys (``BACKUP_SHRED_LIST_FILE``, by default
``<data>/keys/shredded.jsonl``), is escrowed with them (``manage.py escrow_keys``) and is never
put in a backup. ``manage.py restore`` destroys again, in the restored database, the keys of every
owner it lists before anything can read them: an erased patient stays erased whichever backup
is restored. It holds ids only (the owners' random vault UUIDs), no name.

The file is written after the erasure commits (a post_save receiver, on_commit), and each backup
first adds any destroyed key the file lacks (a crash between the commit and the append, or a file
restored from an older escrow), so the file is at least as complete as the database at each backup.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cordee.vault.models import DataKey


def path() -> Path:
    """``BACKUP_SHRED_LIST_FILE``, else ``<data directory>/keys/shredded.jsonl`` (read at each call)."""
    configured = settings.BACKUP_SHRED_LIST_PATH
    return Path(configured) if configured else Path(settings.DATA_DIR) / "keys" / "shredded.jsonl"


def read(source: Path | None = None) -> list[dict[str, str]]:
    source = source or path()
    if not source.exists():
        return []
    entries = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def _append(entries: Iterable[dict[str, str]], target: Path | None = None) -> int:
    target = target or path()
    lines = [json.dumps(entry, sort_keys=True) + "\n" for entry in entries]
    if not lines:
        return 0
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write("".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    return len(lines)


def _entry(row: Any) -> dict[str, str]:
    return {
        "owner_type": row.owner_type,
        "owner_id": row.owner_id,
        "destroyed_at": (row.destroyed_at or timezone.now()).isoformat(),
    }


def record(row: DataKey) -> None:
    """Append one erasure (the receiver calls it after the erasure commits)."""
    _append([_entry(row)])


def sync_from_database() -> int:
    """Add every destroyed key of the database that the file lacks; how many were added."""
    known = {(entry["owner_type"], entry["owner_id"]) for entry in read()}
    missing = [
        _entry(row)
        for row in DataKey.objects.filter(destroyed_at__isnull=False).only("owner_type", "owner_id", "destroyed_at")
        if (row.owner_type, row.owner_id) not in known
    ]
    return _append(missing)


def apply(entries: list[dict[str, str]]) -> int:
    """Destroy again the keys of every listed owner still readable in this (restored) database."""
    destroyed = 0
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = ON")
        for entry in entries:
            destroyed += DataKey.objects.filter(
                owner_type=entry["owner_type"], owner_id=entry["owner_id"], destroyed_at__isnull=True
            ).update(wrapped_aead=b"", wrapped_streaming=b"", kek_key_id=None, destroyed_at=timezone.now())
    if destroyed:
        statement = "PRAGMA wal_checkpoint(TRUNCATE)" if connection.vendor == "sqlite" else "VACUUM vault_datakey"
        with connection.cursor() as cursor:
            cursor.execute(statement)
    return destroyed
