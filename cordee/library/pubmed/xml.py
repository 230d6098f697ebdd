"""Streaming PubMed/MEDLINE XML (``PubmedArticleSet``, legacy ``MedlineCitationSet``).

Read with ``defusedxml``'s ``iterparse`` (expat underneath): a DOCTYPE naming NLM's DTD is
allowed (every real file has one) but never fetched; any entity declaration (billion laughs)
or external entity (XXE) stops the file with ``Refused``. Each top-level record is turned into a
``Record`` and its element cleared at once, so memory stays constant whatever the file's size.

``read_xml`` yields ``Record`` and ``Deleted`` items; a malformed or truncated file ends the
iteration with ``Stopped`` carrying the line and column of the damage (every complete record
before it has been yielded).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from cordee.library.pubmed import markup
from cordee.library.pubmed.records import (
    Author,
    Mesh,
    Record,
    RecordError,
    Section,
    clean_pmid,
    month_number,
    parse_date_text,
)

ROOTS = ("PubmedArticleSet", "MedlineCitationSet", "PubmedBookArticleSet")
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")


@dataclass
class Deleted:
    pmids: list[int]
    line: int = 0


@dataclass
class Stopped:
    """Why and where a file stopped being read (nothing after it was imported): the line and
    column of the damage in the (unpacked) XML."""

    reason: str
    line: int = 0
    column: int = 0


@dataclass
class Skipped:
    """A complete record that could not be kept (e.g. no valid PMID); ``line`` is its number in the file."""

    reason: str
    line: int = 0


class Refused(Exception):
    """The file as a whole is not PubMed XML, or is dangerous."""


def open_source(path: Path) -> IO[bytes]:
    handle = path.open("rb")
    head = handle.read(2)
    handle.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]  # a binary file object
    return handle


def _text(element: Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def read_xml(stream: IO[bytes]) -> Iterator[Record | Deleted | Skipped | Stopped]:
    events = iterparse(stream, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    depth = 0
    root: Element | None = None
    ordinal = 0  # records are numbered from 1 in reports (expat's line lags behind its events)
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    root = element
                    if element.tag not in ROOTS:
                        raise Refused(f"not a PubMed XML file (its root element is <{element.tag[:40]}>)")
                continue
            depth -= 1
            if depth != 1:
                continue
            ordinal += 1
            line = ordinal
            if element.tag in ("PubmedArticle", "MedlineCitation"):
                citation = element if element.tag == "MedlineCitation" else element.find("MedlineCitation")
                try:
                    yield _record(citation, element, line)
                except RecordError as exc:
                    yield Skipped(str(exc), line)
            elif element.tag == "DeleteCitation":
                pmids = []
                for pmid in element.iter("PMID"):
                    try:
                        pmids.append(clean_pmid(pmid.text))
                    except RecordError:
                        continue
                yield Deleted(pmids, line)
            element.clear()
            if root is not None:
                root.clear()
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
        raise Refused("the file declares entities or references external ones (refused, never fetched)") from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        if root is None:
            raise Refused(f"not an XML file (line {line}, column {column})") from exc
        yield Stopped(str(exc), line, column)
    except (EOFError, OSError) as exc:  # a truncated gzip stream
        yield Stopped(f"the file ends early: {exc}")


def _record(citation: Element | None, article_root: Element, line: int) -> Record:
    if citation is None:
        raise RecordError("a record without MedlineCitation")
    pmid_element = citation.find("PMID")
    record = Record(pmid=clean_pmid(pmid_element.text if pmid_element is not None else ""), line=line)
    version = pmid_element.get("Version", "1") if pmid_element is not None else "1"
    record.version = int(version) if version.isdigit() and len(version) < 5 else 1
    record.revised = _ymd(citation.find("DateRevised"))
    article = citation.find("Article")
    if article is not None:
        _article(record, article)
    info = citation.find("MedlineJournalInfo")
    if info is not None and not record.journal_abbrev:
        record.journal_abbrev = _text(info.find("MedlineTA"))
    record.mesh = [_mesh(heading) for heading in citation.iterfind("MeshHeadingList/MeshHeading")]
    record.chemicals = [_text(c.find("NameOfSubstance")) for c in citation.iterfind("ChemicalList/Chemical")]
    record.keywords = [_text(k) for k in citation.iterfind("KeywordList/Keyword")]
    for article_id in article_root.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind, value = article_id.get("IdType"), _text(article_id)
        if kind == "doi" and not record.doi:
            record.doi = value
        elif kind == "pmc" and not record.pmc:
            record.pmc = value
    return record


def _article(record: Record, article: Element) -> None:
    title = article.find("ArticleTitle")
    if title is not None:
        record.title_markup = markup.from_element(title)
    if not record.title_markup:
        vernacular = article.find("VernacularTitle")
        if vernacular is not None:
            record.title_markup = markup.from_element(vernacular)
    for text in article.iterfind("Abstract/AbstractText"):
        section = Section(text.get("Label", "") or "", text.get("NlmCategory", "") or "", markup.from_element(text))
        if section.markup or section.label:
            record.abstract.append(section)
    journal = article.find("Journal")
    if journal is not None:
        record.journal = _text(journal.find("Title"))
        record.journal_abbrev = _text(journal.find("ISOAbbreviation"))
        issue = journal.find("JournalIssue")
        if issue is not None:
            record.volume, record.issue = _text(issue.find("Volume")), _text(issue.find("Issue"))
            _pub_date(record, issue.find("PubDate"))
    record.pages = _text(article.find("Pagination/MedlinePgn"))
    for location in article.iterfind("ELocationID"):
        if location.get("EIdType") == "doi" and not record.doi:
            record.doi = _text(location)
    record.authors = [_author(a) for a in article.iterfind("AuthorList/Author") if a.get("ValidYN", "Y") != "N"]
    record.authors = [a for a in record.authors if a.name]
    record.languages = [_text(lang) for lang in article.iterfind("Language") if _text(lang)]
    record.publication_types = [_text(t) for t in article.iterfind("PublicationTypeList/PublicationType")]
    if record.year is None:
        electronic = article.find("ArticleDate")
        if electronic is not None and _text(electronic.find("Year")).isdigit():
            record.year = int(_text(electronic.find("Year")))


def _pub_date(record: Record, date: Element | None) -> None:
    if date is None:
        return
    medline = _text(date.find("MedlineDate"))
    if medline:
        record.date_text = medline
        record.year, record.month = parse_date_text(medline)
        return
    year, month, day = _text(date.find("Year")), _text(date.find("Month")), _text(date.find("Day"))
    season = _text(date.find("Season"))
    record.date_text = " ".join(part for part in (year, month or season, day) if part)
    record.year, record.month = parse_date_text(record.date_text)
    if month:
        record.month = month_number(month)


def _ymd(date: Element | None) -> str:
    if date is None:
        return ""
    parts = [_text(date.find(name)) for name in ("Year", "Month", "Day")]
    if not all(part.isdigit() for part in parts):
        return ""
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"


def _author(element: Element) -> Author:
    collective = _text(element.find("CollectiveName"))
    if collective:
        author = Author(name=collective, collective=True)
    else:
        last, fore = _text(element.find("LastName")), _text(element.find("ForeName"))
        initials = _text(element.find("Initials"))
        suffix = _text(element.find("Suffix"))
        name = " ".join(part for part in (last, initials, suffix) if part)
        author = Author(name=name, last=last, fore=fore, initials=initials)
    author.affiliations = [_text(a) for a in element.iterfind("AffiliationInfo/Affiliation") if _text(a)]
    for identifier in element.iterfind("Identifier"):
        if (identifier.get("Source") or "").upper() == "ORCID":
            found = _ORCID.search(_text(identifier))
            if found:
                author.orcid = found.group(1)
    return author


def _mesh(heading: Element) -> Mesh:
    descriptor = heading.find("DescriptorName")
    qualifiers = heading.findall("QualifierName")
    major = (descriptor is not None and descriptor.get("MajorTopicYN") == "Y") or any(
        q.get("MajorTopicYN") == "Y" for q in qualifiers
    )
    return Mesh(
        descriptor=_text(descriptor),
        major=major,
        qualifiers=[_text(q) for q in qualifiers],
        ui=descriptor.get("UI", "") if descriptor is not None else "",
    )
