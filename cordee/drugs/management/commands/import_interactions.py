"""Import the ANSM interaction thesaurus extraction: ``manage.py import_interactions DIR``.

The directory holds the interaction file (``thesaurus*.csv``), the molecule-family file
(``moleculesfamilles*.csv``) and, optionally, the molecule list (``molecules*.txt``), in any of
the published layouts (see ``cordee.drugs.thesaurus_files``). A refused import exits non-zero
and leaves the stored thesaurus as it was. After an import, the command says how many BDPM
substances of commercialised specialities map to the thesaurus (``manage.py drug_coverage``
lists them).
"""

from __future__ import annotations

from cordee.drugs import coverage
from cordee.drugs.management.commands._runs import ImportCommand
from cordee.drugs.models import ImportRun


class Command(ImportCommand):
    help = "Import the ANSM drug-interaction thesaurus extraction found in the directory."
    kind = ImportRun.Kind.INTERACTIONS

    def report(self, run: ImportRun, *, verbosity: int) -> None:
        super().report(run, verbosity=verbosity)
        if run.status == ImportRun.Status.DONE:
            c = coverage.report(unmapped_limit=0)
            self.stdout.write(
                f"  BDPM substances of commercialised specialities mapping to the thesaurus: "
                f"{c['substances_mapped']} of {c['substances']} ({c['substances_mapped_pct']} %); "
                f"specialities with at least one: {c['products_with_a_mapped_substance']} of {c['products']}"
            )
