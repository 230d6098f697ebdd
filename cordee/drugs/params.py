"""Reading search parameters from a query string, for the pages and the API alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cordee.drugs.search import GENERIC_KINDS, MAX_OFFSET, MAX_QUERY_LENGTH, STATUSES, Filters, QueryError

MAX_PICKED = 10  # products compared at once on the interactions page
_CIS = re.compile(r"\d{8}")


def _one(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name) or ""
    return value if isinstance(value, str) else ""


def parse_search(params: Mapping[str, Any]) -> tuple[str, Filters]:
    """The query (unchecked: ``search`` checks it) and the filters; QueryError on a bad filter."""
    query = _one(params, "q")
    status, generic = _one(params, "status"), _one(params, "generic")
    if status and status not in STATUSES:
        raise QueryError("bad_filter", _("Unknown commercialisation filter."))
    if generic and generic not in GENERIC_KINDS:
        raise QueryError("bad_filter", _("Unknown generic filter."))
    group_text = _one(params, "group").strip()
    if group_text and not group_text.isdigit():
        raise QueryError("bad_filter", _("The generic group is a number."))
    route, form = _one(params, "route"), _one(params, "form")
    if len(route) > MAX_QUERY_LENGTH or len(form) > MAX_QUERY_LENGTH:
        raise QueryError("too_long", _("A filter is too long."))
    group = int(group_text) if group_text and len(group_text) < 10 else None
    return query, Filters(route=route, form=form, status=status, group=group, generic=generic)


def parse_offset(params: Mapping[str, Any]) -> int:
    """The ``offset`` of "more results"; 0 when absent or not a small number."""
    text = _one(params, "offset").strip()
    return min(int(text), MAX_OFFSET) if text.isdigit() and len(text) < 6 else 0


def picked_codes(params: Any) -> list[str]:
    """The CIS codes chosen on the interactions page (``cis`` repeated), valid ones, in order."""
    values = params.getlist("cis") if hasattr(params, "getlist") else list(params.get("cis", []))
    codes = [v.strip() for v in values if isinstance(v, str) and _CIS.fullmatch(v.strip())]
    return list(dict.fromkeys(codes))[:MAX_PICKED]
