"""Importing the drug database: the only code that changes it, audited.

Who may import: the platform **operator** only (an active superuser, who also runs
``manage.py``). The BDPM and the thesaurus are national reference data shared by every
structure, on which prescriptions rely: a structure's administrator must not be able to change
them for everyone, and the files come from the server's disk, which only the operator fills.

``do_queue_import`` records the request (audited, with its actor) and starts the background
task after commit; the command creates its run the same way (audited with the system account
that ran it) and runs it in the foreground. ``do_run_import`` performs a run and audits its end.
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
from cordee.drugs import search_index
from cordee.drugs.bdpm.importer import BdpmImport, summary_counts
from cordee.drugs.models import ImportRun
from cordee.drugs.thesaurus import ThesaurusImport, ThesaurusRefused

logger = logging.getLogger(__name__)
# A run still queued or running after this long is taken as lost (worker stopped): it no longer
# blocks a new one. A full import takes well under a minute.
STALE_AFTER = dt.timedelta(hours=1)


def can_import(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def import_root() -> Path:
    return Path(settings.DRUGS_IMPORT_DIR)


def importable_directories() -> list[str]:
    """The sub-directories of the import root, newest name first (a dated snapshot sorts last)."""
    root = import_root()
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def _check_directories(directories: list[Path]) -> list[str]:
    if not directories:
        raise ValidationError(_("Choose at least one directory."))
    missing = [str(d) for d in directories if not d.is_dir()]
    if missing:
        raise ValidationError(_("Not a directory: %(dirs)s.") % {"dirs": ", ".join(missing)})
    return [str(d.resolve()) for d in directories]


def _create_run(
    kind: str, directories: list[Path], *, source: str, by: Any, display: str, request: HttpRequest | None = None
) -> ImportRun:
    paths = _check_directories(directories)
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind, source=source, started_by=by, started_by_display=display[:200], directories=paths
        )
        details = {"run": run.pk, "kind": kind, "directories": paths, "via": source}
        if source == ImportRun.Source.COMMAND:
            details["system_user"] = display
        audit.record("drugs.import.requested", actor=by, request=request, target=run, details=details)
    return run


def do_queue_import(kind: str, directory_names: list[str], *, by: Any, request: HttpRequest | None = None) -> ImportRun:
    """Queue an import of directories chosen among ``importable_directories()`` (page)."""
    if not can_import(by):
        raise PermissionDenied
    if kind not in ImportRun.Kind.values:
        raise ValidationError(_("Unknown kind of import."))
    allowed = set(importable_directories())
    if any(name not in allowed for name in directory_names):
        raise ValidationError(_("Choose directories from the list."))
    recent = timezone.now() - STALE_AFTER
    if ImportRun.objects.filter(
        status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING], created_at__gte=recent
    ).exists():
        raise ValidationError(_("An import is already under way: wait for it to end."))
    directories = [import_root() / name for name in sorted(directory_names, reverse=True)]
    run = _create_run(kind, directories, source=ImportRun.Source.PAGE, by=by, display=by.display_name, request=request)
    from cordee.drugs.tasks import run_import  # the task module imports this one

    transaction.on_commit(lambda: run_import.enqueue(run.pk))
    return run


def create_command_run(kind: str, directories: list[Path]) -> ImportRun:
    """A run for ``manage.py import_bdpm`` / ``import_interactions``, audited with the system user."""
    try:
        system_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        system_user = "?"
    return _create_run(
        kind, directories, source=ImportRun.Source.COMMAND, by=None, display=f"{system_user} (manage.py)"
    )


def do_run_import(run_id: int, *, allow_shrink: bool = False) -> ImportRun:
    """Perform a queued run once (a retried task finds it started and returns)."""
    started = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, started_at=timezone.now()
    )
    run = ImportRun.objects.get(pk=run_id)
    if not started:
        return run
    try:
        if run.kind == ImportRun.Kind.BDPM:
            BdpmImport(run, allow_shrink=allow_shrink).execute()
            run.report.setdefault("counts", {}).update(summary_counts())
        else:
            ThesaurusImport(run, allow_shrink=allow_shrink).execute()
        run.status = ImportRun.Status.DONE
    except ThesaurusRefused as exc:  # refused as a whole: nothing was stored, the run says why
        logger.warning("drug database import #%s refused: %s", run.pk, exc)
        run.status, run.error = ImportRun.Status.FAILED, str(exc)[:2000]
    except Exception as exc:  # the run records why it failed; the worker must not crash
        logger.exception("drug database import #%s failed", run.pk)
        run.status, run.error = ImportRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save(update_fields=["status", "error", "finished_at", "report"])
        audit.record(
            "drugs.import.finished" if run.status == ImportRun.Status.DONE else "drugs.import.failed",
            actor=run.started_by,
            target=run,
            outcome="success" if run.status == ImportRun.Status.DONE else "failure",
            details={
                "run": run.pk,
                "kind": run.kind,
                "rejected": run.rejected_count,
                "orphans": run.orphan_count,
                # the lines read, for the security detection's "import of unusual size"
                "rows": sum(int(entry.get("lines") or 0) for entry in run.report.get("files", [])),
                "missing": run.report.get("missing", []),
                "error": run.error[:500],
            },
        )
    search_index.invalidate()
    return run
