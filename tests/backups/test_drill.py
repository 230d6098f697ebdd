"""The restore drill on both databases: backup → restore elsewhere → self-checks → report."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from cordee.audit.models import AuditEntry
from cordee.backups import drill, restic
from cordee.backups.models import BackupRun
from cordee.vault.models import Blob
from tests.conftest import postgres_run_only


def _assert_good(report: dict) -> None:
    assert report["ok"], report.get("failures")
    checks = report["checks"]
    assert checks["tables"]["differ"] == {}
    assert checks["migrations"] == {"unapplied": 0, "missing_from_backup": 0}
    assert checks["audit"]["ok"] and checks["audit"]["entries"] > 0
    assert checks["blobs"]["count"] == Blob.objects.count() > 0
    assert checks["sample_blobs"]["opened"] == Blob.objects.count()
    assert checks["sample_fields"]["rows_opened"] > 0 and checks["sample_fields"]["rows_erased"] == 0


@pytest.mark.timeout(120)
def test_drill_on_sqlite(demo_data, repository, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL drill is test_drill_on_postgres")
    report = drill.run(repository, work_dir=tmp_path / "work")
    _assert_good(report)
    assert report["target"]["database"] is None
    assert not any((tmp_path / "work").iterdir())  # the temporary restore is removed
    run = BackupRun.objects.get()
    assert run.kind == "drill" and run.succeeded and run.snapshot_id == report["backup"]["snapshot"]
    assert AuditEntry.objects.filter(action="backup.completed", details__run=run.pk).exists()
    # The keys are not in the backup: only the snapshot directory and the blobs.
    listing = repository.run("ls", "latest").stdout
    assert "vault-kek" not in listing and "audit-ed25519" not in listing and "audit-mac" not in listing
    assert "/cordee-backup/database.sqlite3" in listing and "/cordee-backup/manifest.json" in listing


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_drill_on_postgres(demo_data, repository, tmp_path):
    postgres_run_only("the restore drill into a new PostgreSQL database")
    report = drill.run(repository, work_dir=tmp_path / "work")
    _assert_good(report)
    name = report["target"]["database"]
    assert name.startswith("cordee_drill_")
    with connection.cursor() as cursor:  # created for the drill, dropped after it
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
        assert cursor.fetchone()[0] == 0
    assert "/cordee-backup/database.pgdump" in repository.run("ls", "latest").stdout


def test_drill_command_reports_json_and_fails_on_a_wrong_password(demo_data, backup_settings, tmp_path, capsys):
    restic.Repository.configured().init_if_needed()
    backup_settings.BACKUP_PASSWORD = "not-the-password-of-this-repository"
    with pytest.raises(SystemExit) as exit_info:
        call_command("restore_drill", "--json", "--work-dir", str(tmp_path / "work"))
    assert exit_info.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["failures"] == ["backup failed: The backup repository password is wrong (BACKUP_PASSWORD)."]
