"""Importing the library: the only code that changes the articles, audited.

Who may import: the platform **operator** (an active superuser), as for the drug database: the
articles are shared reference data and the files come from the server's disk
(``LIBRARY_IMPORT_DIR``), which only the operator fills. ``do_queue_import`` records the request
(audited) and starts the background task after commit; the command creates its run the same way
and runs it in the foreground. ``do_run_import`` performs a run and audits its end.

The readers' own library (collections, notes, sharing) is in ``services.shelf``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.audit import services as audit
from cordee.library.importer import SUFFIXES, Import
from cordee.library.models import ImportRun

logger = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(hours=6)  # a baseline (1,200 files) takes hours; a run older than this is lost
MAX_FILES_LISTED = 2000


def can_import(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def import_root() -> Path:
    return Path(settings.LIBRARY_IMPORT_DIR)


def importable_files() -> list[str]:
    """The files under the import root (two levels), as paths relative to it, sorted."""
    root = import_root()
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if len(relative.parts) > 2 or any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.name.lower().endswith(SUFFIXES):
            found.append(relative.as_posix())
        if len(found) >= MAX_FILES_LISTED:
            break
    return found


def _check_paths(paths: list[Path]) -> list[str]:
    if not paths:
        raise ValidationError(_("Choose at least one file."))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValidationError(_("Not a file: %(files)s.") % {"files": ", ".join(missing[:5])})
    return [str(p.resolve()) for p in paths]


def _create_run(
    paths: list[Path], *, source: str, by: Any, display: str, request: HttpRequest | None = None
) -> ImportRun:
    checked = _check_paths(paths)
    with transaction.atomic():
        run = ImportRun.objects.create(source=source, started_by=by, started_by_display=display[:200], paths=checked)
        details: dict[str, Any] = {"run": run.pk, "files": len(checked), "via": source}
        if source == ImportRun.Source.COMMAND:
            details["system_user"] = display
        audit.record("library.import.requested", actor=by, request=request, target=run, details=details)
    return run


def do_queue_import(names: list[str], *, by: Any, request: HttpRequest | None = None) -> ImportRun:
    """Queue an import of files chosen among ``importable_files()`` (the import page)."""
    if not can_import(by):
        raise PermissionDenied
    allowed = set(importable_files())
    if not names:
        raise ValidationError(_("Choose at least one file."))
    if any(name not in allowed for name in names):
        raise ValidationError(_("Choose files from the list."))
    recent = timezone.now() - STALE_AFTER
    if ImportRun.objects.filter(
        status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING], created_at__gte=recent
    ).exists():
        raise ValidationError(_("An import is already under way: wait for it to end."))
    paths = [import_root() / name for name in sorted(set(names))]
    run = _create_run(paths, source=ImportRun.Source.PAGE, by=by, display=by.display_name, request=request)
    from cordee.library.tasks import run_import  # the task module imports this one

    transaction.on_commit(lambda: run_import.enqueue(run.pk))
    return run


def create_command_run(paths: list[Path]) -> ImportRun:
    try:
        system_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        system_user = "?"
    return _create_run(paths, source=ImportRun.Source.COMMAND, by=None, display=f"{system_user} (manage.py)")


def do_run_import(run_id: int) -> ImportRun:
    """Perform a queued run once (a retried task finds it started and returns)."""
    started = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, started_at=timezone.now()
    )
    run = ImportRun.objects.get(pk=run_id)
    if not started:
        return run
    try:
        Import(run).execute()
        run.status = ImportRun.Status.DONE
    except Exception as exc:  # the run records why it failed; the worker must not crash
        logger.exception("library import #%s failed", run.pk)
        run.status, run.error = ImportRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save(update_fields=["status", "error", "finished_at", "report"])
        audit.record(
            "library.import.finished" if run.status == ImportRun.Status.DONE else "library.import.failed",
            actor=run.started_by,
            target=run,
            outcome="success" if run.status == ImportRun.Status.DONE else "failure",
            details={"run": run.pk, "counts": run.report.get("counts", {}), "error": run.error[:500]},
        )
    return run
