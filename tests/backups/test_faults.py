"""Faults during a backup: kill -9, a full disk, the alerts they raise; the append-only repository.

The disk-full and append-only tests need root (a small tmpfs mount; restic run as another Unix
user): they skip elsewhere, and fail under CI if it is not root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from cordee.audit.models import AuditEntry
from cordee.backups import restic
from cordee.backups.models import BackupRun
from cordee.backups.services import BackupFailed, do_backup
from cordee.security.models import Alert
from tests.conftest import require

ROOT = os.geteuid() == 0


def _random_files(directory: Path, count: int, size: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (directory / f"filler-{index:03}").write_bytes(os.urandom(size))


@pytest.mark.timeout(120)
def test_kill_9_mid_backup_keeps_the_previous_snapshots_and_the_next_run_completes(demo_data, repository, settings):
    first = do_backup(repository)
    _random_files(Path(settings.BLOB_DIR) / "ff", 24, 1 << 20)  # 24 MiB more to upload
    packs_before = {p for p in Path(settings.BACKUP_REPOSITORY, "data").rglob("*") if p.is_file()}
    process = repository.popen("backup", "--quiet", str(settings.BLOB_DIR))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until restic has written part of the new data
        if {p for p in Path(settings.BACKUP_REPOSITORY, "data").rglob("*") if p.is_file()} - packs_before:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert [s["short_id"] for s in repository.snapshots()] == [first.snapshot_id]
    repository.check()  # the repository is consistent: the half-written packs are unreferenced
    second = do_backup(repository)
    assert second.succeeded and len(repository.snapshots()) == 2


@pytest.mark.timeout(120)
def test_a_full_disk_fails_the_backup_and_alerts_the_officers(demo_data, backup_settings, tmp_path, client_for):
    require("root (mount a small tmpfs)", ROOT, "the disk-full test mounts a 3 MiB tmpfs")
    _random_files(Path(backup_settings.BLOB_DIR) / "ff", 8, 1 << 20)
    mail.outbox.clear()  # the demo's seeded referrals notify their receivers
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    try:
        repository = restic.Repository(str(mount / "repo"), backup_settings.BACKUP_PASSWORD)
        with pytest.raises(BackupFailed, match="The disk is full"):
            do_backup(repository)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    run = BackupRun.objects.get()
    assert run.succeeded is False and "disk is full" in run.error
    assert AuditEntry.objects.filter(action="backup.failed", outcome="failure", details__run=run.pk).exists()
    alert = Alert.objects.get(kind=Alert.Kind.BACKUP_FAILED)
    assert alert.structure is not None and alert.severity == Alert.Severity.HIGH
    assert AuditEntry.objects.filter(action="security.alert_raised", target_id=str(alert.pk)).exists()
    otto = demo_data["otto"]
    assert [message.to for message in mail.outbox] == [[otto.email]]
    assert "disk" not in mail.outbox[0].body  # the e-mail says the kind and the link, no detail
    failed = AuditEntry.objects.get(action="backup.failed")
    assert alert.evidence == [failed.seq]

    # Otto (an officer of the structure) opens it from the queue; Charlie (no officer) gets the 404.
    page = client_for(otto).get(reverse("security:alert", args=[alert.pk]))
    assert page.status_code == 200
    assert "Échec de la sauvegarde" in page.content.decode() and "backup.failed" in page.content.decode()
    assert client_for(demo_data["charlie"]).get(reverse("security:alert", args=[alert.pk])).status_code == 404


@pytest.mark.timeout(120)
def test_the_server_cannot_delete_past_snapshots_of_an_append_only_repository(tmp_path, backup_settings):
    """The repository's files belong to the backup host's administrator; the Cordée server's user
    may add files (sticky, world-writable directories) but not delete or replace anyone else's:
    new backups work, ``forget`` from the server fails and the snapshots stay."""
    require("root (run restic as another user)", ROOT, "the append-only test runs restic as nobody")
    base = Path(tempfile.mkdtemp(prefix="append-only-"))
    try:
        base.chmod(0o755)
        source = base / "source"
        _random_files(source, 2, 4096)
        admin = restic.Repository(str(base / "repo"), backup_settings.BACKUP_PASSWORD)
        admin.init_if_needed()
        admin.run("backup", str(source))
        for directory in [base / "repo", *(p for p in (base / "repo").rglob("*") if p.is_dir())]:
            directory.chmod(0o1777)
        for path in (p for p in (base / "repo").rglob("*") if p.is_file()):
            path.chmod(0o644)
        source.chmod(0o755)
        for path in source.iterdir():
            path.chmod(0o644)
        env = {"RESTIC_REPOSITORY": admin.location, "RESTIC_PASSWORD": admin.password, "PATH": os.environ["PATH"]}
        as_server = ["runuser", "-u", "nobody", "--", "restic", "--no-cache"]
        added = subprocess.run([*as_server, "backup", str(source)], env=env, capture_output=True, check=False)
        assert added.returncode == 0, added.stderr
        assert len(admin.snapshots()) == 2
        # restic retries a refused delete with back-off: 2 s is enough to see it refused.
        forget = subprocess.run(
            ["timeout", "2", *as_server, "forget", "--keep-last", "1"], env=env, capture_output=True, text=True
        )
        assert "operation not permitted" in forget.stderr
        assert len(admin.snapshots()) == 2
        # The side holding the rights (here root, the repository's owner) applies the retention.
        admin.run("unlock", "--remove-all")
        admin.forget(daily=1, weekly=0, monthly=0)
        assert len(admin.snapshots()) == 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_compression_follows_the_setting_off_by_default(repository, backup_settings, tmp_path):
    """The blob store is ciphertext: restic's compression only costs CPU there, so it is off by
    default (BACKUP_COMPRESSION); "auto" compresses what compresses."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "text.txt").write_text("Compte rendu de consultation. " * 200_000)  # ~6 MB, compressible
    repository.init_if_needed()

    def stored() -> int:
        stats = json.loads(repository.run("stats", "--mode", "raw-data", "--json").stdout)
        return int(stats["total_size"])

    repository.backup(["source"], cwd=tmp_path, tags=["off"])
    plain = stored()
    assert plain > 5_000_000
    (source / "text.txt").write_text("Ordonnance renouvelée pour trois mois. " * 200_000)
    backup_settings.BACKUP_COMPRESSION = "auto"
    repository.backup(["source"], cwd=tmp_path, tags=["auto"])
    assert stored() - plain < 1_000_000  # ~8 MB of new text stored in far less
