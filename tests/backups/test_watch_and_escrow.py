"""The worker's jobs (backup, watch of a missing backup) and the key escrow."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cordee.audit import checkpoints, keyring, rotation, signing
from cordee.audit import services as audit
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import verify_chain
from cordee.backups import escrow, services, shredlist
from cordee.backups.models import BackupRun
from cordee.security.models import Alert
from cordee.worker.jobs import registered


def test_the_worker_runs_the_backup_and_the_watch():
    jobs = {job.name: job for job in registered()}
    assert jobs["backups.backup"].every() == dt.timedelta(days=1)
    assert jobs["backups.watch"].every() == dt.timedelta(hours=1)


def test_no_repository_no_scheduled_backup_nor_alert(personas, settings):
    settings.BACKUP_REPOSITORY = ""
    assert services.scheduled_backup() == ""
    assert services.do_watch() == ""
    assert not Alert.objects.exists()


def test_a_missing_backup_alerts_the_officers_once_while_open(
    personas, backup_settings, otto, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.do_watch() == "no recent backup: alert raised"
    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.BACKUP_MISSING and alert.structure is not None
    assert alert.figures == {"last_success": None, "count": 1}
    assert AuditEntry.objects.filter(action="security.alert_raised", target_id=str(alert.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.do_watch()  # still none: the open alert counts it, no second alert nor e-mail
    assert Alert.objects.get().figures["count"] == 2
    assert [message.to for message in mail.outbox] == [[otto.email]]


def test_a_recent_good_backup_raises_nothing_an_old_one_does(personas, backup_settings):
    now = timezone.now()
    BackupRun.objects.create(started_at=now, finished_at=now - dt.timedelta(hours=25), succeeded=True)
    BackupRun.objects.create(started_at=now, finished_at=now, succeeded=False, error="x")
    assert services.do_watch(now) == ""
    assert services.do_watch(now + dt.timedelta(hours=2)) == "no recent backup: alert raised"


def test_the_scheduled_backup_runs_with_a_repository(demo_data, backup_settings):
    assert services.scheduled_backup().startswith("backup ")
    assert BackupRun.objects.get().succeeded


PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _cheaper_scrypt(monkeypatch):
    """The parameters travel in the file's header: a cheaper cost keeps these tests fast."""
    monkeypatch.setattr(escrow, "SCRYPT", {"n": 2**14, "r": 8, "p": 1})


def test_escrow_wraps_the_keys_and_unwraps_them_with_the_passphrase_only(backup_settings, tmp_path):
    shredlist.path().parent.mkdir(parents=True, exist_ok=True)
    shredlist.path().write_text('{"owner_id": "x", "owner_type": "y"}\n')
    document = escrow.wrap(PASSPHRASE)
    keyset_bytes = Path(backup_settings.VAULT_KEYSET_PATH).read_bytes()
    assert b'"kek"' not in document and keyset_bytes[:40] not in document  # ciphertext only
    assert json.loads(document)["kdf"]["name"] == "scrypt"
    with pytest.raises(escrow.EscrowError, match="Wrong passphrase"):
        escrow.unwrap(document, "not the passphrase at all")
    tampered = json.loads(document)
    tampered["kdf"]["n"] = 2**15
    with pytest.raises(escrow.EscrowError):
        escrow.unwrap(json.dumps(tampered).encode(), PASSPHRASE)
    written = escrow.write_files(escrow.unwrap(document, PASSPHRASE), tmp_path / "keys-out")
    assert sorted(path.name for path in written) == sorted([*escrow.FILES, escrow.SHRED_LIST])
    assert (tmp_path / "keys-out" / "vault-kek.json").read_bytes() == keyset_bytes
    assert (tmp_path / "keys-out" / "vault-kek.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):  # never over existing keys
        escrow.write_files(escrow.unwrap(document, PASSPHRASE), tmp_path / "keys-out")


def test_escrow_command_refuses_a_short_passphrase_and_an_existing_file(backup_settings, tmp_path):
    short = tmp_path / "short"
    short.write_text("too short")
    with pytest.raises(CommandError, match="at least 16"):
        call_command("escrow_keys", "export", "--out", str(tmp_path / "e.json"), "--passphrase-file", str(short))
    good = tmp_path / "good"
    good.write_text(PASSPHRASE + "\n")
    call_command("escrow_keys", "export", "--out", str(tmp_path / "e.json"), "--passphrase-file", str(good))
    with pytest.raises(CommandError):
        call_command("escrow_keys", "export", "--out", str(tmp_path / "e.json"), "--passphrase-file", str(good))
    call_command(
        "escrow_keys",
        "unwrap",
        str(tmp_path / "e.json"),
        "--out-dir",
        str(tmp_path / "k"),
        "--passphrase-file",
        str(good),
    )
    assert (tmp_path / "k" / "audit-mac.key").exists()


@pytest.mark.django_db
def test_escrow_carries_the_ring_of_retired_signing_keys(backup_settings, settings, tmp_path):
    """After a rotation the checkpoints of the retired key verify only with the ring: escrowed too."""
    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "live-keys" / "signing.pem"  # not the escrow's name
    signing.create_key(settings.AUDIT_SIGNING_KEY_PATH)
    audit.record("test.before_rotation")
    checkpoints.make_checkpoint()
    rotation.rotate()
    ring = keyring.ring_path()
    assert ring.name == "signing.ring.json"
    live_ids = [key.key_id for key in keyring.load().keys]
    document = escrow.wrap(PASSPHRASE)
    out = tmp_path / "keys-out"
    written = escrow.write_files(escrow.unwrap(document, PASSPHRASE), out)
    assert sorted(path.name for path in written) == sorted([*escrow.FILES, "audit-ed25519.ring.json"])
    assert (out / "audit-ed25519.ring.json").read_bytes() == ring.read_bytes()
    assert (out / "audit-ed25519.ring.json").stat().st_mode & 0o777 == 0o600
    # The restore reads the ring beside the escrowed key (restore.Keys.from_dir): both keys' checkpoints verify.
    settings.AUDIT_SIGNING_KEY_PATH = out / "audit-ed25519.pem"
    assert [key.key_id for key in keyring.load().keys] == live_ids
    result = verify_chain()
    assert result.ok, result.problems
    assert len(set(AuditCheckpoint.objects.values_list("key_id", flat=True))) == 2
    # Without the ring, the retired key's checkpoint is no longer trusted.
    (out / "audit-ed25519.ring.json").unlink()
    assert "not in the audit key ring" in verify_chain().first_problem.message
