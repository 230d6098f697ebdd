"""SQLite → PostgreSQL (``manage.py migrate_to_postgres``): the embedded default moves to a server.

1. The target database must be empty (no table): nothing is ever overwritten.
2. The SQLite database is copied with the online backup API to a temporary file (a consistent
   snapshot; stop Cordée first so that nothing is written after it).
3. ``manage.py migrate`` (and ``createcachetable``) builds the schema in the target (the same
   migrations, so the same tables,
   constraints and indexes), then every table is emptied (migrate's own rows: content types,
   permissions) and filled with the SQLite rows, in one transaction: Django's foreign keys on
   PostgreSQL are DEFERRABLE INITIALLY DEFERRED, so tables load in any order and the constraints are
   checked at commit. Values pass through as they are, except booleans (SQLite's 0/1); ciphertexts
   are bytes copied byte for byte (their associated data names tables and columns, not the engine).
4. Sequences are reset past each table's largest id; row counts are compared table by table, and
   ``audit verify`` runs against the target. The blob directory is not touched (the same files,
   named by the same ids, are read by the new database).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess  # noqa: S404  (manage.py with an argument list)
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

from cordee.backups.restore import RestoreError, _pg_params, database_is_empty

BATCH = 2000


class MigrationFailed(Exception):
    pass


def _snapshot_sqlite(directory: Path) -> Path:
    if connection.vendor != "sqlite":
        raise MigrationFailed("The current database is not SQLite: nothing to migrate.")
    connection.ensure_connection()
    target = directory / "source.sqlite3"
    destination = sqlite3.connect(target)
    try:
        connection.connection.backup(destination)
    finally:
        destination.close()
    return target


def _child_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env.update(
        VAULT_KEYSET_FILE=str(settings.VAULT_KEYSET_PATH),
        AUDIT_SIGNING_KEY_FILE=str(settings.AUDIT_SIGNING_KEY_PATH),  # (its ring of retired keys is beside it)
        AUDIT_MAC_KEY_FILE=str(settings.AUDIT_MAC_KEY_PATH),
        AUDIT_CHECKPOINT_COPY="",
        BACKUP_REPOSITORY="",
    )
    return env


def _manage(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
        env=_child_env(url),
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )


def _columns(pg: psycopg.Connection, table: str) -> dict[str, str]:
    rows = pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s",
        [table],
    ).fetchall()
    return {name: kind for name, kind in rows}


def _rows(source: sqlite3.Connection, table: str, columns: list[str], booleans: set[int]) -> Iterator[list[Any]]:
    listed = ", ".join(f'"{column}"' for column in columns)
    cursor = source.execute(f'SELECT {listed} FROM "{table}"')  # noqa: S608  (names from both catalogues)
    while batch := cursor.fetchmany(BATCH):
        for row in batch:
            values = list(row)
            for index in booleans:
                if values[index] is not None:
                    values[index] = bool(values[index])
            yield values


def _copy_table(source: sqlite3.Connection, pg: psycopg.Connection, table: str) -> int:
    pg_columns = _columns(pg, table)
    sqlite_columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
    columns = [column for column in sqlite_columns if column in pg_columns]
    booleans = {index for index, column in enumerate(columns) if pg_columns[column] == "boolean"}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    )
    copied = 0
    with pg.cursor() as cursor, cursor.copy(statement) as copy:
        for values in _rows(source, table, columns, booleans):
            copy.write_row(values)
            copied += 1
    return copied


def _reset_sequences(pg: psycopg.Connection) -> int:
    rows = pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND (is_identity = 'YES' OR column_default LIKE 'nextval(%%')"
    ).fetchall()
    for table, column in rows:
        pg.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, {c}), COALESCE(MAX({col}), 1), MAX({col}) IS NOT NULL)"
                " FROM {tab}"
            ).format(t=sql.Literal(table), c=sql.Literal(column), col=sql.Identifier(column), tab=sql.Identifier(table))
        )
    return len(rows)


def migrate(url: str) -> dict[str, Any]:
    """Everything from the SQLite database to the empty PostgreSQL database at ``url``; a report."""
    params = _pg_params(url)
    if not database_is_empty(url):
        raise RestoreError("The target database is not empty: the migration goes into an empty database only.")
    report: dict[str, Any] = {"target": params["dbname"]}
    with tempfile.TemporaryDirectory(prefix="cordee-migrate-", dir=settings.DATA_DIR) as work:
        snapshot = _snapshot_sqlite(Path(work))
        for command in (["migrate", "--noinput"], ["createcachetable"]):
            result = _manage(url, *command)
            if result.returncode != 0:
                raise MigrationFailed(f"{command[0]} on the target failed: {result.stderr.strip()[-800:]}")
        source = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        try:
            source_tables = {
                row[0]
                for row in source.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
            # SQLite's full-text indexes (FTS5 virtual tables and their shadow tables, e.g. the
            # library's) have no PostgreSQL counterpart to copy into: PostgreSQL's own index is
            # written from the copied articles after the copy (``library_reindex``), not moved.
            fts = {
                row[0]
                for row in source.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
                )
            }
            search_indexes = {
                table for table in source_tables if any(table == name or table.startswith(name + "_") for name in fts)
            }
            source_tables -= search_indexes
            counts: dict[str, int] = {}
            with psycopg.connect(**params, autocommit=False) as pg:
                pg.execute("SET TIME ZONE 'UTC'")
                target_tables = {
                    row[0] for row in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                }
                tables = sorted(source_tables & target_tables)
                pg.execute(
                    sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                        sql.SQL(", ").join(sql.Identifier(table) for table in tables)
                    )
                )
                for table in tables:
                    counts[table] = _copy_table(source, pg, table)
                report["sequences_reset"] = _reset_sequences(pg)
                pg.commit()
                differ = {}
                for table in tables:
                    found = pg.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
                    if not found or found[0] != counts[table]:
                        differ[table] = (counts[table], found[0] if found else None)
        finally:
            source.close()
    report.update(tables=len(counts), rows=sum(counts.values()), differ=differ)
    report["skipped_tables"] = sorted(source_tables - target_tables)
    report["sqlite_search_indexes"] = sorted(search_indexes)
    reindex = _manage(url, "library_reindex")
    if reindex.returncode != 0:
        raise MigrationFailed(f"library_reindex on the target failed: {reindex.stderr.strip()[-800:]}")
    report["search_reindexed"] = reindex.stdout.strip()
    verify = _manage(url, "audit", "verify")
    report["audit_verify"] = {"ok": verify.returncode == 0, "output": verify.stdout.strip().splitlines()[-3:]}
    report["ok"] = not differ and verify.returncode == 0
    return report
