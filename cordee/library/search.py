"""Searching the library: one interface, SQLite FTS5 or PostgreSQL full-text search underneath.

``search(text, filters, sort=…, offset=…, limit=…)`` parses the text once (``query.py``) and
compiles it for the database in use:

- **SQLite** (the embedded default): an FTS5 table ``library_article_fts`` over ``title``,
  ``abstract_text`` and ``terms`` (tokenizer ``porter unicode61 remove_diacritics 2``), kept in step
  with ``library_article`` by triggers (migration ``0002``); ranked by ``bm25`` with the title
  weighing 10, the terms 3, the abstract 1.
- **PostgreSQL**: a stored generated ``tsvector`` column ``search_vector`` (``english``
  configuration; title weight A, abstract B, terms C) with a GIN index; ranked by ``ts_rank``.

The same words reach both (clean words only: see ``query.py``), both stem with Porter's
English stemmer (FTS5's ``porter``, PostgreSQL's snowball ``english``, which agree on common
words) and drop the same stop words, so they find the same articles (``tests/library`` checks it
on a shared set); the order of equal-relevance hits is the PMID, newest first. Filters (years,
publication type, journal, language, MeSH heading) are plain indexed SQL shared by both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext as _

from cordee.library.models import Article, ArticleTerm
from cordee.library.query import MAX_CLAUSES, MAX_QUERY_LENGTH, Clause, Query, QueryError, fold, parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 1000
COUNT_CAP = 1000  # "more than 1000 articles": counting every match of a common word costs
SORTS = ("relevance", "date")
LIST_FIELDS = (
    "id", "pmid", "title_markup", "title", "authors", "journal_abbrev", "journal", "year", "date_text",
    "publication_types", "doi", "pmc", "volume", "issue", "pages", "deleted_at",
)  # fmt: skip


@dataclass
class Filters:
    year_from: int | None = None
    year_to: int | None = None
    publication_type: str = ""
    journal: str = ""
    language: str = ""
    mesh: str = ""

    @property
    def any(self) -> bool:
        return bool(
            self.year_from or self.year_to or self.publication_type or self.journal or self.language or self.mesh
        )


@dataclass
class Results:
    articles: list[Article]
    total: int  # capped at COUNT_CAP + 1
    offset: int
    next_offset: int | None
    query: Query = field(default_factory=Query)

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


def _fts5_phrase(words: list[str], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def compile_fts5(query: Query) -> str:
    """An FTS5 MATCH expression built from clean words only (letters and digits)."""
    parts = []
    for clause in query.positive:
        options = [_fts5_phrase(words, clause.prefix) for words in clause.alternatives if words]
        parts.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    expression = " AND ".join(parts)
    for clause in query.clauses:
        if clause.negated:
            for words in clause.alternatives:
                expression += " NOT " + _fts5_phrase(words, clause.prefix)
    return expression


def _pg_phrase(words: list[str], prefix: bool) -> str:
    text = " <-> ".join(words)
    return text + (":*" if prefix else "")


def compile_tsquery(query: Query) -> str:
    """A ``to_tsquery('english', …)`` text built from clean words only."""
    parts = []
    for clause in query.clauses:
        options = [_pg_phrase(words, clause.prefix) for words in clause.alternatives if words]
        joined = options[0] if len(options) == 1 else "(" + " | ".join(f"({o})" for o in options) + ")"
        parts.append(("!" if clause.negated else "") + (f"({joined})" if clause.negated else joined))
    return " & ".join(parts)


def _term_filters(filters: Filters) -> list[tuple[str, str]]:
    """The (kind, folded value) of the publication type and MeSH filters asked for."""
    asked = ((ArticleTerm.Kind.TYPE, filters.publication_type), (ArticleTerm.Kind.MESH, filters.mesh))
    return [(str(kind), fold(value)) for kind, value in asked if value]


def _filter_sql(filters: Filters, *, driving: tuple[str, str] | None = None) -> tuple[list[str], list[object]]:
    """The WHERE conditions of ``filters`` on ``a``; ``driving``, a term filter the query already
    joins on, is left out."""
    where: list[str] = ["a.deleted_at IS NULL"]
    params: list[object] = []
    if filters.year_from:
        where.append("a.year >= %s")
        params.append(filters.year_from)
    if filters.year_to:
        where.append("a.year <= %s")
        params.append(filters.year_to)
    if filters.journal:
        where.append("a.journal_abbrev = %s")
        params.append(filters.journal)
    if filters.language:
        where.append("a.language = %s")
        params.append(filters.language)
    for term in _term_filters(filters):
        if term != driving:
            where.append(  # per article, by the (kind, value, article) index: no list of every "Humans" built
                "EXISTS (SELECT 1 FROM library_articleterm t "
                "WHERE t.kind = %s AND t.value = %s AND t.article_id = a.id)"
            )
            params += list(term)
    return where, params


_DATE_ORDER = "COALESCE(a.year, 0) DESC, COALESCE(a.month, 0) DESC, a.pmid DESC"  # NULLs last on both
CANDIDATES = 1200  # ≥ MAX_OFFSET + MAX_LIMIT + 1: every page that can be asked for lies inside the set
_COLUMNS = "a.id, a.year, a.month, a.pmid"


def _candidate_sql(query: Query, filters: Filters, *, driving: tuple[str, str] | None = None) -> tuple[str, list]:
    """At most ``CANDIDATES`` matches, the last imported first, each with its score (lower is better).

    The bound is what keeps a very common word cheap: both engines stream the matches in id order
    (FTS5 walks its doclists backwards, PostgreSQL the primary key backwards or the GIN bitmap for a
    rare word) and stop after ``CANDIDATES``; only those are scored and sorted. A query with fewer
    matches than that (most of them) is ranked exactly."""
    where, params = _filter_sql(filters, driving=driving)
    if connection.vendor == "postgresql":
        if driving:  # the term's articles, newest first from its index, each matched against the words
            source = (
                "library_articleterm d JOIN library_article a ON a.id = d.article_id "
                "WHERE d.kind = %s AND d.value = %s AND "
            )
            order = "d.article_id DESC"
        else:
            source, order = "library_article a WHERE ", "a.id DESC"
        inner = (
            f"SELECT {_COLUMNS}, a.search_vector FROM {source}"  # noqa: S608  # fixed fragments, values bound
            f"a.search_vector @@ to_tsquery('english', %s) AND {' AND '.join(where)} ORDER BY {order} LIMIT %s"
        )
        sql = (
            "SELECT c.id, c.year, c.month, c.pmid, -ts_rank(c.search_vector, to_tsquery('english', %s)) "  # noqa: S608
            f"FROM ({inner}) c"
        )
        tsquery = compile_tsquery(query)
        if driving:
            return sql, [tsquery, *driving, tsquery, *params, CANDIDATES]
        return sql, [tsquery, tsquery, *params, CANDIDATES]
    sql = (
        f"SELECT {_COLUMNS}, bm25(library_article_fts, 10.0, 1.0, 3.0) FROM library_article_fts f "  # noqa: S608
        f"JOIN library_article a ON a.id = f.rowid WHERE library_article_fts MATCH %s AND {' AND '.join(where)} "
        "ORDER BY f.rowid DESC LIMIT %s"
    )
    return sql, [compile_fts5(query), *params, CANDIDATES]


def _date_key(row: tuple) -> tuple:
    return (-(row[1] or 0), -(row[2] or 0), -row[3])


_PG_STATS: dict[tuple[str, str], tuple[float, dict[str, float]]] = {}  # (table, column): (read at, freqs)
COMMON_SHARE = 0.05  # PostgreSQL: above this share of articles, scan the ids backwards


def _pg_common(table: str, column: str, *, elements: bool = False) -> dict[str, float]:
    """PostgreSQL's own statistics (``ANALYZE``) of the commonest values of ``table.column`` — of
    its elements with ``elements`` (a tsvector's lexemes) — and their frequencies, kept ten minutes."""
    read_at, freqs = _PG_STATS.get((table, column), (0.0, {}))
    if time.monotonic() - read_at > 600:
        values, shares = (
            ("most_common_elems", "most_common_elem_freqs") if elements else ("most_common_vals", "most_common_freqs")
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {values}::text::text[], {shares} FROM pg_stats "  # noqa: S608  # fixed column names
                "WHERE tablename = %s AND attname = %s",
                [table, column],
            )
            row = cursor.fetchone()
        freqs = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
        _PG_STATS[(table, column)] = (time.monotonic(), freqs)
    return freqs


def _pg_plan(query: Query) -> str | None:
    """The scan to force on PostgreSQL, from the estimated share of articles the words match.

    Its planner prices the backward id scan without the cost of reading each row's ``tsvector``:
    for a word in 0.5–10 % of the articles it picks that scan and reads ~100,000 rows. A word
    that common enough (≥ ``COMMON_SHARE``) is served well by it; a rarer one by the GIN bitmap."""
    if any(c.prefix or any(len(words) > 1 for words in c.alternatives) for c in query.positive):
        return None  # a prefix's or a phrase's share is unknown: the planner decides
    freqs = _pg_common("library_article", "search_vector", elements=True)
    words = sorted({w for c in query.positive for words in c.alternatives for w in words})
    with connection.cursor() as cursor:
        cursor.execute("SELECT w, ts_lexize('english_stem', w) FROM unnest(%s::text[]) w", [words])
        stems = {w: (lexemes[0] if lexemes else None) for w, lexemes in cursor.fetchall()}
    share = 1.0
    for clause in query.positive:
        alternatives = [
            min((freqs.get(stems.get(w) or "", 0.0) for w in words), default=0.0) for words in clause.alternatives
        ]
        share *= min(1.0, sum(alternatives))
    return "enable_bitmapscan" if share >= COMMON_SHARE else "enable_indexscan"


# PostgreSQL: the memory a search's bitmaps may take. With the default 4 MB, a common word's GIN
# bitmap (320,000 articles of a million for "humans") turns lossy, and ANDing it with a year range
# rechecks every article of those years — each one's tsvector read from TOAST: 273 → 86 ms.
SEARCH_WORK_MEM = "32MB"
YEARS_SHARE = 0.10  # PostgreSQL: a year range holding less than this drives common words' search


def _years_share(filters: Filters) -> float:
    """The share of articles a year range holds, from PostgreSQL's statistics of ``year`` (1.0
    without a range or without statistics)."""
    if not (filters.year_from or filters.year_to):
        return 1.0
    freqs = _pg_common("library_article", "year")
    if not freqs:
        return 1.0
    low, high = filters.year_from or -(10**6), filters.year_to or 10**6
    return sum(share for year, share in freqs.items() if year.isdigit() and low <= int(year) <= high)


def _rarest_term(terms: list[tuple[str, str]]) -> tuple[str, str]:
    """Of the type and MeSH filters, the one PostgreSQL's statistics say fewer articles carry."""
    freqs = _pg_common("library_articleterm", "value")
    return min(terms, key=lambda term: freqs.get(term[1], 0.0))


def _candidates(query: Query, filters: Filters, sort: str) -> list[tuple]:
    """The bounded candidates (id, year, month, pmid, score), in the order asked for.

    On PostgreSQL, words common enough to be read in id order, with a publication type or MeSH
    filter: the filter's articles are walked newest first from the term index instead (a
    "children" + "Review" search read ~240,000 articles to find 1,200 otherwise); with a range of
    a few years, those years' articles are read from the year index."""
    plan = _pg_plan(query) if connection.vendor == "postgresql" else None
    terms = _term_filters(filters)
    driving = _rarest_term(terms) if plan == "enable_bitmapscan" and terms else None
    if plan == "enable_bitmapscan" and not driving and _years_share(filters) < YEARS_SHARE:
        # Common words in a few years: those years' articles from the year index, each matched
        # ("humans" in 2015–2016 read ~100,000 articles backwards by id otherwise).
        plan = "enable_indexscan"
    sql, params = _candidate_sql(query, filters, driving=driving)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
        if plan:
            cursor.execute(f"SET LOCAL {plan} = off")
        if driving:  # the term index's order, row by row: no join that reads every article of the term
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if sort == "date":
        rows.sort(key=_date_key)
    else:
        rows.sort(key=lambda row: (row[4], -row[3]))
    return rows


def _filtered_sql(filters: Filters) -> tuple[str, list]:
    where, params = _filter_sql(filters)
    return f"FROM library_article a WHERE {' AND '.join(where)}", params


def matching_ids(
    query: Query, filters: Filters, *, sort: str = "relevance", offset: int = 0, limit: int = 20
) -> list[int]:
    if query.positive:
        return [row[0] for row in _candidates(query, filters, sort)[offset : offset + limit]]
    body, params = _filtered_sql(filters)  # filters alone: date order
    sql = f"SELECT a.id {body} ORDER BY {_DATE_ORDER} LIMIT %s OFFSET %s"  # noqa: S608  # fixed fragments
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return [row[0] for row in cursor.fetchall()]


def count(query: Query, filters: Filters) -> int:
    """The number of matches, capped at ``COUNT_CAP + 1`` ("more than 1,000")."""
    if query.positive:
        return min(len(_candidates(query, filters, "date")), COUNT_CAP + 1)
    body, params = _filtered_sql(filters)
    with connection.cursor() as cursor:
        sql = f"SELECT COUNT(*) FROM (SELECT 1 {body} LIMIT %s) capped"  # noqa: S608  # fixed fragments, values bound
        cursor.execute(sql, [*params, COUNT_CAP + 1])
        return int(cursor.fetchone()[0])


def search(
    text: str, filters: Filters | None = None, *, sort: str = "relevance", offset: int = 0, limit: int = DEFAULT_LIMIT
) -> Results:
    """The articles matching ``text`` and ``filters``; ``QueryError`` for a query that cannot be run."""
    filters = filters or Filters()
    if not isinstance(text, str):
        raise QueryError("bad_query", _("The search could not be read."))
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError("too_long", _("The search is too long (at most %(n)d characters).") % {"n": MAX_QUERY_LENGTH})
    try:
        query = parse(text.replace("\x00", " "))
    except QueryError as exc:
        if exc.code == "too_many":
            raise QueryError("too_many", _("Too many words (at most %(n)d).") % {"n": MAX_CLAUSES}) from None
        raise QueryError(exc.code, _("The search could not be read.")) from None
    if not query.positive and not filters.any:
        raise QueryError("empty", _("Type a few words to search for."))
    if sort not in SORTS:
        sort = "relevance"
    offset = max(0, min(offset, MAX_OFFSET))
    limit = max(1, min(limit, MAX_LIMIT))
    if query.positive:  # one bounded query gives the page and the (capped) count
        rows = _candidates(query, filters, sort)
        ids = [row[0] for row in rows[offset : offset + limit + 1]]
        matches: int | None = min(len(rows), COUNT_CAP + 1)
    else:
        ids = matching_ids(query, filters, sort=sort, offset=offset, limit=limit + 1)
        matches = None
    more = len(ids) > limit
    ids = ids[:limit]
    found = Article.objects.only(*LIST_FIELDS).in_bulk(ids)
    articles = [found[i] for i in ids if i in found]
    if matches is not None:
        total = matches
    else:
        total = len(articles) if (offset == 0 and not more) else count(query, filters)
    next_offset = offset + limit if more and offset + limit <= MAX_OFFSET else None
    return Results(articles, total, offset, next_offset, query)


def related(article: Article, *, limit: int = 5) -> list[Article]:
    """Other articles sharing the most MeSH major topics with this one (then the newest)."""
    topics = [fold(t) for t in article.major_topics][:20]
    if not topics:
        return []
    placeholders = ", ".join(["%s"] * len(topics))
    where = f"t.kind = %s AND t.value IN ({placeholders}) AND t.article_id <> %s AND a.deleted_at IS NULL"
    sql = (
        "SELECT t.article_id FROM library_articleterm t JOIN library_article a ON a.id = t.article_id "  # noqa: S608  # fixed text; values bound
        "WHERE " + where + " GROUP BY t.article_id, a.pmid ORDER BY COUNT(*) DESC, a.pmid DESC LIMIT %s"
    )  # placeholders only: the values are bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(ArticleTerm.Kind.MAJOR), *topics, article.pk, limit])
        ids = [row[0] for row in cursor.fetchall()]
    found = Article.objects.only(*LIST_FIELDS).in_bulk(ids)
    return [found[i] for i in ids if i in found]


def clause_words(clause: Clause) -> list[str]:
    return [w for words in clause.alternatives for w in words]
