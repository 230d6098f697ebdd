"""``manage.py restore_check``: the self-checks of a restored installation (run by ``restore``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cordee.backups import checks


class Command(BaseCommand):
    help = "Check a restored installation against its backup's manifest (prints a JSON report)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True)
        parser.add_argument("--shred-list", help="the erased owners to destroy again first")
        parser.add_argument("--sample", type=int, default=20, help="rows per encrypted table and blobs to decrypt")

    def handle(self, *args: Any, **options: Any) -> None:
        shred_list = Path(options["shred_list"]) if options["shred_list"] else None
        report = checks.run(Path(options["manifest"]), shred_list, sample=options["sample"])
        self.stdout.write(report.as_json())
        if not report.ok:
            sys.exit(1)
