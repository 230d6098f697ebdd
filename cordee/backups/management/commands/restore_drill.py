"""``manage.py restore_drill``: backup → restore elsewhere → checks → report (for cron; exit 1 on failure)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import drill, restic


class Command(BaseCommand):
    help = "Back up, restore into a new temporary target, check it, remove it, and print the report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", help="restic repository (default: BACKUP_REPOSITORY)")
        parser.add_argument("--work-dir", help="where the temporary restore goes (default: the data directory)")
        parser.add_argument("--sample", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="JSON report (default: a short text one)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            repository = restic.Repository.configured(options["repository"])
        except restic.ResticError as exc:
            raise CommandError(str(exc)) from None
        work_dir = Path(options["work_dir"]) if options["work_dir"] else None
        report = drill.run(repository, work_dir=work_dir, sample=options["sample"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
        else:
            status = "OK" if report["ok"] else "FAILED"
            self.stdout.write(f"restore drill {status} ({report['vendor']}, {report.get('seconds')} s)")
            for name, value in report.get("checks", {}).items():
                self.stdout.write(f"  {name}: {json.dumps(value, sort_keys=True)}")
            for failure in report.get("failures", []):
                self.stdout.write(f"  FAILURE: {failure}")
        if not report["ok"]:
            sys.exit(1)
