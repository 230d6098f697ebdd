"""Streaming reader of the Annuaire Santé ``PS_LibreAcces_Personne_activite`` extraction.

The official file (ANS, "Nouvelles extractions en libre accès" v1.2) is UTF-8, pipe-separated,
without quoting, with a header row and a trailing ``|`` on every line; one line per activity
(*exercice*), so a person appears on as many lines as they have activities. ``Type
d'identifiant PP`` is ``8`` for an RPPS number (11 digits, Luhn key) and ``0`` for an ADELI
number (9 characters); ``Identification nationale PP`` is that digit followed by the number.

The reader never holds the file in memory: it reads one line at a time (each capped at
``MAX_LINE_BYTES``). A whole-file problem (empty, binary, not this extraction) raises
``AnnuaireFormatError``; a bad line becomes a ``Rejection`` with its number and reason, and
reading goes on. Every line after the header yields exactly one ``Row`` or ``Rejection``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

from cordee.accounts.identifiers import IdentifierError, validate_rpps

ID_TYPE_RPPS = "8"
ID_TYPE_ADELI = "0"
MAX_LINE_BYTES = 64 * 1024  # real lines are under 2 KB
_MAX_NOTED_LINES = 20
_BOM = b"\xef\xbb\xbf"

# Our field name -> the column's name in the header of the official file.
COLUMNS: dict[str, str] = {
    "id_type": "Type d'identifiant PP",
    "identifier": "Identifiant PP",
    "national_id": "Identification nationale PP",
    "exercise_civility": "Libellé civilité d'exercice",
    "civility": "Libellé civilité",
    "last_name": "Nom d'exercice",
    "first_name": "Prénom d'exercice",
    "profession_code": "Code profession",
    "profession_label": "Libellé profession",
    "category_code": "Code catégorie professionnelle",
    "category_label": "Libellé catégorie professionnelle",
    "savoir_faire_code": "Code savoir-faire",
    "savoir_faire_label": "Libellé savoir-faire",
    "practice_mode_code": "Code mode exercice",
    "practice_mode_label": "Libellé mode exercice",
    "siret": "Numéro SIRET site",
    "finess_site": "Numéro FINESS site",
    "finess_legal": "Numéro FINESS établissement juridique",
    "structure_name": "Raison sociale site",
}
# Longest value kept for each field; the models use the same limits.
MAX_LENGTHS: dict[str, int] = {
    "id_type": 1, "identifier": 11, "national_id": 12, "exercise_civility": 60, "civility": 60,
    "last_name": 150, "first_name": 150, "profession_code": 4, "profession_label": 150, "category_code": 4,
    "category_label": 100, "savoir_faire_code": 10, "savoir_faire_label": 200, "practice_mode_code": 4,
    "practice_mode_label": 100, "siret": 14, "finess_site": 9, "finess_legal": 9, "structure_name": 250,
}  # fmt: skip
_SIGNATURES = {
    b"PK\x03\x04": "ZIP",
    b"\x1f\x8b": "gzip",
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


class AnnuaireFormatError(ValueError):
    """The file as a whole cannot be read as a PS_LibreAcces extraction; the message says why."""


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    @property
    def rpps(self) -> str:
        return self.values["identifier"] if self.values["id_type"] == ID_TYPE_RPPS else ""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str

    def as_dict(self) -> dict[str, int | str]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class AnnuaireReader:
    """Iterate over it for one ``Row`` or ``Rejection`` per data line; build it with ``open_extraction``."""

    stream: BinaryIO
    encoding: str = "utf-8"
    field_count: int = 0
    trailing_separator: bool = True
    positions: dict[str, int] = field(default_factory=dict)
    fallback_lines: list[int] = field(default_factory=list)
    fallback_count: int = 0
    line_number: int = 1

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.encoding == "cp1252":
            notes.append(_("The file is not UTF-8: it was read as Windows-1252 (cp1252)."))
        if self.fallback_count:
            lines = ", ".join(str(n) for n in self.fallback_lines)
            more = "…" if self.fallback_count > len(self.fallback_lines) else ""
            notes.append(
                _("%(n)s line(s) were not valid UTF-8 and were read as Windows-1252: %(lines)s%(more)s.")
                % {"n": self.fallback_count, "lines": lines, "more": more}
            )
        return notes

    def __iter__(self) -> Iterator[Row | Rejection]:
        while True:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.line_number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(self.stream)
                yield Rejection(self.line_number, _("Line longer than %(n)s bytes.") % {"n": MAX_LINE_BYTES})
                continue
            yield self._parse(self.line_number, raw.rstrip(b"\r\n"))

    def _parse(self, number: int, raw: bytes) -> Row | Rejection:
        if not raw.strip():
            return Rejection(number, _("Empty line."))
        if b"\x00" in raw:
            return Rejection(number, _("Binary data in the line."))
        text = self._decode(number, raw)
        if text is None:
            return Rejection(number, _("Characters that are neither UTF-8 nor Windows-1252."))
        if self.trailing_separator and not text.endswith("|"):
            return Rejection(number, _("The line does not end with “|” as the header does (cut short?)."))
        fields = _split(text)
        if len(fields) != self.field_count:
            return Rejection(
                number,
                _("%(expected)s fields expected, %(found)s found.")
                % {"expected": self.field_count, "found": len(fields)},
            )
        values = {name: fields[position].strip() for name, position in self.positions.items()}
        reason = check_values(values)
        return Rejection(number, reason) if reason else Row(number, values)

    def _decode(self, number: int, raw: bytes) -> str | None:
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            pass
        if self.encoding == "cp1252":
            return None
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            return None
        self.fallback_count += 1
        if len(self.fallback_lines) < _MAX_NOTED_LINES:
            self.fallback_lines.append(number)
        return text


def open_extraction(stream: BinaryIO) -> AnnuaireReader:
    """Read and check the header; raise ``AnnuaireFormatError`` if this is not the extraction."""
    raw = stream.readline(MAX_LINE_BYTES + 1)
    if not raw.strip():
        raise AnnuaireFormatError(_("The file is empty."))
    _refuse_binary(raw)
    text, encoding = _decode_header(raw.removeprefix(_BOM).rstrip(b"\r\n"))
    header = [name.strip() for name in _split(text)]
    missing = [name for name in COLUMNS.values() if name not in header]
    if missing:
        raise AnnuaireFormatError(
            _(
                "This is not an Annuaire Santé PS_LibreAcces_Personne_activite extraction: "
                "the header has no column “%(column)s”."
            )
            % {"column": missing[0]}
        )
    positions = {key: header.index(name) for key, name in COLUMNS.items()}
    return AnnuaireReader(
        stream, encoding=encoding, field_count=len(header), trailing_separator=text.endswith("|"), positions=positions
    )


def check_values(values: dict[str, str]) -> str:
    """The reason a line's values cannot be imported, or ``""``."""
    reason = _check_identifier(values["id_type"], values["identifier"], values["national_id"])
    if reason:
        return reason
    if not values["last_name"]:
        return _("No family name (“%(column)s”).") % {"column": COLUMNS["last_name"]}
    if not values["profession_code"]:
        return _("No profession code (“%(column)s”).") % {"column": COLUMNS["profession_code"]}
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            return _("“%(column)s” is longer than %(n)s characters.") % {"column": COLUMNS[name], "n": limit}
    return ""


def _check_identifier(id_type: str, identifier: str, national_id: str) -> str:
    if id_type == ID_TYPE_RPPS:
        try:
            rpps = validate_rpps(identifier)
        except IdentifierError as exc:
            return _("Invalid RPPS number “%(value)s”: %(error)s") % {"value": identifier, "error": exc.messages[0]}
        if rpps != identifier:
            return _("Invalid RPPS number “%(value)s”: 11 digits expected.") % {"value": identifier}
    elif id_type == ID_TYPE_ADELI:
        if len(identifier) != 9 or not identifier.isascii() or not identifier.isalnum():
            return _("Invalid ADELI number “%(value)s”: 9 characters expected.") % {"value": identifier}
    else:
        return _("Unknown identifier type “%(value)s” (8 is RPPS, 0 is ADELI).") % {"value": id_type}
    if national_id != id_type + identifier:
        return _("The national identifier “%(national)s” is not %(type)s followed by “%(value)s”.") % {
            "national": national_id,
            "type": id_type,
            "value": identifier,
        }
    return ""


def _split(text: str) -> list[str]:
    """Split on ``|``; the one trailing ``|`` that ends every official line is not a field."""
    return text.removesuffix("|").split("|")


def _refuse_binary(raw: bytes) -> None:
    for signature, kind in _SIGNATURES.items():
        if raw.startswith(signature):
            if kind == "ZIP":
                raise AnnuaireFormatError(
                    _("This is a ZIP archive: extract PS_LibreAcces_Personne_activite_….txt from it and send that.")
                )
            raise AnnuaireFormatError(_("This is a %(kind)s file, not a text extraction.") % {"kind": kind})
    if b"\x00" in raw or len(raw) > MAX_LINE_BYTES:
        raise AnnuaireFormatError(_("This is not a text file."))


def _decode_header(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise AnnuaireFormatError(_("This is not a text file.")) from None


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return
