"""Import an Annuaire Santé ``PS_LibreAcces_Personne_activite`` extraction for every structure.

Usage: ``manage.py import_annuaire PATH``. Prints the counts, any note (encoding) and every
rejected line with its number and reason; exits with an error if the file is not an extraction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.accounts.annuaire.services import do_import_annuaire


class Command(BaseCommand):
    help = "Import an Annuaire Santé PS_LibreAcces_Personne_activite extraction (RPPS and ADELI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the unzipped PS_LibreAcces_Personne_activite_….txt file")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CommandError(f"cannot open {path}: {exc.strerror}") from None
        with stream:
            run = do_import_annuaire(stream, file_name=path.name)
        if run.error:
            raise CommandError(f"import #{run.pk} failed: {run.error}")
        self.stdout.write(f"import #{run.pk}: {run.rows} lines imported, {run.people} people, {run.rejected} rejected")
        for note in run.notes:
            self.stdout.write(f"note: {note}")
        for rejection in run.rejected_lines:
            self.stdout.write(f"line {rejection['line']}: {rejection['reason']}")
        if run.rejected_lines_truncated:
            self.stdout.write(f"(only the first {len(run.rejected_lines)} rejected lines were kept)")
