"""Import the BDPM files: ``manage.py import_bdpm DIR [DIR …]``.

Reads the official files found in the directories (the first directory holding a file wins,
so list the newest snapshot first), prints a report per file, the missing files and every
rejected line (the first 20 per file; all with ``-v 2``; all are on the import page).
"""

from __future__ import annotations

from cordee.drugs.management.commands._runs import ImportCommand
from cordee.drugs.models import ImportRun


class Command(ImportCommand):
    help = "Import the BDPM files (CIS_bdpm.txt, CIS_CIP_bdpm.txt, …) found in the directories."
    kind = ImportRun.Kind.BDPM
