"""What the import commands share: create the run, perform or queue it, print its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.drugs import services
from cordee.drugs.models import ImportIssue, ImportRun

SHOWN_PER_FILE = 20


class ImportCommand(BaseCommand):
    kind: str = ImportRun.Kind.BDPM

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directories", nargs="+", type=Path, help="directories holding the files")
        parser.add_argument(
            "--background", action="store_true", help="queue the import for the task worker (manage.py worker)"
        )
        parser.add_argument(
            "--allow-shrink",
            action="store_true",
            help="accept files that would remove or replace more than half of what is stored",
        )

    def handle(self, *args: Any, directories: list[Path], background: bool, **options: Any) -> None:
        try:
            run = services.create_command_run(self.kind, directories)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        if background:
            from cordee.drugs.tasks import run_import  # here: the task module imports this command's services

            run_import.enqueue(run.pk)
            self.stdout.write(f"import #{run.pk} queued; follow it on the import page")
            return
        run = services.do_run_import(run.pk, allow_shrink=options.get("allow_shrink", False))
        self.report(run, verbosity=options["verbosity"])
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(f"import #{run.pk} failed: {run.error}")

    def report(self, run: ImportRun, *, verbosity: int) -> None:
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0
        self.stdout.write(f"import #{run.pk}: {run.status} in {seconds:.1f} s")
        for entry in run.report.get("files", []):
            name = f"{entry['name']} ({entry['layout']})" if entry.get("layout") else entry["name"]
            line = f"  {name}: {entry.get('lines', 0)} lines, {entry.get('stored', 0)} stored, "
            line += f"{entry.get('rejected', 0)} rejected, {entry.get('orphans', 0)} orphans"
            if entry.get("encoding"):
                line += f" ({entry['encoding']}, {entry.get('eol')})"
            self.stdout.write(line + (f" — refused: {entry['error']}" if entry.get("error") else ""))
            for note in entry.get("notes", []):
                self.stdout.write(f"    note: {note}")
        for key in run.report.get("missing", []):
            self.stdout.write(f"  missing: {key} (nothing imported for it; what is stored is kept)")
        for name, value in run.report.get("counts", {}).items():
            if not isinstance(value, dict):
                self.stdout.write(f"  {name}: {value}")
        issues = run.issues.exclude(kind=ImportIssue.Kind.ORPHAN)
        shown: dict[str, int] = {}
        for issue in issues.order_by("file", "line"):
            shown[issue.file] = shown.get(issue.file, 0) + 1
            if verbosity >= 2 or shown[issue.file] <= SHOWN_PER_FILE:
                self.stdout.write(f"  {issue.file}:{issue.line}: {issue.reason}")
        if verbosity < 2 and any(n > SHOWN_PER_FILE for n in shown.values()):
            self.stdout.write("  (more rejected lines on the import page, or with -v 2)")
