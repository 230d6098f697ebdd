"""A parsed record as the rows the library stores: the Python half of an import, without Django.

``prepare`` gives an article's columns (JSON fields already encoded, fingerprint, search text)
and its term rows. It imports nothing of Django so that it can run in the reader process
(``pubmed.process``), which parses and prepares a large file beside the process that writes.
``store`` adds the time columns and writes the rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from cordee.library.pubmed import markup
from cordee.library.pubmed.records import Record
from cordee.library.query import fold

# Article's JSONField columns, which store also casts by (checked against the model by
# tests/library/test_reader.py)
JSON_FIELDS = ("abstract", "authors", "publication_types", "mesh", "chemicals", "keywords", "languages")
# ArticleTerm.Kind's values (same test)
TYPE, MESH, MAJOR = "type", "mesh", "major"


@dataclass(slots=True)
class Prepared:
    """A record made ready to store: what a batch then writes."""

    pmid: int
    rank: tuple[int, str]  # (PMID version, DateRevised): the higher one replaces
    values: dict  # the article's columns but the time ones, its JSON fields encoded
    terms: list[tuple[str, str]]  # (kind, folded value) of its publication types and MeSH headings


def article_values(record: Record, source: str, data: dict) -> dict:
    """The columns of an article from its record (``data``: ``record.as_dict()``), JSON not
    encoded, no fingerprint yet."""
    abstract_text = " ".join(
        (f"{s.label}: " if s.label else "") + markup.to_text(s.markup) for s in record.abstract
    ).strip()
    terms = [*record.publication_types]
    for heading in record.mesh:
        terms.append(heading.descriptor)
    terms += record.chemicals + record.keywords
    if record.year:
        terms.append(str(record.year))
    return {
        "version": record.version,
        "revised": record.revised,
        "doi": record.doi[:200],
        "pmc": record.pmc[:20],
        "title": markup.to_text(record.title_markup),
        "title_markup": record.title_markup,
        "abstract": data["abstract"],
        "abstract_text": abstract_text,
        "terms": " ; ".join(t for t in terms if t),
        "authors": data["authors"],
        "journal": record.journal[:300],
        "journal_abbrev": record.journal_abbrev[:200],
        "volume": record.volume[:50],
        "issue": record.issue[:50],
        "pages": record.pages[:100],
        "year": record.year if record.year and 1000 < record.year < 3000 else None,
        "month": record.month,
        "date_text": record.date_text[:100],
        "publication_types": record.publication_types,
        "mesh": data["mesh"],
        "chemicals": record.chemicals,
        "keywords": record.keywords,
        "language": (record.languages[0] if record.languages else "")[:8],
        "languages": record.languages,
        "source_file": source[:255],
    }


_fold = functools.lru_cache(maxsize=20_000)(fold)  # MeSH headings and types repeat across records


def terms(record: Record) -> list[tuple[str, str]]:
    """The (kind, folded value) rows of ``record``'s publication types, MeSH headings and major topics."""
    rows: dict[tuple[str, str], None] = {}
    for kind, values in (
        (TYPE, record.publication_types),
        (MESH, [m.descriptor for m in record.mesh]),
        (MAJOR, [m.descriptor for m in record.mesh if m.major]),
    ):
        for value in values:
            if value:
                rows[(kind, _fold(value)[:200])] = None
    return list(rows)


def fingerprint(values: dict) -> str:
    """What a re-import compares: a hash of the columns as stored (JSON encoded), the source file
    apart. Read from the encoded columns, not from the record encoded once more (a third of the
    preparing time). Version 2: articles stored with the first version (a hash of the record's
    sorted JSON) are written once more by their next import, unchanged."""
    digest = hashlib.sha256(b"2")
    for name in sorted(values):
        if name != "source_file":
            digest.update(b"\x1e%s=%s" % (name.encode(), str(values[name]).encode()))
    return digest.hexdigest()[:32]


def prepare(record: Record, source: str) -> Prepared:
    """The columns and term rows of ``record`` (JSON, fingerprint, text)."""
    values = article_values(record, source, record.as_dict())
    for name in JSON_FIELDS:
        values[name] = json.dumps(values[name])
    values["fingerprint"] = fingerprint(values)
    return Prepared(record.pmid, (record.version, record.revised), values, terms(record))
