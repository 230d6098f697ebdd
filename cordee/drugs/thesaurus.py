"""Importing the ANSM interaction thesaurus extraction (``import_interactions DIR``).

All or nothing: every file is read and checked first (``thesaurus_files`` recognises the
layout), and only then is what is stored replaced, in one transaction. The import is refused
— the run fails, the command exits non-zero, the stored thesaurus stays as it was — when the
interaction or the molecule-family file is missing or not understood, when too many lines are
rejected, or when the new counts fall below half of the previous import's (a truncated file
looks like that) unless ``allow_shrink`` is given. The refusal says what was expected and what
was found.

The level of an interaction is read from the start of its text ("CONTRE-INDICATION",
"Association DECONSEILLEE", "Precaution d'emploi", "A prendre en compte", or a combination such
as "CI - ASDEC - APEC"), and from the level columns when the text has none. The molecule list
is optional: without it, the molecules are those of the family file and the protagonists.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cordee.drugs.models import ImportIssue, ImportRun, Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.text import fold
from cordee.drugs.thesaurus_files import LEVEL_COLUMNS, Table, discover

Level = Interaction.Level
_WORDS = {"CONTRE-INDICATION": Level.CI, "ASSOCIATION DECONSEILLEE": Level.AD,
          "PRECAUTION D'EMPLOI": Level.PE, "A PRENDRE EN COMPTE": Level.PC}  # fmt: skip
_CODES = {"CI": Level.CI, "ASDEC": Level.AD, "AD": Level.AD, "PE": Level.PE, "APEC": Level.PC, "PC": Level.PC}
_CODE_PREFIX = re.compile(r"^\s*((?:CI|ASDEC|APEC|AD|PE|PC)(?:\s*-\s*(?:CI|ASDEC|APEC|AD|PE|PC))*)\b\s*")
_COLUMNS = (Level.CI, Level.AD, Level.PE, Level.PC)
SHRINK_GUARD = 0.5  # fewer than this share of the previous import's rows looks truncated
MAX_REJECTED_SHARE = 0.05  # more rejected lines than this: the layout was not understood
REQUIRED = ("thesaurus", "classes")


class ThesaurusRefused(Exception):
    """The import is refused as a whole; the message says why. Nothing was stored."""


def term_key(name: str) -> str:
    """The matching key of a thesaurus name: folded, parentheses kept as words."""
    return fold(name)


def parse_levels(text: str, columns: list[str]) -> tuple[list[str], str]:
    """The levels named by an interaction and the rest of its text (the conduct to hold)."""
    upper = _plain_upper(text.strip())
    for words, level in _WORDS.items():
        if upper.startswith(words):
            return [level], text.strip()[len(words) :].strip()
    match = _CODE_PREFIX.match(text)
    if match:
        codes = re.split(r"\s*-\s*", match.group(1))
        return sorted({_CODES[c] for c in codes}), text[match.end() :].strip()
    levels = [level for level, value in zip(_COLUMNS, columns, strict=False) if value.strip()]
    return sorted(set(levels)), text.strip()


def _plain_upper(text: str) -> str:
    """Upper case without accents, one character for one ("Association DÉCONSEILLÉE")."""
    return "".join(unicodedata.normalize("NFKD", c)[0] for c in text).upper()


@dataclass
class _Read:
    """What the files hold, read and checked, before anything is stored."""

    molecules: dict[str, str] = field(default_factory=dict)  # key -> name
    members: dict[tuple[str, str], str] = field(default_factory=dict)  # (class key, molecule key) -> class name
    member_names: dict[str, str] = field(default_factory=dict)  # molecule key -> name, from the family file
    interactions: list[Interaction] = field(default_factory=list)


@dataclass
class ThesaurusImport:
    run: ImportRun
    allow_shrink: bool = False
    issues: list[ImportIssue] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=lambda: {"files": [], "missing": [], "counts": {}})

    def execute(self) -> None:
        try:
            read = self._read_all()
            self._check(read)
        except ThesaurusRefused:
            with transaction.atomic():
                self._finish(stored=False)
            raise
        with transaction.atomic():
            ThesaurusMolecule.objects.all().delete()
            ThesaurusClassMember.objects.all().delete()
            Interaction.objects.all().delete()
            ThesaurusMolecule.objects.bulk_create([ThesaurusMolecule(name=n, key=k) for k, n in read.molecules.items()])
            ThesaurusClassMember.objects.bulk_create(
                [ThesaurusClassMember(class_name=n, class_key=c, molecule_key=m) for (c, m), n in read.members.items()],
                batch_size=1000,
            )
            Interaction.objects.bulk_create(read.interactions, batch_size=1000)
            self._finish(stored=True)

    # --- reading -------------------------------------------------------------------------
    def _read_all(self) -> _Read:
        tables, refused = discover([Path(d) for d in self.run.directories])
        self.run.files_total = len(tables) + len(refused)
        self.run.save(update_fields=["files_total"])
        for path, reason in refused:
            self._issue(ImportIssue.Kind.FILE, path.name, 0, reason)
            self.report["files"].append({"name": path.name, "error": reason, "lines": 0, "stored": 0, "rejected": 0})
        chosen = self._choose(tables)
        self.report["missing"] = [kind for kind in ("thesaurus", "classes", "molecules") if kind not in chosen]
        missing = [kind for kind in REQUIRED if kind not in chosen]
        if missing:
            reasons = "; ".join(f"{path.name}: {reason}" for path, reason in refused)
            raise ThesaurusRefused(
                _("No %(kinds)s file could be read in %(dirs)s.")
                % {"kinds": ", ".join(missing), "dirs": ", ".join(self.run.directories)}
                + (" " + reasons if reasons else "")
            )
        read = _Read()
        self._read_classes(chosen["classes"], read)
        if "molecules" in chosen:
            self._read_molecules(chosen["molecules"], read)
        else:
            read.molecules = dict(read.member_names)
            self._entry(chosen["classes"])["notes"].append(
                _("No molecule list: the molecules are those of the family file.")
            )
        self._read_interactions(chosen["thesaurus"], read)
        return read

    def _choose(self, tables: list[Table]) -> dict[str, Table]:
        chosen: dict[str, Table] = {}
        for table in tables:  # sorted by name: the last one of a kind wins
            if table.kind in chosen:
                self.report.setdefault("ignored", []).append(chosen[table.kind].path.name)
            chosen[table.kind] = table
        for table in chosen.values():
            self.report["files"].append(
                {"key": table.kind, "name": table.path.name, "lines": len(table.rows), "rejected": 0, "stored": 0,
                 "encoding": table.encoding, "layout": table.layout, "notes": list(table.notes)}
            )  # fmt: skip
        return chosen

    def _entry(self, table: Table) -> dict[str, Any]:
        return next(f for f in self.report["files"] if f.get("key") == table.kind)

    def _reject(self, table: Table, line: int, reason: str, fields: list[str]) -> None:
        self._issue(ImportIssue.Kind.REJECTED, table.path.name, line, reason, "\t".join(fields))
        self._entry(table)["rejected"] += 1

    def _read_classes(self, table: Table, read: _Read) -> None:
        for line, fields in table.rows:
            molecule, family = table.value(fields, "molecule"), table.value(fields, "family")
            if not molecule or not family:
                self._reject(table, line, _("A molecule and its family are expected."), fields)
                continue
            read.members.setdefault((term_key(family), term_key(molecule)), family)
            read.member_names.setdefault(term_key(molecule), molecule)
        self._entry(table)["stored"] = len(read.members)

    def _read_molecules(self, table: Table, read: _Read) -> None:
        for _line, fields in table.rows:
            name = table.value(fields, "molecule")
            if name:
                read.molecules.setdefault(term_key(name), name)
        self._entry(table)["stored"] = len(table.rows)

    def _read_interactions(self, table: Table, read: _Read) -> None:
        classes = {c for c, _m in read.members}
        unknown: set[str] = set()
        for line, fields in table.rows:
            interaction = self._interaction(table, line, fields)
            if interaction is None:
                continue
            for name, key in (
                (interaction.protagonist_a, interaction.key_a),
                (interaction.protagonist_b, interaction.key_b),
            ):
                if key not in read.molecules and key not in classes and key not in unknown:
                    unknown.add(key)
                    reason = _("“%(name)s” is neither a molecule nor a class of the thesaurus: matched by name only.")
                    self._issue(ImportIssue.Kind.ORPHAN, table.path.name, line, reason % {"name": name})
            read.interactions.append(interaction)
        self._entry(table)["stored"] = len(read.interactions)

    def _interaction(self, table: Table, line: int, fields: list[str]) -> Interaction | None:
        a, b = table.value(fields, "protagonist_a"), table.value(fields, "protagonist_b")
        levels_text = [table.value(fields, c) for c in LEVEL_COLUMNS]
        text = table.value(fields, "description") or next((t for t in levels_text if t), "")
        if not a or not b:
            self._reject(table, line, _("Both protagonists are expected."), fields)
            return None
        levels, conduct = parse_levels(text, levels_text)
        if not levels:
            reason = _("No interaction level (CI, AD, PE or PC) in the text or the level columns.")
            self._reject(table, line, reason, fields)
            return None
        return Interaction(
            protagonist_a=a, key_a=term_key(a), protagonist_b=b, key_b=term_key(b), level=levels[0],
            levels=",".join(levels), conduct=conduct, mechanism=table.value(fields, "mechanism"),
            see_also=table.value(fields, "see_also"), line=line,
        )  # fmt: skip

    # --- checking ------------------------------------------------------------------------
    def _check(self, read: _Read) -> None:
        counts = {"interactions": len(read.interactions), "class_members": len(read.members),
                  "classes": len({c for c, _m in read.members}), "molecules": len(read.molecules)}  # fmt: skip
        self.report["counts"] = counts
        for entry in self.report["files"]:
            if entry.get("lines") and entry["rejected"] > MAX_REJECTED_SHARE * entry["lines"]:
                raise ThesaurusRefused(
                    _("%(rejected)s of %(lines)s lines of %(name)s rejected: not understood, nothing stored.")
                    % {"rejected": entry["rejected"], "lines": entry["lines"], "name": entry["name"]}
                )
        previous = {
            "interactions": Interaction.objects.count(),
            "class_members": ThesaurusClassMember.objects.count(),
        }
        shrunk = [name for name, stored in previous.items() if stored and counts[name] < SHRINK_GUARD * stored]
        if shrunk and not self.allow_shrink:
            details = ", ".join(f"{name}: {counts[name]} (stored: {previous[name]})" for name in shrunk)
            raise ThesaurusRefused(
                _(
                    "The new thesaurus is less than half the size of the stored one (%(details)s): it looks "
                    "truncated, so the stored thesaurus was kept. Import with --allow-shrink if it is right."
                )
                % {"details": details}
            )

    # --- bookkeeping ---------------------------------------------------------------------
    def _issue(self, kind: str, file: str, line: int, reason: str, text: str = "") -> None:
        self.issues.append(
            ImportIssue(run=self.run, kind=kind, file=file, line=line, reason=reason, excerpt=text[:200])
        )

    def _finish(self, *, stored: bool) -> None:
        if not stored:
            for entry in self.report["files"]:
                entry["stored"] = 0
        ImportIssue.objects.bulk_create(self.issues, batch_size=1000)
        self.run.report = self.report
        self.run.rejected_count = sum(1 for i in self.issues if i.kind != ImportIssue.Kind.ORPHAN)
        self.run.orphan_count = sum(1 for i in self.issues if i.kind == ImportIssue.Kind.ORPHAN)
        self.run.files_done = self.run.files_total
        self.run.save(update_fields=["report", "rejected_count", "orphan_count", "files_done"])
