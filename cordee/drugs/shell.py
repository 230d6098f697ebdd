"""What the drug database shows in the shell (``cordee.lib.modules``): its module entry and the
global search's drug section (public reference data: not audited, as the drug search itself)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cordee.drugs.search import QueryError, search
from cordee.lib import modules

SEARCH_LIMIT = 5


def search_drugs(request: HttpRequest, text: str) -> list[modules.SearchHit]:
    try:
        results = search(text, limit=SEARCH_LIMIT)
    except QueryError:
        return []
    return [
        modules.SearchHit(hit.doc.name, reverse("drugs:product", args=[hit.doc.cis]), f"CIS {hit.doc.cis}")
        for hit in results.hits
    ]


def _more(text: str) -> str:
    return reverse("drugs:search") + "?" + urlencode({"q": text})


def register() -> None:
    modules.register(
        modules.Entry(
            key="medicaments",
            label=_("Drugs"),
            url_name="drugs:search",
            description=_("The public drug database (BDPM)"),
            icon="pill",
            kinds=modules.WORKFORCE,
            chosen=True,
            default_for=frozenset({modules.PROFESSIONAL}),
            order=50,
        )
    )
    modules.register_search(
        modules.Search(
            key="medicaments",
            label=_("Drugs"),
            search=search_drugs,
            kinds=modules.WORKFORCE,
            hint=_("a drug: name, substance, CIS or CIP code"),
            more_url=_more,
            order=30,
        )
    )
