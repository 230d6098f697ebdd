"""One PubMed/MEDLINE record as the parsers give it, whatever the file's format.

Titles and abstract sections keep their inline markup as *safe markup*: the text escaped for
HTML, with only ``<i> <b> <u> <sup> <sub>`` left as tags (``markup.py``). Everything else is plain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
SEASONS = {"winter": 1, "spring": 3, "summer": 6, "fall": 9, "autumn": 9}
_YEAR = re.compile(r"\b(1[6-9]\d\d|20\d\d|21\d\d)\b")


@dataclass
class Author:
    name: str  # "Makar AB", or the collective name
    last: str = ""
    fore: str = ""
    initials: str = ""
    collective: bool = False
    affiliations: list[str] = field(default_factory=list)
    orcid: str = ""


@dataclass
class Section:
    label: str  # "BACKGROUND", "" for an unlabelled abstract
    category: str  # NlmCategory ("METHODS"…), ""
    markup: str  # safe markup


@dataclass
class Mesh:
    descriptor: str
    major: bool  # the descriptor or one of its qualifiers is a major topic
    qualifiers: list[str] = field(default_factory=list)
    ui: str = ""


@dataclass
class Record:
    pmid: int
    version: int = 1
    doi: str = ""
    pmc: str = ""
    title_markup: str = ""
    abstract: list[Section] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    journal: str = ""  # full title
    journal_abbrev: str = ""  # ISO abbreviation / MedlineTA
    volume: str = ""
    issue: str = ""
    pages: str = ""
    year: int | None = None
    month: int | None = None
    date_text: str = ""  # as published: "2019 Nov-Dec", "2020 Jun 3"
    publication_types: list[str] = field(default_factory=list)
    mesh: list[Mesh] = field(default_factory=list)
    chemicals: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    revised: str = ""  # DateRevised as YYYY-MM-DD ("" when unknown): a later one replaces
    line: int = 0  # where the record starts in its file

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-able data (``dataclasses.asdict`` is ten times slower on this shape)."""
        data = dict(vars(self))
        data.pop("line")
        data["abstract"] = [dict(vars(s)) for s in self.abstract]
        data["authors"] = [dict(vars(a)) for a in self.authors]
        data["mesh"] = [dict(vars(m)) for m in self.mesh]
        return data


def parse_date_text(text: str) -> tuple[int | None, int | None]:
    """Year and month of a free date ("2019 Nov-Dec", "2019 Spring", "1998 Dec-1999 Jan", "03/03/2018")."""
    text = " ".join(text.split())
    found = _YEAR.search(text)
    if found is None:
        return None, None
    year = int(found.group(1))
    rest = text[found.end() :].strip().lower()
    word = re.match(r"[a-z]+", rest)
    if word:
        key = word.group(0)
        return year, MONTHS.get(key[:3]) or SEASONS.get(key)
    return year, None


def month_number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        value = int(text)
        return value if 1 <= value <= 12 else None
    return MONTHS.get(text[:3])


class RecordError(ValueError):
    """A record that cannot be kept (no PMID…)."""


def clean_pmid(text: Any) -> int:
    text = str(text or "").strip()
    if not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise RecordError(f"invalid PMID {text[:20]!r}")
    return int(text)
