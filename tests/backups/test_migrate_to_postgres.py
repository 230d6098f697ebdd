"""SQLite → PostgreSQL: the demo data plus generated volume, into a database created for the test."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.backups import migration
from cordee.backups.restore import RestoreError
from cordee.library.models import Article
from cordee.vault.models import Blob
from tests.conftest import require

SERVER = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
VOLUME = 600  # audit entries generated on top of the demo's rows (each chained and MACed)


def _server_up() -> bool:
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture
def empty_postgres():
    require("PostgreSQL", _server_up(), f"no server at {SERVER} (TEST_POSTGRES_URL)")
    name = f"cordee_migrate_test_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:  # only the database this test created
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.timeout(300)
def test_everything_moves_with_the_audit_chain_verified_and_sequences_reset(demo_data, empty_postgres, settings):
    if connection.vendor != "sqlite":
        pytest.skip("the migration's source is SQLite (this run uses PostgreSQL)")
    for number in range(VOLUME):
        audit.record("login.success", actor=demo_data["alice"], details={"n": number})
    blob_files = {p: p.stat().st_mtime_ns for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()}
    assert len(blob_files) == Blob.objects.count() > 0

    report = migration.migrate(empty_postgres)

    assert report["ok"], report
    assert report["differ"] == {} and report["skipped_tables"] == []
    assert report["audit_verify"]["ok"]
    with psycopg.connect(empty_postgres) as pg:
        assert pg.execute("SELECT count(*) FROM audit_auditentry").fetchone()[0] == AuditEntry.objects.count()
        assert pg.execute("SELECT count(*) FROM vault_blob").fetchone()[0] == len(blob_files)
        # The library's search rows written on PostgreSQL from the copied articles (SQLite's are FTS5's).
        live = Article.objects.filter(deleted_at__isnull=True).count()
        assert live > 0 and pg.execute("SELECT count(*) FROM library_search").fetchone()[0] == live
        # The sequences are past the copied ids: a new row gets a fresh id.
        new_id = pg.execute(
            "INSERT INTO django_content_type (app_label, model) VALUES ('backups', 'probe') RETURNING id"
        ).fetchone()[0]
        assert new_id > pg.execute("SELECT max(id) FROM django_content_type WHERE model <> 'probe'").fetchone()[0]
        pg.rollback()
    assert {p: p.stat().st_mtime_ns for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()} == blob_files

    with pytest.raises(RestoreError, match="not empty"):  # a second run would overwrite: refused
        migration.migrate(empty_postgres)
