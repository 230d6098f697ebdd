"""The restore drill: backup → restore elsewhere → self-checks → a report (``manage.py restore_drill``).

"Elsewhere" is a new temporary directory, and for PostgreSQL a new database named after the run
(``cordee_drill_<time>_<random>``) on the same server, created here and dropped afterwards: the
drill never touches a database it did not create. Runnable from cron; exit code 0 only when every
check passed.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cordee.backups import restic
from cordee.backups import restore as restoring
from cordee.backups.models import BackupRun
from cordee.backups.services import BackupFailed, do_backup


def _admin_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=int(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or "",
        dbname=db["NAME"],
        autocommit=True,
        connect_timeout=10,
    )


def _drill_database_url(name: str) -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def run(
    repository: restic.Repository | None = None, *, work_dir: Path | None = None, sample: int = 20
) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"started_at": timezone.now().isoformat(), "vendor": connection.vendor, "ok": False}
    repository = repository or restic.Repository.configured()
    try:
        run_record = do_backup(repository, kind=BackupRun.Kind.DRILL)
    except BackupFailed as exc:
        report["failures"] = [f"backup failed: {exc}"]
        return report
    report["backup"] = {"snapshot": run_record.snapshot_id, "seconds": round(time.monotonic() - started, 2)}
    base = Path(work_dir or settings.DATA_DIR)
    base.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="restore-drill-", dir=base)) / "data"
    database_name = url = None
    if connection.vendor == "postgresql":
        database_name = f"cordee_drill_{timezone.now():%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
        with _admin_connection() as admin:
            admin.execute(f'CREATE DATABASE "{database_name}"')
        url = _drill_database_url(database_name)
    report["target"] = {"directory": str(target), "database": database_name}
    try:
        restore_started = time.monotonic()
        restoring.restore(repository, target, snapshot_id=run_record.snapshot_id, database_url=url)
        report["restore_seconds"] = round(time.monotonic() - restore_started, 2)
        checks_started = time.monotonic()
        checks = restoring.run_checks(target, restoring.Keys.live(), database_url=url, sample=sample)
        report["checks_seconds"] = round(time.monotonic() - checks_started, 2)
        report["checks"] = checks.get("checks", {})
        report["failures"] = checks.get("failures", [])
        report["ok"] = bool(checks.get("ok"))
    except (restic.ResticError, restoring.RestoreError) as exc:
        report["failures"] = [str(exc)]
    finally:
        restoring.remove_dir(target.parent)
        if database_name:
            with _admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    report["seconds"] = round(time.monotonic() - started, 2)
    return report
