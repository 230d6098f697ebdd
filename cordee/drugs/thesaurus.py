"""Importing the ANSM interaction thesaurus extraction (``import_interactions DIR``).

The extraction (third-party, from the August 2016 PDF) has three tab-separated files with a
header row: ``thesaurus*.csv`` (protagonist 1 and 2, the interaction text starting with its
level, "see also", the mechanism, then the CI/AD/PE/PC columns, often empty), ``moleculesfamilles
*.csv`` (molecule → class) and ``molecules*.txt`` (one molecule per line). It is ASCII, upper
case, without accents. The level is read from the start of the interaction text
("CONTRE-INDICATION", "Association DECONSEILLEE", "Precaution d'emploi", "A prendre en compte",
or a combination such as "CI - ASDEC - APEC"), and from the level columns when the text has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cordee.drugs.bdpm.files import FileRefused, LineReader
from cordee.drugs.models import ImportIssue, ImportRun, Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.text import fold

FILES = {
    "thesaurus": re.compile(r"^thesaurus.*\.(csv|txt|tsv)$", re.IGNORECASE),
    "classes": re.compile(r"^moleculesfamilles.*\.(csv|txt|tsv)$", re.IGNORECASE),
    "molecules": re.compile(r"^molecules(?!familles).*\.(csv|txt|tsv)$", re.IGNORECASE),
}
HEADERS = {
    "thesaurus": ["protagoniste1", "protagoniste2", "description_interaction", "description_medoc", "mecanisme",
                  "CI", "AD", "PE", "PC"],
    "classes": ["molecule", "famille"],
}  # fmt: skip
Level = Interaction.Level
_WORDS = {"CONTRE-INDICATION": Level.CI, "ASSOCIATION DECONSEILLEE": Level.AD,
          "PRECAUTION D'EMPLOI": Level.PE, "A PRENDRE EN COMPTE": Level.PC}  # fmt: skip
_CODES = {"CI": Level.CI, "ASDEC": Level.AD, "AD": Level.AD, "PE": Level.PE, "APEC": Level.PC, "PC": Level.PC}
_CODE_PREFIX = re.compile(r"^\s*((?:CI|ASDEC|APEC|AD|PE|PC)(?:\s*-\s*(?:CI|ASDEC|APEC|AD|PE|PC))*)\b\s*")
_COLUMNS = (Level.CI, Level.AD, Level.PE, Level.PC)


def term_key(name: str) -> str:
    """The matching key of a thesaurus name: folded, parentheses kept as words."""
    return fold(name)


def parse_levels(text: str, columns: list[str]) -> tuple[list[str], str]:
    """The levels named by an interaction and the rest of its text (the conduct to hold)."""
    upper = text.strip().upper()
    for words, level in _WORDS.items():
        if upper.startswith(words):
            return [level], text.strip()[len(words) :].strip()
    match = _CODE_PREFIX.match(text)
    if match:
        codes = re.split(r"\s*-\s*", match.group(1))
        return sorted({_CODES[c] for c in codes}), text[match.end() :].strip()
    levels = [level for level, value in zip(_COLUMNS, columns, strict=False) if value.strip()]
    return sorted(set(levels)), text.strip()


@dataclass
class ThesaurusImport:
    run: ImportRun
    issues: list[ImportIssue] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=lambda: {"files": [], "missing": [], "counts": {}})

    def execute(self) -> None:
        paths = self._discover()
        self.run.files_total = len(paths)
        self.run.save(update_fields=["files_total"])
        rows = {key: self._read(key, path) for key, path in paths.items()}
        with transaction.atomic():
            if "molecules" in rows:
                self._store_molecules(rows["molecules"])
            if "classes" in rows:
                self._store_classes(rows["classes"])
            if "thesaurus" in rows:
                self._store_interactions(rows["thesaurus"], paths["thesaurus"].name)
            ImportIssue.objects.bulk_create(self.issues)
        self.run.report = self.report
        self.run.rejected_count = sum(1 for i in self.issues if i.kind != ImportIssue.Kind.ORPHAN)
        self.run.orphan_count = sum(1 for i in self.issues if i.kind == ImportIssue.Kind.ORPHAN)
        self.run.files_done = len(paths)
        self.run.save(update_fields=["report", "rejected_count", "orphan_count", "files_done"])

    def _discover(self) -> dict[str, Path]:
        listing = sorted(
            (p for d in self.run.directories for p in Path(d).iterdir() if p.is_file()), key=lambda p: p.name
        )
        paths: dict[str, Path] = {}
        for key, pattern in FILES.items():
            matches = [p for p in listing if pattern.match(p.name)]
            if matches:
                paths[key] = matches[-1]
            else:
                self.report["missing"].append(key)
        return paths

    def _issue(self, kind: str, file: str, line: int, reason: str, text: str = "") -> None:
        self.issues.append(
            ImportIssue(run=self.run, kind=kind, file=file, line=line, reason=reason, excerpt=text[:200])
        )

    def _read(self, key: str, path: Path) -> list[tuple[int, list[str]]]:
        """The data lines of a file as (line number, fields), header checked and skipped."""
        columns = len(HEADERS.get(key, ["molecule"]))
        reader, rows = LineReader(path), []
        entry: dict[str, Any] = {"key": key, "name": path.name, "lines": 0, "rejected": 0}
        self.run.current_file = path.name
        self.run.save(update_fields=["current_file"])
        try:
            for line in reader:
                if line.text is None:
                    self._issue(ImportIssue.Kind.REJECTED, path.name, line.number, line.problem)
                    entry["rejected"] += 1
                    continue
                fields = line.text.split("\t")
                if line.number == 1 and key in HEADERS:
                    if [f.strip() for f in fields] != HEADERS[key]:
                        raise FileRefused(_("Unexpected header: %(h)s.") % {"h": ", ".join(HEADERS[key])})
                    continue
                entry["lines"] += 1
                if len(fields) > columns and not any(f.strip() for f in fields[columns:]):
                    fields = fields[:columns]
                if len(fields) != columns or not fields[0].strip():
                    reason = _("%(expected)s fields expected, %(found)s found.") % {
                        "expected": columns,
                        "found": len(fields),
                    }
                    self._issue(ImportIssue.Kind.REJECTED, path.name, line.number, reason, line.text)
                    entry["rejected"] += 1
                    continue
                rows.append((line.number, fields))
        except FileRefused as exc:
            self._issue(ImportIssue.Kind.FILE, path.name, 0, str(exc))
            entry["error"] = str(exc)
            rows = []
        entry.update(encoding=reader.encoding, eol=reader.eol, notes=reader.notes)
        self.report["files"].append(entry)
        return rows

    def _store_molecules(self, rows: list[tuple[int, list[str]]]) -> None:
        ThesaurusMolecule.objects.all().delete()
        seen: dict[str, str] = {}
        for _number, fields in rows:
            name = fields[0].strip()
            seen.setdefault(term_key(name), name)
        ThesaurusMolecule.objects.bulk_create([ThesaurusMolecule(name=n, key=k) for k, n in seen.items()])
        self.report["counts"]["molecules"] = len(seen)

    def _store_classes(self, rows: list[tuple[int, list[str]]]) -> None:
        ThesaurusClassMember.objects.all().delete()
        pairs: dict[tuple[str, str], str] = {}
        for _number, (molecule, name) in rows:
            pairs.setdefault((term_key(name), term_key(molecule)), name.strip())
        ThesaurusClassMember.objects.bulk_create(
            [ThesaurusClassMember(class_name=n, class_key=c, molecule_key=m) for (c, m), n in pairs.items()]
        )
        self.report["counts"]["class_members"] = len(pairs)
        self.report["counts"]["classes"] = len({c for c, _m in pairs})

    def _store_interactions(self, rows: list[tuple[int, list[str]]], file: str) -> None:
        Interaction.objects.all().delete()
        known = set(ThesaurusMolecule.objects.values_list("key", flat=True))
        known |= set(ThesaurusClassMember.objects.values_list("class_key", flat=True))
        objects, unknown = [], set()
        for number, fields in rows:
            levels, conduct = parse_levels(fields[2], fields[5:9])
            if not levels:
                reason = _("No interaction level (CI, AD, PE or PC) in the text or the level columns.")
                self._issue(ImportIssue.Kind.REJECTED, file, number, reason, "\t".join(fields))
                continue
            a, b = fields[0].strip(), fields[1].strip()
            for name in (a, b):
                if term_key(name) not in known and name not in unknown:
                    unknown.add(name)
                    reason = _("“%(name)s” is neither a molecule nor a class of the thesaurus: matched by name only.")
                    self._issue(ImportIssue.Kind.ORPHAN, file, number, reason % {"name": name})
            objects.append(
                Interaction(
                    protagonist_a=a,
                    key_a=term_key(a),
                    protagonist_b=b,
                    key_b=term_key(b),
                    level=levels[0],
                    levels=",".join(levels),
                    conduct=conduct,
                    mechanism=fields[4].strip(),
                    see_also=fields[3].strip(),
                    line=number,
                )  # fmt: skip
            )
        Interaction.objects.bulk_create(objects, batch_size=1000)
        self.report["counts"]["interactions"] = len(objects)
