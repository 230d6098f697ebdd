"""Restore: empty targets only, crypto-shredding holds, corrupted repositories are detected."""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cordee.backups import drill, restic, shredlist
from cordee.backups import restore as restoring
from cordee.backups.services import do_backup
from cordee.imaging.models import Study
from cordee.vault import services as vault
from cordee.vault.models import Blob


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


@pytest.fixture
def restore_target(tmp_path):
    """Where to restore: a directory, and on PostgreSQL a new database of this test (dropped after)."""
    if connection.vendor != "postgresql":
        yield tmp_path / "restored", None
        return
    name = f"cordee_restore_test_{secrets.token_hex(4)}"
    with drill._admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield tmp_path / "restored", drill._drill_database_url(name)
    finally:
        with drill._admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _key_row(target: Path, url: str | None, owner_id: str) -> tuple[int, object]:
    if url is None:
        restored = sqlite3.connect(target / "cordee.sqlite3")
        try:
            query = "SELECT length(wrapped_aead), destroyed_at FROM vault_datakey WHERE owner_id = ?"
            return restored.execute(query, [owner_id]).fetchone()
        finally:
            restored.close()
    with psycopg.connect(url) as restored:
        query = "SELECT length(wrapped_aead), destroyed_at FROM vault_datakey WHERE owner_id = %s"
        return restored.execute(query, [owner_id]).fetchone()


@pytest.mark.timeout(180)
def test_a_patient_erased_after_the_backup_stays_erased_when_it_is_restored(demo_data, repository, restore_target):
    target, url = restore_target
    patient = demo_data["paula"].patient  # she has an imaging study (its own keys: header copies)
    study = Study.objects.get(patient=patient)
    str(study.description)  # the study's own key exists in the backup
    do_backup(repository)  # the patient's and the study's data keys are in this backup
    vault.do_shred(patient, by=demo_data["alice"], reason="Demande d'effacement (RGPD art. 17)")
    listed = shredlist.read()
    assert [(e["owner_type"], e["owner_id"]) for e in listed] == [
        ("accounts.patient", str(patient.vault_id)),
        ("imaging.study", str(study.vault_id)),  # her erasure reached her imaging
    ]

    restoring.restore(repository, target, snapshot_id="latest", database_url=url)
    # Before the checks, the restored database still holds the keys (the backup predates the erasure)…
    assert _key_row(target, url, str(patient.vault_id))[0] > 0
    assert _key_row(target, url, str(study.vault_id))[0] > 0
    report = restoring.run_checks(target, restoring.Keys.live(), database_url=url)
    # …and the restore destroys them again from the shred list, before anything reads.
    assert report["ok"], report["failures"]
    assert report["checks"]["shred_list"] == {"listed": 2, "destroyed_again": 2}
    assert report["checks"]["sample_fields"]["rows_erased"] >= 1
    for owner_id in (str(patient.vault_id), str(study.vault_id)):
        length, destroyed_at = _key_row(target, url, owner_id)
        assert length == 0 and destroyed_at is not None


def test_the_shred_list_catches_up_with_the_database_at_each_backup(demo_data, repository, settings):
    patient = demo_data["paula"].patient
    owners = {str(patient.vault_id), str(Study.objects.get(patient=patient).vault_id)}  # and her study's
    vault.do_shred(patient, by=demo_data["alice"], reason="effacement")
    Path(settings.BACKUP_SHRED_LIST_PATH).unlink()  # lost (e.g. restored from an older escrow)
    run = do_backup(repository)
    assert run.summary["shred_list_added"] == 2
    assert {entry["owner_id"] for entry in shredlist.read()} == owners


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


@pytest.fixture
def own_audit_key(settings, tmp_path):
    """A signing key of this test's own, set before the demo data (the rotation replaces the file)."""
    from cordee.audit import signing

    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "live-keys" / "audit-ed25519.pem"
    signing.create_key(settings.AUDIT_SIGNING_KEY_PATH)
    return settings.AUDIT_SIGNING_KEY_PATH


@pytest.mark.timeout(180)
def test_a_backup_across_a_signing_key_rotation_restores_and_verifies(
    own_audit_key, demo_data, repository, restore_target, tmp_path
):
    from cordee.audit import checkpoints, keyring, rotation

    target, url = restore_target
    checkpoints.make_checkpoint()
    rotation.rotate()  # the old key's checkpoints, then the new key's
    do_backup(repository)
    restoring.restore(repository, target, snapshot_id="latest", database_url=url)
    report = restoring.run_checks(target, restoring.Keys.live(), database_url=url)
    assert report["ok"], report["failures"]
    assert report["checks"]["audit"]["ok"] and report["checks"]["audit"]["checkpoints"] >= 2
    # The same keys without the ring beside the signing key: the retired key's checkpoints fail.
    bare = tmp_path / "bare-keys"
    bare.mkdir()
    (bare / "audit-ed25519.pem").write_bytes(own_audit_key.read_bytes())
    assert keyring.path_for(bare / "audit-ed25519.pem").exists() is False
    keys = restoring.Keys(restoring.Keys.live().keyset, bare / "audit-ed25519.pem", restoring.Keys.live().mac)
    report = restoring.run_checks(target, keys, database_url=url)
    assert not report["ok"] and not report["checks"]["audit"]["ok"]
    assert any("signed by a key that is not in the audit key ring" in failure for failure in report["failures"])
