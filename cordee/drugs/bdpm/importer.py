"""Running a BDPM import: each file found is read, parsed and stored, with progress saved.

Every line ends up in exactly one place: stored, rejected (with its reason), or stored and
reported as an orphan (it names a CIS that no ``CIS_bdpm`` imported so far lists). Blank lines
are skipped and noted in the file's report. A refused file is reported and the others go on;
a missing file is listed and its stored rows are kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cordee.drugs.bdpm.files import FileRefused, Found, LineReader, discover
from cordee.drugs.bdpm.rows import PARSERS, RowError, parse_line
from cordee.drugs.bdpm.sql import bulk_insert
from cordee.drugs.bdpm.store import Parsed, store
from cordee.drugs.models import ImportIssue, ImportRun, Presentation, Product

PROGRESS_EVERY = 5000  # lines between two progress saves
NOTED_LINES = 20  # line numbers given in a note
_CIS_KEYED = {
    "CIS_CIP", "CIS_COMPO", "CIS_GENER", "CIS_CPD", "CIS_HAS_SMR", "CIS_HAS_ASMR",
    "CIS_CIP_Dispo_Spec", "CIS_MITM", "CIS_InfoImportantes",
}  # fmt: skip


class BdpmImport:
    def __init__(self, run: ImportRun, *, allow_shrink: bool = False) -> None:
        self.run = run
        self.allow_shrink = allow_shrink
        self.known_cis: set[str] | None = None
        self.issues: list[dict[str, Any]] = []

    def execute(self) -> None:
        directories = [Path(d) for d in self.run.directories]
        found, missing = discover(directories)
        self.run.files_total = len(found)
        self.run.report = {"files": [], "missing": missing, "counts": {}}
        self._save_progress("files_total", "report")
        for item in found:
            self._import_file(item)

    # --- one file -------------------------------------------------------------------------
    def _import_file(self, item: Found) -> None:
        started = time.monotonic()
        name = item.path.name
        self.run.current_file = name
        self._save_progress("current_file")
        entry: dict[str, Any] = {"key": item.spec.key, "name": name, "label": item.spec.label}
        if item.ignored:
            entry["ignored"] = [str(p) for p in item.ignored]
        reader = LineReader(item.path)
        try:
            parsed, lines, rejected = self._parse(item, reader)
        except (FileRefused, OSError) as exc:
            reason = (
                str(exc) if isinstance(exc, FileRefused) else _("Cannot read the file: %(e)s") % {"e": exc.strerror}
            )
            entry.update(error=reason, lines=0, stored=0, rejected=0, orphans=0)
            self._issue(ImportIssue.Kind.FILE, name, 0, reason)
            self._finish_file(entry, started)
            return
        orphans = self._orphans(item.spec.key, name, parsed)
        entry["read_seconds"] = round(time.monotonic() - started, 2)
        outcome = store(parsed, allow_shrink=self.allow_shrink)
        for number, reason in outcome.duplicates:
            self._issue(ImportIssue.Kind.REJECTED, name, number, reason)
        entry.update(
            encoding=reader.encoding,
            eol=reader.eol,
            lines=lines,
            stored=outcome.stored,
            rejected=rejected + len(outcome.duplicates),
            orphans=orphans,
            notes=reader.notes + _repair_notes(parsed) + outcome.notes,
            counts=outcome.counts,
            kept_previous=outcome.skipped,
        )
        if item.spec.key == "CIS":
            self.known_cis = None  # reload: the file may have added specialities
        self._finish_file(entry, started)

    def _parse(self, item: Found, reader: LineReader) -> tuple[Parsed, int, int]:
        parser = PARSERS[item.spec.key]
        parsed = Parsed(item.spec.key)
        lines = rejected = 0
        for line in reader:
            lines += 1
            if lines % PROGRESS_EVERY == 0:
                self.run.lines_read += PROGRESS_EVERY
                self._save_progress("lines_read")
            if line.text is None:
                rejected += 1
                self._issue(ImportIssue.Kind.REJECTED, item.path.name, line.number, line.problem)
                continue
            try:
                values, repaired = parse_line(parser, line.text, item.spec.columns)
            except RowError as exc:
                reason = str(exc)
                if line.last and not line.has_newline:
                    reason += " " + _("This last line has no newline: the file seems cut short.")
                rejected += 1
                self._issue(ImportIssue.Kind.REJECTED, item.path.name, line.number, reason, line.text)
                continue
            parsed.rows.append((line.number, values))
            if repaired:
                parsed.repaired.append(line.number)
        self.run.lines_read += lines % PROGRESS_EVERY
        return parsed, lines, rejected

    def _orphans(self, key: str, name: str, parsed: Parsed) -> int:
        if key not in _CIS_KEYED:
            return 0
        if self.known_cis is None:
            self.known_cis = set(Product.objects.values_list("cis", flat=True))
        known, count = self.known_cis, 0
        for number, values in parsed.rows:
            if values["cis"] not in known:
                count += 1
                reason = _("CIS %(cis)s is not in CIS_bdpm: the line is kept and will join once it is.")
                self._issue(ImportIssue.Kind.ORPHAN, name, number, reason % {"cis": values["cis"]})
        return count

    # --- bookkeeping ----------------------------------------------------------------------
    def _issue(self, kind: str, file: str, line: int, reason: str, text: str = "") -> None:
        self.issues.append(
            {"run_id": self.run.pk, "kind": kind, "file": file, "line": line, "reason": reason, "excerpt": text[:200]}
        )

    def _finish_file(self, entry: dict[str, Any], started: float) -> None:
        with transaction.atomic():  # one commit for the file's notes, not one per row
            bulk_insert(ImportIssue, self.issues)
        entry["seconds"] = round(time.monotonic() - started, 2)
        orphans = sum(1 for i in self.issues if i["kind"] == ImportIssue.Kind.ORPHAN)
        self.run.rejected_count += len(self.issues) - orphans
        self.run.orphan_count += orphans
        self.issues = []
        self.run.report["files"].append(entry)
        self.run.files_done += 1
        self.run.current_file = ""
        self._save_progress("report", "files_done", "current_file", "rejected_count", "orphan_count")

    def _save_progress(self, *fields: str) -> None:
        self.run.save(update_fields=list(fields))


def _repair_notes(parsed: Parsed) -> list[str]:
    if not parsed.repaired:
        return []
    shown = ", ".join(str(n) for n in parsed.repaired[:NOTED_LINES])
    more = "…" if len(parsed.repaired) > NOTED_LINES else ""
    return [
        _("%(n)s line(s) with extra empty fields (trailing or doubled tabs), read without them: %(lines)s%(more)s.")
        % {"n": len(parsed.repaired), "lines": shown, "more": more}
    ]


def summary_counts() -> dict[str, int]:
    """What the database holds after an import, for the report."""
    return {
        "products": Product.objects.count(),
        "products_listed": Product.objects.filter(removed_at__isnull=True).count(),
        "presentations": Presentation.objects.count(),
    }
