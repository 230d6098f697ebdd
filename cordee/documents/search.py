"""Search in a patient's record: by title, type, author and date of the act.

Titles are encrypted with the patient's key (a blind index would give exact matches only, and a
word index would leak the titles' words). A record holds at most a few thousand documents: the
type, author and dates are filtered by the database, then the remaining titles are decrypted (one
key read) and matched in memory, without case or accents. docs/decisions/0011-patient-record-documents.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cordee.accounts.models import Patient
from cordee.care.access import Basis
from cordee.documents.access import documents_of
from cordee.documents.models import Document, DocumentType
from cordee.lib.ids import parse_id
from cordee.lib.modules import folded

MAX_RESULTS = 200


@dataclass(frozen=True)
class Query:
    text: str = ""
    doc_type: str = ""
    author: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    @property
    def active(self) -> bool:
        return bool(self.text or self.doc_type or self.author is not None or self.since or self.until)


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        return None


def parse_query(params: Mapping[str, Any]) -> Query:
    """A query from the search form (``q``, ``type``, ``auteur``, ``du``, ``au``); junk is ignored."""
    doc_type = str(params.get("type") or "")
    try:
        author = parse_id(params.get("auteur")) if params.get("auteur") else None
    except Exception:  # Http404 for junk: an ignored criterion here
        author = None
    return Query(
        text=" ".join(str(params.get("q") or "").split())[:100],
        doc_type=doc_type if doc_type in DocumentType.values else "",
        author=author,
        since=_day(params.get("du")),
        until=_day(params.get("au")),
    )


def search(patient: Patient, basis: Basis, query: Query) -> list[Document]:
    documents = documents_of(patient, basis)
    if query.doc_type:
        documents = documents.filter(doc_type=query.doc_type)
    if query.author is not None:
        documents = documents.filter(author_id=query.author)
    if query.since:
        documents = documents.filter(act_date__gte=query.since)
    if query.until:
        documents = documents.filter(act_date__lte=query.until)
    words = folded(query.text).split()
    found = []
    for document in documents:
        document.patient = patient  # the key's owner, loaded once
        title = folded(document.title)
        if all(word in title for word in words):
            found.append(document)
            if len(found) >= MAX_RESULTS:
                break
    return found
