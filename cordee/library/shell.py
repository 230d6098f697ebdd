"""What the library shows in the shell (``cordee.lib.modules``): its module entry, the global
search's section, and its link on a drug's page (articles on the product's substances)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cordee.lib import modules
from cordee.library.query import QueryError
from cordee.library.search import search

SEARCH_LIMIT = 5


def search_articles(request: HttpRequest, text: str) -> list[modules.SearchHit]:
    try:
        results = search(text, limit=SEARCH_LIMIT)
    except QueryError:
        return []
    return [
        modules.SearchHit(
            article.title[:200] or f"PMID {article.pmid}",
            reverse("library:article", args=[article.pmid]),
            " · ".join(p for p in (article.journal_abbrev, str(article.year or ""), f"PMID {article.pmid}") if p),
        )
        for article in results.articles
    ]


def _more(text: str) -> str:
    return reverse("library:search") + "?" + urlencode({"q": text})


def register() -> None:
    modules.register(
        modules.Entry(
            key="bibliotheque",
            label=_("Library"),
            url_name="library:search",
            description=_("Scientific articles (PubMed/MEDLINE): search, save, share"),
            icon="book",
            kinds=modules.WORKFORCE,
            chosen=True,
            default_for=frozenset({modules.PROFESSIONAL}),
            order=55,
        )
    )
    modules.register_search(
        modules.Search(
            key="bibliotheque",
            label=_("Articles"),
            search=search_articles,
            kinds=modules.WORKFORCE,
            hint=_("an article: words of its title or abstract"),
            more_url=_more,
            order=40,
        )
    )
    modules.register_product_link(
        modules.ProductLink(
            key="bibliotheque",
            label=_("Articles on its active substances"),
            url_name="library:product",
            description=_("scientific library (PubMed)"),
            order=10,
        )
    )
