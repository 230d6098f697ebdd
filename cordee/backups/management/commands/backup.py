"""``manage.py backup``: one encrypted, authenticated backup into the restic repository."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import restic
from cordee.backups.services import BackupFailed, do_backup


class Command(BaseCommand):
    help = "Back up the database, the blobs and the audit checkpoints (restic: encrypted and authenticated)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", help="restic repository (default: BACKUP_REPOSITORY)")
        parser.add_argument("--json", action="store_true", help="print the run's summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            repository = restic.Repository.configured(options["repository"])
            run = do_backup(repository)
        except (BackupFailed, restic.ResticError) as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"snapshot": run.snapshot_id, **run.summary}, sort_keys=True))
        else:
            self.stdout.write(f"backup {run.snapshot_id}: {run.summary['files']} files, {run.summary['bytes']} bytes")
