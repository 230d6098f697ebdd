"""Reading the files of an ANSM thesaurus extraction, whatever layout they were published in.

Extractions of the thesaurus have come in several layouts over the years, with the same
content: the August 2016 one is tab-separated, unquoted, with ``protagoniste1,
protagoniste2, description_interaction, description_medoc, mecanisme, CI, AD, PE, PC``;
earlier ones are semicolon-separated and quoted, with ``entree;interaction;page;CI;AD;PE;PC``
or ``protagoniste1;protagoniste2;page;CI;AD;PE;PC;couple`` and the whole text in the level
columns; the molecule-family file may be quoted, in lower case with accents
(``"molecule"\t"famille"``), the molecule list may have a header or not.

So a file is read by what it holds, not by its name alone: the separator (tab, semicolon,
comma or pipe) and the quoting are sniffed from its first line, column names are compared
folded (case, accents, spaces and punctuation ignored) against the names each layout used,
and each file is recognised by its columns. A file that cannot be read that way is refused
with what was expected and what was found (separator, columns); nothing is stored then.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cordee.drugs.bdpm.files import FileRefused, refuse_non_text
from cordee.drugs.text import fold

SEPARATORS = {"\t": gettext_noop("tab"), ";": gettext_noop("semicolon"), ",": gettext_noop("comma"),
              "|": gettext_noop("pipe")}  # fmt: skip
# Our column -> the names it had in the published layouts (compared folded, without spaces).
COLUMNS = {
    "protagonist_a": ("protagoniste1", "protagonistea", "entree", "molecule1", "substance1"),
    "protagonist_b": ("protagoniste2", "protagonisteb", "interaction", "molecule2", "substance2"),
    "description": ("descriptioninteraction", "description", "texte", "niveauetconduite"),
    "see_also": ("descriptionmedoc", "voiraussi"),
    "mechanism": ("mecanisme", "mecanismes"),
    "CI": ("ci", "contreindication"),
    "AD": ("ad", "asdec", "associationdeconseillee"),
    "PE": ("pe", "precautiondemploi"),
    "PC": ("pc", "apec", "aprendreencompte"),
    "molecule": ("molecule", "molecules", "substance", "dci", "nom"),
    "family": ("famille", "familles", "classe", "classes", "classetherapeutique"),
}
LEVEL_COLUMNS = ("CI", "AD", "PE", "PC")
KINDS = {  # what each file must have, by kind
    "thesaurus": ("protagonist_a", "protagonist_b"),
    "classes": ("molecule", "family"),
    "molecules": ("molecule",),
}
EXPECTED = {
    "thesaurus": "protagoniste1, protagoniste2, description_interaction (or CI/AD/PE/PC columns)",
    "classes": "molecule, famille",
    "molecules": "molecule",
}
_NAME_HINTS = (
    ("classes", re.compile(r"famil|classe", re.IGNORECASE)),
    ("thesaurus", re.compile(r"thesaurus|interaction", re.IGNORECASE)),
    ("molecules", re.compile(r"molecule|substance", re.IGNORECASE)),
)
_PAGE_FOOTER = re.compile(r"\s+/\d+\s*$")  # "… /226": a page footer left by the PDF extraction


def _key(name: str) -> str:
    return fold(name).replace(" ", "")


def column_of(header_name: str) -> str | None:
    key = _key(header_name)
    return next((column for column, names in COLUMNS.items() if key in names), None)


@dataclass
class Table:
    path: Path
    kind: str = ""
    separator: str = "\t"
    quoted: bool = False
    encoding: str = "utf-8"
    header: list[str] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # our column -> position
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, fields)
    notes: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        quoting = _("quoted") if self.quoted else _("not quoted")
        separator = _(SEPARATORS[self.separator]) if self.separator in SEPARATORS else "?"
        return _("separator: %(sep)s, %(quoting)s") % {"sep": separator, "quoting": quoting}

    def value(self, fields: list[str], column: str) -> str:
        position = self.columns.get(column)
        if position is None or position >= len(fields):
            return ""
        return _PAGE_FOOTER.sub("", fields[position]).strip()


def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    refuse_non_text(data[:4096])
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def _sniff(first_line: str) -> tuple[str, bool]:
    """The separator that splits the first line into the most fields (outside quotes), and
    whether its fields are quoted."""
    quoted = first_line.lstrip().startswith('"')
    best, count = "\t", 0
    for separator in SEPARATORS:
        fields = next(csv.reader([first_line], delimiter=separator, quotechar='"'), [])
        if len(fields) > count:
            best, count = separator, len(fields)
    return best, quoted


def _classify(header: list[str], path: Path) -> tuple[str, dict[str, int], bool]:
    """(kind, column positions, has a header row); kind "" when the file is not recognised."""
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        column = column_of(name)
        if column and column not in columns:
            columns[column] = position
    for kind in ("thesaurus", "classes", "molecules"):
        if all(c in columns for c in KINDS[kind]) and (kind != "molecules" or len(header) == 1):
            return kind, columns, True
    hinted = next((kind for kind, pattern in _NAME_HINTS if pattern.search(path.name)), "")
    if hinted == "molecules" and len(header) == 1:  # a bare list, no header row
        return "molecules", {"molecule": 0}, False
    return "", columns, True


def read_table(path: Path) -> Table:
    """Read and recognise one file; FileRefused (with expected and found) if it is not one."""
    text, encoding = _decode(path)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise FileRefused(_("The file is empty."))
    separator, quoted = _sniff(first)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=separator, quotechar='"',
        quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
    )  # fmt: skip
    table = Table(path, separator=separator, quoted=quoted, encoding=encoding)
    records = [(reader.line_num, fields) for fields in reader]
    header = next((fields for _n, fields in records if any(f.strip() for f in fields)), [])
    table.kind, table.columns, has_header = _classify(header, path)
    table.header = header if has_header else []
    if not table.kind:
        hinted = next((kind for kind, pattern in _NAME_HINTS if pattern.search(path.name)), "thesaurus")
        raise FileRefused(
            _("Columns not recognised: expected %(expected)s; found %(found)s (read as %(layout)s).")
            % {
                "expected": EXPECTED[hinted],
                "found": ", ".join(h.strip() for h in header) or "—",
                "layout": table.layout,
            }
        )
    if (
        table.kind == "thesaurus"
        and "description" not in table.columns
        and not any(c in table.columns for c in LEVEL_COLUMNS)
    ):
        raise FileRefused(
            _("No interaction text: expected %(expected)s; found %(found)s (read as %(layout)s).")
            % {"expected": EXPECTED["thesaurus"], "found": ", ".join(header), "layout": table.layout}
        )
    skip_header = has_header
    for number, fields in records:
        if not any(f.strip() for f in fields):
            continue
        if skip_header:
            skip_header = False
            continue
        table.rows.append((number, fields))
    if encoding != "utf-8":
        table.notes.append(_("Not UTF-8: read as Windows-1252."))
    if separator != "\t" or quoted:
        table.notes.append(_("Read as %(layout)s.") % {"layout": table.layout})
    return table


def discover(directories: list[Path]) -> tuple[list[Table], list[tuple[Path, str]]]:
    """Every readable table of the directories, recognised by its columns, and the files
    refused with their reason. Several files of one kind: the last by name wins (the caller
    reports the others)."""
    tables: list[Table] = []
    refused: list[tuple[Path, str]] = []
    for directory in directories:
        for path in sorted(
            p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".txt", ".tsv")
        ):
            try:
                tables.append(read_table(path))
            except (FileRefused, OSError) as exc:
                refused.append((path, str(exc) if isinstance(exc, FileRefused) else exc.strerror or str(exc)))
    return tables, refused
