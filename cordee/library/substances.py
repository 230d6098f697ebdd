"""A drug's active substances as library searches ("CHLORHYDRATE DE METFORMINE" → metformine | metformin).

The BDPM names substances in French, with their salt or hydrate ("CHLORHYDRATE DE", "SODIQUE",
"TRIHYDRATÉ"): those words are dropped; what is left is searched as a phrase, bridged to English
(``bridge.english_for``); an article matching any of the product's substances is found, in its
title, abstract, substances (chemical list) or MeSH headings.
"""

from __future__ import annotations

from cordee.drugs.models import Composition
from cordee.library import bridge
from cordee.library.models import Article
from cordee.library.query import Clause, Query, words_of
from cordee.library.search import LIST_FIELDS, Filters, Results, count, matching_ids

SALT_WORDS = frozenset(
    """chlorhydrate dichlorhydrate bromhydrate sulfate hemisulfate phosphate maleate fumarate hemifumarate
    tartrate citrate acetate succinate mesilate mesylate besilate bisulfate nitrate lactate gluconate
    sodique potassique calcique magnesique disodique base anhydre monohydrate monohydratee dihydrate
    dihydratee trihydrate trihydratee hemihydrate sesquihydrate hydrate hydratee de d du des l la le
    sel forme exprime en equivalent""".split()
)


def substance_names(cis: str) -> list[str]:
    names = Composition.objects.filter(cis=cis, nature="SA").values_list("substance_name", flat=True)
    return list(dict.fromkeys(" ".join(n.split()) for n in names if n))


def substance_query(names: list[str]) -> Query:
    alternatives: list[list[str]] = []
    for name in names:
        words = [w for w in words_of(name) if w not in SALT_WORDS and not w.isdigit()]
        if not words:
            continue
        alternatives.append(words)
        english = [bridge.english_for(w) or w for w in words]
        if english != words:
            alternatives.append(english)
    return Query([Clause(alternatives)]) if alternatives else Query()


def search_substances(names: list[str], *, sort: str = "relevance", limit: int = 20) -> Results | None:
    query = substance_query(names)
    if not query.clauses:
        return None
    ids = matching_ids(query, Filters(), sort=sort, limit=limit)
    found = Article.objects.only(*LIST_FIELDS).in_bulk(ids)
    articles = [found[i] for i in ids if i in found]
    return Results(articles, count(query, Filters()) if len(ids) == limit else len(articles), 0, None, query)
