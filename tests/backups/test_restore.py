"""Restore: empty targets only, crypto-shredding holds, corrupted repositories are detected."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cordee.accounts.models import Patient
from cordee.backups import restic, shredlist
from cordee.backups import restore as restoring
from cordee.backups.services import do_backup
from cordee.vault import services as vault
from cordee.vault.models import Blob

sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="restored into a SQLite directory")


def test_a_non_empty_directory_is_refused(demo_data, repository, tmp_path, capsys):
    call_command("backup", "--json")
    assert json.loads(capsys.readouterr().out)["blobs"] == Blob.objects.count()
    target = tmp_path / "target"
    target.mkdir()
    (target / "something").write_text("already here")
    with pytest.raises(CommandError, match="is not empty: a restore goes into an empty directory only"):
        call_command("restore", str(target))
    assert [path.name for path in target.iterdir()] == ["something"]


@pytest.mark.postgres
def test_a_non_empty_database_is_refused(demo_data, repository, tmp_path):
    from tests.conftest import postgres_run_only

    postgres_run_only("a restore into a PostgreSQL database that has tables")
    do_backup(repository)
    db = connection.settings_dict
    own = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    with pytest.raises(restoring.RestoreError, match="database is not empty"):
        restoring.restore(repository, tmp_path / "target", database_url=own)
    assert not (tmp_path / "target").exists()


@sqlite_only
@pytest.mark.timeout(120)
def test_a_patient_erased_after_the_backup_stays_erased_when_it_is_restored(demo_data, repository, tmp_path):
    patient = Patient.objects.order_by("pk").first()
    do_backup(repository)  # the patient's data keys are in this backup
    vault.do_shred(patient, by=demo_data["alice"], reason="Demande d'effacement (RGPD art. 17)")
    listed = shredlist.read()
    assert [(e["owner_type"], e["owner_id"]) for e in listed] == [("accounts.patient", str(patient.vault_id))]

    target = tmp_path / "restored"
    restoring.restore(repository, target, snapshot_id="latest")
    # Before the checks, the restored database still holds the keys (the backup predates the erasure)…
    restored = sqlite3.connect(target / "cordee.sqlite3")
    key_row = "SELECT length(wrapped_aead), destroyed_at FROM vault_datakey WHERE owner_id = ?"
    assert restored.execute(key_row, [str(patient.vault_id)]).fetchone()[0] > 0
    restored.close()
    report = restoring.run_checks(target, restoring.Keys.live())
    # …and the restore destroys them again from the shred list, before anything reads.
    assert report["ok"], report["failures"]
    assert report["checks"]["shred_list"] == {"listed": 1, "destroyed_again": 1}
    assert report["checks"]["sample_fields"]["rows_erased"] >= 1
    restored = sqlite3.connect(target / "cordee.sqlite3")
    length, destroyed_at = restored.execute(key_row, [str(patient.vault_id)]).fetchone()
    restored.close()
    assert length == 0 and destroyed_at is not None


def test_the_shred_list_catches_up_with_the_database_at_each_backup(demo_data, repository, settings):
    patient = Patient.objects.order_by("pk").first()
    vault.do_shred(patient, by=demo_data["alice"], reason="effacement")
    Path(settings.BACKUP_SHRED_LIST_PATH).unlink()  # lost (e.g. restored from an older escrow)
    run = do_backup(repository)
    assert run.summary["shred_list_added"] == 1
    assert shredlist.read()[0]["owner_id"] == str(patient.vault_id)


def test_a_corrupted_repository_is_detected_at_restore(demo_data, repository, settings, tmp_path):
    do_backup(repository)
    packs = sorted(Path(settings.BACKUP_REPOSITORY, "data").rglob("*"), key=lambda p: p.stat().st_size)
    pack = [p for p in packs if p.is_file()][-1]  # the largest pack: blobs' ciphertext
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    pack.write_bytes(bytes(data))
    with pytest.raises(restic.ResticError, match="corrupted"):
        restoring.restore(repository, tmp_path / "target")
    assert not (tmp_path / "target").exists()  # nothing half-restored is left behind


def test_a_wrong_password_is_said_plainly(demo_data, repository, tmp_path):
    do_backup(repository)
    wrong = restic.Repository(repository.location, "this is not the password")
    with pytest.raises(restic.ResticError, match=r"^The backup repository password is wrong"):
        restoring.restore(wrong, tmp_path / "target")


def test_a_missing_repository_is_said_plainly(backup_settings, tmp_path):
    missing = restic.Repository(str(tmp_path / "nowhere"), "whatever-password")
    with pytest.raises(restic.ResticError, match="no backup repository there"):
        missing.snapshots()
