"""``manage.py migrate_to_postgres URL``: everything from this SQLite database into an empty PostgreSQL one."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import migration
from cordee.backups.restore import RestoreError


class Command(BaseCommand):
    help = "Move every row of the SQLite database to an EMPTY PostgreSQL database; checks counts and the audit chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("database_url", help="postgres://user:password@host:5432/name (an empty database)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = migration.migrate(options["database_url"])
        except (migration.MigrationFailed, RestoreError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
        if not report["ok"]:
            sys.exit(1)
