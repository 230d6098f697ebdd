"""Finding the BDPM files in directories and reading their lines, whatever their encoding.

The files are tab-separated without header or quoting. Encoding varies by file and by year
(UTF-8 or Windows-1252), so every line is decoded as UTF-8 first and, if that fails, as cp1252:
a pure file of either kind reads correctly, and so does a file that mixes both (noted). CRLF and
LF both end a line; a missing final newline is fine; blank lines are skipped and noted. A file
that is not text (UTF-16, ZIP, binary) is refused as a whole with the reason, and the import
goes on with the other files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

MAX_LINE_BYTES = 64 * 1024  # the longest real line (HAS opinions) is under 8 KB
_NOTED_LINES = 20
_BOM = b"\xef\xbb\xbf"
_SIGNATURES = {
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
    b"PK\x03\x04": "ZIP",
    b"\x1f\x8b": "gzip",
    b"%PDF": "PDF",
}


@dataclass(frozen=True)
class FileSpec:
    key: str  # the name ANSM gives the file, without "_bdpm", date suffix or ".txt"
    columns: int
    label: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^{re.escape(self.key)}(_\d{{8,14}})?(_bdpm)?(_\d{{8,14}})?\.txt$", re.IGNORECASE)


# In import order: specialities first (the others refer to them), HAS links after the opinions.
SPECS: tuple[FileSpec, ...] = (
    FileSpec("CIS", 12, "spécialités"),
    FileSpec("CIS_CIP", 13, "présentations"),
    FileSpec("CIS_COMPO", 8, "compositions"),
    FileSpec("CIS_GENER", 5, "groupes génériques"),
    FileSpec("CIS_CPD", 2, "conditions de prescription et de délivrance"),
    FileSpec("CIS_HAS_SMR", 6, "avis SMR de la HAS"),
    FileSpec("CIS_HAS_ASMR", 6, "avis ASMR de la HAS"),
    FileSpec("HAS_LiensPageCT", 2, "liens vers les avis de la commission de la transparence"),
    FileSpec("CIS_CIP_Dispo_Spec", 8, "disponibilité (ruptures et tensions)"),
    FileSpec("CIS_MITM", 4, "médicaments d'intérêt thérapeutique majeur"),
    FileSpec("CIS_InfoImportantes", 4, "informations importantes de sécurité"),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


class FileRefused(ValueError):
    """The file as a whole cannot be read as a BDPM text file; the message says why."""


@dataclass
class Found:
    spec: FileSpec
    path: Path
    ignored: list[Path] = field(default_factory=list)  # other candidates for the same file


def discover(directories: list[Path]) -> tuple[list[Found], list[str]]:
    """The files to import, in import order, and the keys of the missing ones.

    A file may carry a date suffix (``CIS_InfoImportantes_20231118113338_bdpm.txt``). When a
    file is in several directories the first directory wins; within one directory the latest
    name (highest date suffix) wins. The others are listed in ``ignored``.
    """
    found: list[Found] = []
    missing: list[str] = []
    listings = [sorted((p for p in d.iterdir() if p.is_file()), reverse=True) for d in directories]
    for spec in SPECS:
        candidates = [p for listing in listings for p in listing if spec.pattern.match(p.name)]
        if candidates:
            found.append(Found(spec, candidates[0], candidates[1:]))
        else:
            missing.append(spec.key)
    return found, missing


@dataclass
class Line:
    number: int
    text: str | None  # None: the line could not be decoded or was too long (see ``problem``)
    problem: str = ""
    last: bool = False  # the last line of the file (it may lack its newline)
    has_newline: bool = True


@dataclass
class LineReader:
    """Iterate for one ``Line`` per non-blank line; ``encoding``, ``eol`` and ``notes`` after."""

    path: Path
    utf8_lines: int = 0
    cp1252_lines: int = 0
    crlf: int = 0
    lf: int = 0
    blank_lines: list[int] = field(default_factory=list)
    blank_count: int = 0
    final_newline: bool = True
    bom: bool = False

    @property
    def encoding(self) -> str:
        if self.cp1252_lines and self.utf8_lines:
            return "mixed"
        return "cp1252" if self.cp1252_lines else "utf-8"

    @property
    def eol(self) -> str:
        if self.crlf and self.lf:
            return "mixed"
        return "CRLF" if self.crlf else "LF"

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.encoding == "mixed":
            notes.append(
                _("Mixed encodings: %(utf8)s line(s) in UTF-8 and %(cp)s in Windows-1252, each read as such.")
                % {"utf8": self.utf8_lines, "cp": self.cp1252_lines}
            )
        if self.blank_count:
            shown = ", ".join(str(n) for n in self.blank_lines)
            more = "…" if self.blank_count > len(self.blank_lines) else ""
            notes.append(
                _("%(n)s blank line(s) skipped: %(lines)s%(more)s.")
                % {"n": self.blank_count, "lines": shown, "more": more}
            )
        if not self.final_newline:
            notes.append(_("No newline after the last line."))
        if self.bom:
            notes.append(_("UTF-8 byte order mark at the start, ignored."))
        return notes

    def __iter__(self) -> Iterator[Line]:
        with self.path.open("rb") as stream:
            head = stream.read(4096)
            refuse_non_text(head)
            stream.seek(0)
            yield from self._lines(stream)

    def _lines(self, stream: BinaryIO) -> Iterator[Line]:
        number = 0
        pending: Line | None = None
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            number += 1
            if number == 1 and raw.startswith(_BOM):
                raw, self.bom = raw[len(_BOM) :], True
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(stream)
                line = Line(number, None, _("Line longer than %(n)s bytes.") % {"n": MAX_LINE_BYTES})
            else:
                decoded = self._decode(number, raw)
                if decoded is None:
                    continue
                line = decoded
            if pending is not None:
                yield pending
            pending = line
        if pending is not None:
            pending.last = True
            self.final_newline = pending.has_newline
            yield pending

    def _decode(self, number: int, raw: bytes) -> Line | None:
        has_newline = raw.endswith(b"\n")
        if raw.endswith(b"\r\n"):
            self.crlf += 1
        elif has_newline:
            self.lf += 1
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            self.blank_count += 1
            if len(self.blank_lines) < _NOTED_LINES:
                self.blank_lines.append(number)
            return None
        if b"\x00" in body:
            return Line(number, None, _("Binary data (NUL byte) in the line."), has_newline=has_newline)
        try:
            text = body.decode("utf-8")
            if not body.isascii():
                self.utf8_lines += 1
        except UnicodeDecodeError:
            try:
                text = body.decode("cp1252")
            except UnicodeDecodeError:
                return Line(
                    number, None, _("Characters that are neither UTF-8 nor Windows-1252."), has_newline=has_newline
                )
            self.cp1252_lines += 1
        return Line(number, text, has_newline=has_newline)


def refuse_non_text(head: bytes) -> None:
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            raise FileRefused(
                _("This is a %(kind)s file, not a BDPM text file (tab-separated, UTF-8 or Windows-1252).")
                % {"kind": kind}
            )
    if head.count(b"\x00") > len(head) // 10:  # UTF-16 without BOM, or binary; a stray NUL only rejects its line
        raise FileRefused(_("Binary data (NUL bytes): not a BDPM text file; UTF-16 is not accepted."))


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return
