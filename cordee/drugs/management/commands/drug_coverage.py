"""How many BDPM substances the interaction thesaurus can match: ``manage.py drug_coverage``.

Prints the share of the active substances of commercialised specialities that map to a
thesaurus molecule, class or protagonist, then the unmapped ones, most prescribed first
(``--limit``), and the "near misses" (an unmapped name containing a thesaurus name).
``--json PATH`` writes the whole report; ``--explain NAME`` shows how one name is matched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cordee.drugs import coverage
from cordee.drugs.thesaurus_index import thesaurus


class Command(BaseCommand):
    help = "Report how many BDPM substances of commercialised specialities map to the interaction thesaurus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", type=Path, help="write the whole report (every unmapped name) to this file")
        parser.add_argument("--limit", type=int, default=30, help="unmapped names printed (default 30)")
        parser.add_argument("--explain", metavar="NAME", help="show the forms tried for one substance name")

    def handle(self, *args: Any, json: Path | None, limit: int, explain: str | None, **options: Any) -> None:
        if explain:
            book = thesaurus()
            for form in coverage.match_forms(explain):
                self.stdout.write(f"  {form!r}: {book.molecules.get(form, '—')}")
            return
        found = coverage.report()
        if json:
            json.parent.mkdir(parents=True, exist_ok=True)
            json.write_text(_dumps(found), encoding="utf-8")
        self.stdout.write(
            f"{found['substances_mapped']} of {found['substances']} substances mapped "
            f"({found['substances_mapped_pct']} %); {found['substance_lines_mapped']} of {found['substance_lines']} "
            f"composition lines ({found['substance_lines_mapped_pct']} %); {found['products_with_a_mapped_substance']} "
            f"of {found['products']} commercialised specialities have a mapped substance"
        )
        for item in found["unmapped"][:limit]:
            self.stdout.write(f"  unmapped: {item['name']} ({item['lines']} lines)")
        for item in found["near_misses"][:limit]:
            self.stdout.write(f"  near miss: {item['name']} (contains {item['contains']!r})")


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
