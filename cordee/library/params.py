"""Reading search parameters from a query string, for the pages and the API alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cordee.library.query import QueryError
from cordee.library.search import MAX_OFFSET, SORTS, Filters

PUBLICATION_TYPES = (
    "Review", "Systematic Review", "Meta-Analysis", "Randomized Controlled Trial", "Clinical Trial",
    "Practice Guideline", "Guideline", "Observational Study", "Case Reports", "Comparative Study", "Editorial",
    "Letter", "Journal Article",
)  # fmt: skip
LANGUAGES = ("eng", "fre", "ger", "spa", "ita", "por", "chi", "jpn", "rus", "dut")
MAX_FILTER_LENGTH = 200


def _one(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name) or ""
    return value.strip() if isinstance(value, str) else ""


def _year(params: Mapping[str, Any], name: str) -> int | None:
    text = _one(params, name)
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise QueryError("bad_filter", _("A year is four digits."))
    return int(text)


def parse_filters(params: Mapping[str, Any]) -> Filters:
    filters = Filters(
        year_from=_year(params, "from"),
        year_to=_year(params, "to"),
        publication_type=_one(params, "type"),
        journal=_one(params, "journal"),
        language=_one(params, "lang"),
        mesh=_one(params, "mesh"),
    )
    if any(len(v) > MAX_FILTER_LENGTH for v in (filters.publication_type, filters.journal, filters.mesh)):
        raise QueryError("too_long", _("A filter is too long."))
    if filters.language and filters.language not in LANGUAGES:
        raise QueryError("bad_filter", _("Unknown language."))
    return filters


def parse_sort(params: Mapping[str, Any]) -> str:
    sort = _one(params, "sort")
    return sort if sort in SORTS else "relevance"


def parse_offset(params: Mapping[str, Any]) -> int:
    text = _one(params, "offset")
    return min(int(text), MAX_OFFSET) if text.isascii() and text.isdigit() and len(text) < 6 else 0
