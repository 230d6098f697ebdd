"""Import PubMed/MEDLINE files: ``manage.py import_pubmed FILE [FILE …]``.

XML (``PubmedArticleSet``, ``MedlineCitationSet``; ``.xml`` or ``.xml.gz``) or MEDLINE text
(``.nbib``/``.txt``). Files are read in the order given (give the baseline before the updates:
a newer version of a PMID replaces an older one either way). Prints a report per file: records,
created, updated, unchanged, older versions kept out, withdrawn (DeleteCitation), skipped
records and, for a damaged file, where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.lib.asgi import settle_startup_objects
from cordee.library import services
from cordee.library.models import ImportRun


class Command(BaseCommand):
    help = "Import PubMed XML (.xml, .xml.gz) or MEDLINE text (.nbib, .txt) files into the library."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--background", action="store_true", help="queue it for the task worker")

    def handle(self, *args: Any, files: list[Path], background: bool, **options: Any) -> None:
        paths: list[Path] = []
        for path in files:
            paths += sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        try:
            run = services.create_command_run(paths)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        if background:
            from cordee.library.tasks import run_import  # the task module imports the services

            run_import.enqueue(run.pk)
            self.stdout.write(f"import #{run.pk} queued; follow it on the import page")
            return
        settle_startup_objects()  # as the worker does before its tasks (full collections skip Django's objects)
        run = services.do_run_import(run.pk)
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0
        self.stdout.write(f"import #{run.pk}: {run.status} in {seconds:.1f} s")
        for entry in run.report.get("files", []):
            line = (
                f"  {entry['name']}: {entry.get('records', 0)} records, {entry.get('created', 0)} created, "
                f"{entry.get('updated', 0)} updated, {entry.get('unchanged', 0)} unchanged, "
                f"{entry.get('older', 0)} older kept out, {entry.get('duplicate', 0)} repeated, "
                f"{entry.get('deleted', 0)} withdrawn"
            )
            self.stdout.write(line)
            if entry.get("error"):
                self.stdout.write(f"    refused: {entry['error']}")
            if entry.get("stopped"):
                stop = entry["stopped"]
                self.stdout.write(
                    f"    stopped at line {stop['line']}, column {stop['column']}: {stop['reason']} "
                    "(every complete record before it was imported)"
                )
            for number, reason in entry.get("skipped", []):
                self.stdout.write(f"    record {number} skipped: {reason}")
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(f"import #{run.pk} failed: {run.error}")
