"""The patient's timeline: the record's lines (``RecordItem``), newest first, filtered, paginated.

Its cost does not depend on its length nor on how many modules write into it: a count, one page
of lines (one query, authors' display copies stored on the lines), the authors of the filter (one
query) and, for the titles, the patient's key (read once). Titles are decrypted for the page only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from cordee.accounts.models import Patient
from cordee.care.access import Basis
from cordee.documents.models import DocumentType, RecordItem
from cordee.lib.ids import parse_id

ITEMS_PER_PAGE = 30
MESSAGE = "message"


@dataclass(frozen=True)
class Filters:
    kind: str = ""  # a document type, or "message"
    author: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.kind) or self.author is not None

    def query(self) -> str:
        parts = []
        if self.kind:
            parts.append(f"type={self.kind}")
        if self.author is not None:
            parts.append(f"auteur={self.author}")
        return "&".join(parts)


def parse_filters(params: Mapping[str, Any]) -> Filters:
    """Filters from a query string (``type``, ``auteur``); junk is ignored, not an error."""
    kind = str(params.get("type") or "")
    if kind not in DocumentType.values and kind != MESSAGE:
        kind = ""
    try:
        author = parse_id(params.get("auteur")) if params.get("auteur") else None
    except Exception:  # Http404 for junk: an ignored filter here
        author = None
    return Filters(kind, author)


def items_of(patient: Patient, basis: Basis) -> QuerySet[RecordItem]:
    items = RecordItem.objects.filter(patient=patient)
    if basis == "self":
        items = items.filter(visible_to_patient=True)
    return items


def timeline(patient: Patient, basis: Basis, filters: Filters, page_number: Any) -> Page:
    items = items_of(patient, basis)
    if filters.kind == MESSAGE:
        items = items.filter(kind=MESSAGE)
    elif filters.kind:
        items = items.filter(kind="document", doc_type=filters.kind)
    if filters.author is not None:
        items = items.filter(author_id=filters.author)
    page = Paginator(items.order_by("-occurred_at", "-pk"), ITEMS_PER_PAGE).get_page(page_number)
    for item in page.object_list:
        item.patient = patient  # the key's owner, already loaded: no query per line
    return page


def authors(patient: Patient, basis: Basis) -> list[tuple[int, str]]:
    """The authors of the lines (for the filter): id and name from the display copies."""
    seen: dict[int, str] = {}
    rows = items_of(patient, basis).filter(author__isnull=False).order_by().values_list("author_id", "author_display")
    for author_id, display in rows.distinct():
        if author_id not in seen:
            seen[author_id] = (display or {}).get("name", "")
    return sorted(seen.items(), key=lambda pair: pair[1])
