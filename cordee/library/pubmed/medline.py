"""MEDLINE tagged text (``.nbib``/``.txt`` as PubMed exports it): ``TAG - value`` lines.

Records are separated by blank lines and start with ``PMID-``; a value goes on over lines
indented with spaces (six in NLM's files). CRLF or LF, UTF-8 (a BOM is dropped). Read line by
line: memory holds one record. ``FAU``/``AU`` start an author; ``AD`` and ``AUID`` belong to the
author before them. ``MH`` with ``*`` marks a major topic (``*Heart Failure/drug therapy``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO

from cordee.library.pubmed import markup
from cordee.library.pubmed.records import Author, Mesh, Record, RecordError, Section, clean_pmid, parse_date_text
from cordee.library.pubmed.xml import Refused, Skipped

_TAG = re.compile(r"^([A-Z][A-Z0-9]{0,3})\s*-\s?(.*)$")
_LABEL = re.compile(r"(?:(?<=^)|(?<=\. ))([A-Z][A-Z ,/&-]{2,40}): ")
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
_MAX_RECORD_LINES = 20000


def read_medline(stream: IO[bytes]) -> Iterator[Record | Skipped]:
    lines = _lines(stream)
    fields: list[tuple[str, str]] = []
    start, count, seen_pmid, number = 0, 0, False, 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if fields:
                count += 1
                yield _build(fields, count)
                fields = []
            continue
        match = _TAG.match(line)
        if line[:1] in (" ", "\t") and fields:
            tag, value = fields[-1]
            fields[-1] = (tag, f"{value} {line.strip()}")
        elif match:
            if match.group(1) == "PMID":
                seen_pmid = True
                if fields:
                    count += 1
                    yield _build(fields, count)
                    fields = []
                start = number
            fields.append((match.group(1), match.group(2).strip()))
        elif not seen_pmid:
            raise Refused(f"not a MEDLINE file (line {number} is not a tagged line)")
        if len(fields) > _MAX_RECORD_LINES:
            raise Refused(f"a record is too long (from line {start})")
    if fields:
        yield _build(fields, count + 1)
    if not seen_pmid:
        raise Refused("not a MEDLINE file (no PMID line)")


def _lines(stream: IO[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    first = True
    while chunk := stream.read(1 << 16):
        text = pending + decoder.decode(chunk)
        if first:
            text, first = text.removeprefix("\ufeff"), False
        parts = text.split("\n")
        pending = parts.pop()
        for part in parts:
            yield part.rstrip("\r")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending.rstrip("\r")


def _build(fields: list[tuple[str, str]], ordinal: int) -> Record | Skipped:
    try:
        record = Record(pmid=clean_pmid(dict(fields).get("PMID", "")), line=ordinal)
    except RecordError as exc:
        return Skipped(str(exc), ordinal)
    author: Author | None = None
    previous = ""
    early: list[str] = []
    for tag, value in fields:
        after, previous = previous, tag
        if tag in ("FAU", "AU", "CN"):
            if tag == "AU" and after == "FAU" and author is not None:
                author.name = value  # "Smith J" right after its "Smith, John"
                author.initials = value.rsplit(" ", 1)[-1] if " " in value else author.initials
                continue
            author = _author(tag, value)
            record.authors.append(author)
        elif tag == "AD":  # older records give it before the first author: it is theirs
            (author.affiliations if author is not None else early).append(value)
        elif tag == "AUID" and author is not None and "ORCID" in value.upper():
            found = _ORCID.search(value)
            author.orcid = found.group(1) if found else ""
        else:
            _field(record, tag, value)
    if early and record.authors:
        record.authors[0].affiliations[:0] = early
    return record


def _author(tag: str, value: str) -> Author:
    if tag == "CN":
        return Author(name=value, collective=True)
    if tag == "FAU" and "," in value:
        last, fore = (part.strip() for part in value.split(",", 1))
        initials = "".join(word[0] for word in fore.replace("-", " ").split() if word)
        return Author(name=f"{last} {initials}".strip(), last=last, fore=fore, initials=initials)
    last, _, initials = value.rpartition(" ")
    return Author(name=value, last=last or value, initials=initials if last else "")


def _field(record: Record, tag: str, value: str) -> None:
    if tag == "TI":
        record.title_markup = markup.escape(value)
    elif tag == "AB":
        record.abstract = _sections(value)
    elif tag == "JT":
        record.journal = value
    elif tag == "TA":
        record.journal_abbrev = value
    elif tag == "VI":
        record.volume = value
    elif tag == "IP":
        record.issue = value
    elif tag == "PG":
        record.pages = value
    elif tag == "DP":
        record.date_text = value
        record.year, record.month = parse_date_text(value)
    elif tag == "PT":
        record.publication_types.append(value)
    elif tag == "LA":
        record.languages.append(value)
    elif tag == "OT":
        record.keywords.append(value)
    elif tag == "PMC":
        record.pmc = value
    elif tag == "LR" and len(value) >= 8 and value[:8].isdigit():
        record.revised = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    elif tag in ("LID", "AID") and value.endswith("[doi]") and not record.doi:
        record.doi = value.removesuffix("[doi]").strip()
    elif tag == "RN":
        name = re.sub(r"^\S+\s+\((.*)\)$", r"\1", value)
        record.chemicals.append(name)
    elif tag == "MH":
        record.mesh.append(_mesh(value))


def _mesh(value: str) -> Mesh:
    parts = value.split("/")
    descriptor = parts[0]
    major = descriptor.startswith("*") or any(q.startswith("*") for q in parts[1:])
    return Mesh(descriptor=descriptor.lstrip("*"), major=major, qualifiers=[q.lstrip("*") for q in parts[1:]])


def _sections(text: str) -> list[Section]:
    """An abstract split at its labels ("BACKGROUND: … RESULTS: …"), or one section."""
    found = list(_LABEL.finditer(text))
    if not found or found[0].start() != 0:
        return [Section("", "", markup.escape(text))]
    sections = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        sections.append(Section(match.group(1), "", markup.escape(text[match.end() : end].strip())))
    return sections
