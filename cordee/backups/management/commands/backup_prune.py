"""``manage.py backup_prune``: retention (7 daily, 4 weekly, 12 monthly by default).

Run it ONLY from the side that holds the rights to delete (the backup host's administrator, with
the repository's admin credentials), never from the Cordée server, whose append-only access
(rest-server --append-only, or S3 credentials without delete under Object Lock) must fail here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import restic


class Command(BaseCommand):
    help = "Forget and prune old snapshots (from the side that holds the rights to delete)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", help="restic repository (default: BACKUP_REPOSITORY)")
        parser.add_argument("--daily", type=int, default=7)
        parser.add_argument("--weekly", type=int, default=4)
        parser.add_argument("--monthly", type=int, default=12)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            repository = restic.Repository.configured(options["repository"])
            output = repository.forget(daily=options["daily"], weekly=options["weekly"], monthly=options["monthly"])
        except restic.ResticError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(output)
