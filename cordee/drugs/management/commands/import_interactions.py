"""Import the ANSM interaction thesaurus extraction: ``manage.py import_interactions DIR``.

The directory holds ``thesaurus*.csv``, ``moleculesfamilles*.csv`` and ``molecules*.txt``.
After the import, the command says how many BDPM substances match a thesaurus molecule.
"""

from __future__ import annotations

from cordee.drugs.interactions import coverage
from cordee.drugs.management.commands._runs import ImportCommand
from cordee.drugs.models import ImportRun


class Command(ImportCommand):
    help = "Import the ANSM drug-interaction thesaurus extraction found in the directory."
    kind = ImportRun.Kind.INTERACTIONS

    def report(self, run: ImportRun, *, verbosity: int) -> None:
        super().report(run, verbosity=verbosity)
        if run.status == ImportRun.Status.DONE:
            c = coverage()
            self.stdout.write(
                f"  BDPM substances matching a thesaurus molecule: {c['substances_matched']} of {c['substances']} "
                f"({c['substances_not_homeopathic']} not homeopathic); specialities with at least one: "
                f"{c['products_matched']} of {c['products_with_composition']}"
            )
