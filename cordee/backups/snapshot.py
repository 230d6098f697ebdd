"""The consistent snapshot a backup uploads: the database, the audit checkpoints, a manifest.

- SQLite: the online backup API (``sqlite3.Connection.backup``), page by page under SQLite's own
  locking, never a copy of a live file (which can catch a half-written WAL).
- PostgreSQL: ``pg_dump --format=custom`` (one consistent MVCC snapshot of the database), of the
  same major version as the server (Debian's postgresql-client-15 for PostgreSQL 15).
- The blob store's directory is read by restic itself, after the database: a blob file is written
  under a temporary name and renamed once complete, and never changed after, so every blob the
  database snapshot names is already complete on disk (blobs added later are extra, harmless).
- ``audit-checkpoints.jsonl``: the signed checkpoints, as ``manage.py audit export-checkpoints``.
- ``manifest.json``: row counts of every table, the audit chain's head, the applied migrations,
  the number, total size and a hash of the names and sizes of the blobs, and the SHA-256 of the
  database file and of the checkpoints export; the restore compares against it.

What is NOT in it: the vault keyset (KEK), the audit signing and MAC keys (escrowed apart:
``manage.py escrow_keys``), so a stolen backup is ciphertext; the shred list (kept beside the keys,
applied again at each restore).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404  (pg_dump with an argument list)
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Max
from django.utils import timezone

from cordee.audit import exports
from cordee.audit.models import AuditEntry
from cordee.vault.models import Blob

FORMAT = "cordee-backup"
VERSION = 1
DATABASE_SQLITE = "database.sqlite3"
DATABASE_PG = "database.pgdump"
CHECKPOINTS = "audit-checkpoints.jsonl"
MANIFEST = "manifest.json"


class SnapshotError(Exception):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[name] = str(db[key])
    return env


def _dump_sqlite(target: Path) -> None:
    connection.ensure_connection()
    source = connection.connection
    destination = sqlite3.connect(target)
    try:
        # In one step: a stepped backup restarts whenever another connection writes, and may never end on a
        # busy database; in WAL mode the single read transaction does not block the writers.
        source.backup(destination)
    finally:
        destination.close()


def _dump_postgres(target: Path, snapshot: str | None) -> None:
    db = connection.settings_dict
    options = ["--snapshot", snapshot] if snapshot else []
    # The Debian client on PATH (postgresql-client-15 for a PostgreSQL 15 server: pg_dump refuses an older one).
    command = [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        *options,
        "--file",
        str(target),
        db["NAME"],
    ]
    result = subprocess.run(  # noqa: S603
        command,
        env=pg_env(db),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SnapshotError(f"pg_dump failed: {result.stderr.strip().splitlines()[-1:]}")


def table_counts() -> dict[str, int]:
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            counts[model._meta.db_table] = model._default_manager.using(connection.alias).count()
    return dict(sorted(counts.items()))


def applied_migrations() -> list[str]:
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


def blob_summary() -> dict[str, Any]:
    digest = hashlib.sha256()
    count = size = 0
    for blob_id, blob_size in Blob.objects.order_by("id").values_list("id", "size").iterator(chunk_size=5000):
        digest.update(f"{blob_id.hex}:{blob_size}\n".encode())
        count += 1
        size += blob_size
    return {"count": count, "clear_bytes": size, "names_sha256": digest.hexdigest()}


def audit_head() -> dict[str, Any]:
    head = AuditEntry.objects.aggregate(seq=Max("seq"))["seq"]
    entry_hash = AuditEntry.objects.filter(seq=head).values_list("entry_hash", flat=True).first() if head else None
    return {"seq": head or 0, "hash": entry_hash or ""}


def write(staging: Path) -> dict[str, Any]:
    """Fill ``staging`` (emptied first) with the database, the checkpoints and the manifest."""
    if staging.exists():
        shutil.rmtree(staging)  # the leftovers of a run that was killed
    staging.mkdir(parents=True, mode=0o700)
    vendor = connection.vendor
    if vendor == "sqlite":
        database = staging / DATABASE_SQLITE
        _dump_sqlite(database)
        counts = counts_of(database)
    elif vendor == "postgresql":
        database = staging / DATABASE_PG
        counts = _dump_postgres_with_counts(database)
    else:
        raise SnapshotError(f"cannot back up a {vendor} database")
    checkpoints = staging / CHECKPOINTS
    with checkpoints.open("w", encoding="utf-8") as handle:
        for line in exports.export_lines():
            handle.write(json.dumps(line, sort_keys=True) + "\n")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().isoformat(),
        "vendor": vendor,
        "database": {"file": database.name, "sha256": sha256_file(database), "bytes": database.stat().st_size},
        "checkpoints": {"file": CHECKPOINTS, "sha256": sha256_file(checkpoints)},
        "blob_dir": Path(settings.BLOB_DIR).name,
        "blob_backend": settings.BLOB_BACKEND,
    }
    manifest.update(counts)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def _live_counts() -> dict[str, Any]:
    return {
        "tables": table_counts(),
        "audit_head": audit_head(),
        "blobs": blob_summary(),
        "migrations": applied_migrations(),
    }


def _dump_postgres_with_counts(database: Path) -> dict[str, Any]:
    """pg_dump and the counts in one MVCC snapshot: a REPEATABLE READ transaction exports its
    snapshot, pg_dump reads through it (``--snapshot``), the counts are read in the transaction."""
    if connection.in_atomic_block:  # inside a caller's transaction (cannot set the isolation): best effort
        _dump_postgres(database, None)
        return _live_counts()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        _dump_postgres(database, snapshot)
        return _live_counts()


def counts_of(database: Path) -> dict[str, Any]:
    """The manifest's counts, read from the SQLite snapshot itself (exactly what a restore finds)."""
    snapshot = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {}
        for model in apps.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                table = model._meta.db_table
                tables[table] = snapshot.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        row = snapshot.execute("SELECT seq, entry_hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1").fetchone()
        digest = hashlib.sha256()
        count = size = 0
        for blob_id, blob_size in snapshot.execute("SELECT id, size FROM vault_blob ORDER BY id"):
            digest.update(f"{_uuid_hex(blob_id)}:{blob_size}\n".encode())
            count += 1
            size += blob_size
        migrations = sorted(f"{a}.{n}" for a, n in snapshot.execute("SELECT app, name FROM django_migrations"))
    finally:
        snapshot.close()
    return {
        "tables": dict(sorted(tables.items())),
        "audit_head": {"seq": row[0] if row else 0, "hash": row[1] if row else ""},
        "blobs": {"count": count, "clear_bytes": size, "names_sha256": digest.hexdigest()},
        "migrations": migrations,
    }


def _uuid_hex(value: Any) -> str:
    return value.replace("-", "") if isinstance(value, str) else bytes(value).hex()
