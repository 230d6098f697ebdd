"""Backups: the run (snapshot → restic), its record, and the alerts of a failed or missing one.

``do_backup`` writes the snapshot (``snapshot.write``) into the staging directory, brings the shred
list up to date, and has restic upload the staging directory and the blob directory in one
snapshot. It never deletes anything from the repository: retention (``manage.py backup_prune``) is
run from the side that holds the rights to delete (docs/backups.md), which the server has not.

A failure is recorded (``BackupRun``), audited (``backup.failed``) and raised as an alert to the
security officers (``Alert.Kind.BACKUP_FAILED``); the hourly watch raises ``BACKUP_MISSING`` when the
last good backup is older than ``BACKUP_MAX_AGE_SECONDS``. One open alert per kind and structure:
a new failure while one is open adds to its count instead of raising another.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import Membership, Structure, User
from cordee.audit import services as audit
from cordee.backups import restic, shredlist, snapshot
from cordee.backups.models import BackupRun
from cordee.security.models import Alert

logger = logging.getLogger("cordee.backups")

STAGING_NAME = "cordee-backup"  # the top directory of each snapshot (the database, checkpoints, manifest)


def every() -> dt.timedelta:
    return dt.timedelta(seconds=settings.BACKUP_EVERY_SECONDS)


def watch_every() -> dt.timedelta:
    return dt.timedelta(hours=1)


def staging_dir() -> Path:
    """Beside the blob directory, so that restic, run from their parent with relative paths, puts
    both at the top of the snapshot's tree (``cordee-backup/`` and the blob directory's name)."""
    return Path(settings.BLOB_DIR).parent / STAGING_NAME


class BackupFailed(Exception):
    pass


def do_backup(repository: restic.Repository | None = None, *, kind: str = BackupRun.Kind.BACKUP) -> BackupRun:
    """One backup; raises ``BackupFailed`` (recorded, audited, alerted) when it fails."""
    run = BackupRun.objects.create(kind=kind)
    staging = staging_dir()
    try:
        repository = repository or restic.Repository.configured()
        created = repository.init_if_needed()
        added = shredlist.sync_from_database()
        manifest = snapshot.write(staging)
        paths = [STAGING_NAME]
        blob_dir = Path(settings.BLOB_DIR)
        if settings.BLOB_BACKEND == "local":
            blob_dir.mkdir(parents=True, exist_ok=True)
            paths.append(blob_dir.name)
        summary = repository.backup(paths, cwd=staging.parent, tags=["cordee", kind])
    except (restic.ResticError, snapshot.SnapshotError, OSError, sqlite3.Error) as exc:
        message = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        _record_failure(run, message)
        raise BackupFailed(message) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    run.finished_at = timezone.now()
    run.succeeded = True
    run.snapshot_id = summary["snapshot_id"]
    run.summary = {
        "repository_created": created,
        "shred_list_added": added,
        "files": summary.get("total_files_processed"),
        "bytes": summary.get("total_bytes_processed"),
        "added_bytes": summary.get("data_added"),
        "seconds": summary.get("total_duration"),
        "tables": sum(manifest["tables"].values()),
        "blobs": manifest["blobs"]["count"],
        "audit_head": manifest["audit_head"]["seq"],
        "vendor": manifest["vendor"],
    }
    with transaction.atomic():
        run.save()
        audit.record("backup.completed", details={"run": run.pk, "snapshot": run.snapshot_id, "kind": kind})
    return run


def _record_failure(run: BackupRun, message: str) -> None:
    logger.error("backup failed: %s", message)
    if connection.in_atomic_block and connection.needs_rollback:
        return
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.succeeded = False
        run.error = message[:2000]
        run.save(update_fields=["finished_at", "succeeded", "error"])
        entry = audit.record("backup.failed", outcome="failure", details={"run": run.pk, "kind": run.kind})
        do_raise_backup_alert(Alert.Kind.BACKUP_FAILED, {"run": run.pk, "error": message[:300]}, evidence=[entry.seq])


def scheduled_backup() -> str:
    """The worker's job: a backup when a repository is configured."""
    if not settings.BACKUP_REPOSITORY:
        return ""
    run = do_backup()
    return f"backup {run.snapshot_id} done"


def last_success() -> BackupRun | None:
    return BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP, succeeded=True).order_by("-finished_at").first()


def do_watch(now: dt.datetime | None = None) -> str:
    """The hourly watch: an alert when no backup succeeded within ``BACKUP_MAX_AGE_SECONDS``."""
    if not settings.BACKUP_REPOSITORY:
        return ""
    now = now or timezone.now()
    last = last_success()
    limit = dt.timedelta(seconds=settings.BACKUP_MAX_AGE_SECONDS)
    if last is not None and last.finished_at and now - last.finished_at <= limit:
        return ""
    figures = {"last_success": last.finished_at.isoformat() if last and last.finished_at else None}
    do_raise_backup_alert(Alert.Kind.BACKUP_MISSING, figures)
    return "no recent backup: alert raised"


def _officer_emails(structure: Structure | None) -> list[str]:
    if structure is None:
        return sorted(set(User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)))
    officers = Membership.objects.filter(structure=structure, security_officer=True, user__is_active=True)
    return sorted(set(officers.values_list("user__email", flat=True)))


def _mail(alert_id: int, kind: str, emails: list[str]) -> None:
    link = settings.SITE_URL + reverse("security:alert", args=[alert_id])
    subject = _("[Cordée] Security alert (%(severity)s): %(kind)s") % {"severity": _("high"), "kind": kind}
    body = render_to_string("security/email/detection.txt", {"link": link, "kind": kind, "severity": _("high")})
    for email in emails:
        send_mail(subject, body, None, [email])


def do_raise_backup_alert(kind: str, figures: dict[str, Any], *, evidence: list[int] | None = None) -> int:
    """One open alert of ``kind`` per structure that has security officers (every structure's
    data is in the backup), or the platform operator's queue when none has; a repeat while the
    alert is open adds to its count. ``evidence``: the seqs of the audit entries of the failures
    (the officer's alert page lists them). Returns how many alerts were raised (not extended)."""
    structures: list[Structure | None] = list(
        Structure.objects.filter(memberships__security_officer=True).distinct().order_by("pk")
    )
    raised = 0
    now = timezone.now()
    with transaction.atomic():
        for structure in structures or [None]:
            open_alert = (
                Alert.objects.select_for_update()
                .filter(kind=kind, structure=structure, reviewed_at__isnull=True)
                .order_by("-pk")
                .first()
            )
            if open_alert is not None:
                open_alert.figures = {**open_alert.figures, **figures, "count": open_alert.figures.get("count", 1) + 1}
                open_alert.last_seen = now
                open_alert.evidence = sorted(set(open_alert.evidence) | set(evidence or []))[-1000:]
                open_alert.save(update_fields=["figures", "last_seen", "evidence"])
                continue
            alert = Alert.objects.create(
                structure=structure,
                structure_name=structure.name if structure else "",
                kind=kind,
                severity=Alert.Severity.HIGH,
                subject="backups",
                dedup_key=f"{kind}:backups",
                first_seen=now,
                last_seen=now,
                figures={**figures, "count": 1},
                evidence=evidence or [],
            )
            audit.record(
                "security.alert_raised",
                target=alert,
                details={"kind": kind, "structure": structure.pk if structure else None, "severity": alert.severity},
            )
            transaction.on_commit(
                functools.partial(_mail, alert.pk, str(alert.get_kind_display()), _officer_emails(structure))
            )
            raised += 1
    return raised
