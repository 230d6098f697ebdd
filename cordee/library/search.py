"""Searching the library: one interface, SQLite FTS5 or PostgreSQL full-text search underneath.

``search(text, filters, sort=…, offset=…, limit=…)`` parses the text once (``query.py``) and
compiles it for the database in use:

- **SQLite** (the embedded default): an FTS5 table ``library_article_fts`` over ``title``,
  ``abstract_text`` and ``terms`` (tokenizer ``porter unicode61 remove_diacritics 2``, a prefix
  index of four letters: migration ``0006``), kept in step with ``library_article`` by triggers;
  ranked by ``bm25`` with the title weighing 10, the terms 3, the abstract 1.
- **PostgreSQL**: a narrow table ``library_search`` (migration ``0003``), one row per live article
  with a ``tsvector`` (``english`` configuration; title weight A, abstract B, terms C, plus one
  lexeme per filter value such as ``type:review`` or ``year:2019``) under a GIN index, written by
  the store (``index`` / ``unindex``); ranked by ``ts_rank``. Words and filters are one GIN query.

The same words reach both (clean words only: see ``query.py``), both stem with Porter's
English stemmer (FTS5's ``porter``, PostgreSQL's snowball ``english``, which agree on common
words) and drop the same stop words, so they find the same articles (``tests/library`` checks it
on a shared set); the order of equal-relevance hits is the PMID, newest first. Filters (years,
publication type, journal, language, MeSH heading) are indexed SQL on SQLite and lexemes of the
index on PostgreSQL; the articles they find are the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
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


def _pg_phrase(words: list[str], prefix: bool, *, phrases: bool = True) -> str:
    text = (" <-> " if phrases else " & ").join(words)
    return text + (":*" if prefix else "")


def compile_tsquery(query: Query, *, phrases: bool = True, negations: bool = True) -> str:
    """A ``to_tsquery('english', …)`` text built from clean words only. ``phrases=False`` and
    ``negations=False`` give a looser query matching at least the same articles (a phrase's words
    anywhere, no exclusion): the cheap first pass of a phrase search."""
    parts = []
    for clause in query.clauses:
        if clause.negated and not negations:
            continue
        options = [_pg_phrase(words, clause.prefix, phrases=phrases) for words in clause.alternatives if words]
        joined = options[0] if len(options) == 1 else "(" + " | ".join(f"({o})" for o in options) + ")"
        parts.append(("!" if clause.negated else "") + (f"({joined})" if clause.negated else joined))
    return " & ".join(parts)


def _term_filters(filters: Filters) -> list[tuple[str, str]]:
    """The (kind, folded value) of the publication type and MeSH filters asked for."""
    asked = ((ArticleTerm.Kind.TYPE, filters.publication_type), (ArticleTerm.Kind.MESH, filters.mesh))
    return [(str(kind), fold(value)) for kind, value in asked if value]


def _filter_sql(filters: Filters) -> tuple[list[str], list[object]]:
    """The WHERE conditions of ``filters`` on ``a``."""
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
        where.append(  # per article, by the (kind, value, article) index: no list of every "Humans" built
            "EXISTS (SELECT 1 FROM library_articleterm t WHERE t.kind = %s AND t.value = %s AND t.article_id = a.id)"
        )
        params += list(term)
    return where, params


_DATE_ORDER = "COALESCE(a.year, 0) DESC, COALESCE(a.month, 0) DESC, a.pmid DESC"  # NULLs last on both
CANDIDATES = 1200  # ≥ MAX_OFFSET + MAX_LIMIT + 1: every page that can be asked for lies inside the set
_COLUMNS = "a.id, a.year, a.month, a.pmid"
_ROW = "s.article_id, s.year, s.month, s.pmid, s.search_vector"
YEAR_LEXEMES = 12  # PostgreSQL: a year range up to this many years is matched in the index, one lexeme a year


def _lexeme(text: str) -> str:
    """``text`` as one quoted lexeme of a ``tsquery`` literal (taken as it is: no parsing, no stemming)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _year_range(filters: Filters) -> tuple[int, int] | None:
    """The years of a range short enough to be matched as lexemes (``year:2015 | year:2016``)."""
    if not filters.year_from:
        return None
    high = filters.year_to or timezone.now().year + 1
    return (filters.year_from, high) if 0 <= high - filters.year_from < YEAR_LEXEMES else None


def _filter_lexemes(filters: Filters) -> tuple[list[str], list[str]]:
    """PostgreSQL: the lexemes of ``library_search`` (migration 0003) a match must hold, one per
    filter value, and the year lexemes it must hold one of (a short range; none otherwise)."""
    required = [f"{kind}:{value}" for kind, value in _term_filters(filters)]
    if filters.language:
        required.append(f"lang:{filters.language}")
    if filters.journal:
        required.append(f"journal:{filters.journal}")
    years = _year_range(filters)
    return required, ([f"year:{y}" for y in range(years[0], years[1] + 1)] if years else [])


def _facets(filters: Filters) -> tuple[str, list[str], list[int]]:
    """PostgreSQL: the filters as a ``tsquery`` over the filter lexemes, and the SQL conditions
    (with their values) left for a year range too long to be lexemes."""
    required, years = _filter_lexemes(filters)
    parts = [_lexeme(lexeme) for lexeme in required]
    where: list[str] = []
    values: list[int] = []
    if years:
        parts.append("(" + " | ".join(_lexeme(year) for year in years) + ")")
    else:
        if filters.year_from:
            where.append("s.year >= %s")
            values.append(filters.year_from)
        if filters.year_to:
            where.append("s.year <= %s")
            values.append(filters.year_to)
    return " & ".join(parts), where, values


def _candidate_sql(
    query: Query, filters: Filters, *, window: Window | None = None, ranked: bool = True
) -> tuple[str, list]:
    """At most ``CANDIDATES`` matches, the last imported first, each with its score (lower is better;
    0 for all where ``ranked`` is false: the date order needs none, and scoring reads every
    candidate's vector again, from TOAST on PostgreSQL, and merges FTS5's doclists again for bm25).

    The bound is what keeps a very common word cheap: both engines stream the matches in id order
    (FTS5 walks its doclists backwards, PostgreSQL the narrow table's key backwards or the GIN
    bitmap) and stop after ``CANDIDATES``; only those are scored and sorted. A query with fewer
    matches than that (most of them) is ranked exactly. PostgreSQL: ``window`` keeps to the
    newest articles (``_window``): its blocks' lexemes in the GIN query, or the key's range."""
    if connection.vendor == "postgresql":
        facets, where, values = _facets(filters)
        if window is not None and window.by_blocks:
            blocks = "(" + " | ".join(_lexeme(f"block:{b}") for b in range(window.first, window.last + 1)) + ")"
            facets = f"{facets} & {blocks}" if facets else blocks
        elif window is not None:
            where, values = [*where, "s.article_id > %s"], [*values, window.since]
        condition = "s.search_vector @@ (to_tsquery('english', %s)" + (" && %s::tsquery)" if facets else ")")
        tail = "".join(f" AND {w}" for w in where)
        tsquery = compile_tsquery(query)
        loose = compile_tsquery(query, phrases=False, negations=False)
        if _has_phrase(query):
            # A phrase: its words' articles first (the words of an excluded phrase left out), the
            # newest first, from the index alone; the phrase is then checked on those in order
            # until enough are found — not on every article holding the words. An exclusion of
            # words is one GIN query with the rest: the index answers it exactly, no row read.
            # The vector checked is read from TOAST once for the check and the score: a row value
            # (``ROW(…)``) cannot point into TOAST, so making it fetches the vector, which the
            # check and ``ts_rank`` then share (each read it again from TOAST otherwise: "heart
            # failure" 38–40 → 30–31 ms at a million articles).
            inner = (
                "SELECT x.* FROM (SELECT w.article_id, w.year, w.month, w.pmid, ROW(w.search_vector) AS r FROM "  # noqa: S608
                f"(SELECT {_ROW} FROM library_search s WHERE {condition}{tail} "  # fixed fragments
                "ORDER BY s.article_id DESC OFFSET 0) w OFFSET 0) x "
                "WHERE (x.r).f1 @@ to_tsquery('english', %s) LIMIT %s"
            )
            params = [loose, *([facets] if facets else []), *values, tsquery, CANDIDATES]
            vector = "(c.r).f1"
        else:
            inner = (
                f"SELECT {_ROW} FROM library_search s "  # noqa: S608  # fixed fragments
                f"WHERE {condition}{tail} ORDER BY s.article_id DESC LIMIT %s"
            )
            params = [tsquery, *([facets] if facets else []), *values, CANDIDATES]
            vector = "c.search_vector"
        score = f"-ts_rank({vector}, to_tsquery('english', %s))" if ranked else "0"
        sql = (  # the narrow table has what the order needs: library_article is not read
            f"SELECT c.article_id, c.year, c.month, c.pmid, {score} FROM ({inner}) c"  # noqa: S608  # fixed fragments
        )
        return sql, [*([tsquery] if ranked else []), *params]
    where, params = _filter_sql(filters)
    score = "bm25(library_article_fts, 10.0, 1.0, 3.0)" if ranked else "0"
    sql = (
        f"SELECT {_COLUMNS}, {score} FROM library_article_fts f "  # noqa: S608
        # the article's key and filter columns from their narrow index (migration 0004), not its wide row
        "JOIN library_article a INDEXED BY library_article_search_key ON a.id = f.rowid "
        f"WHERE library_article_fts MATCH %s AND {' AND '.join(where)} "
        "ORDER BY f.rowid DESC LIMIT %s"
    )
    return sql, [compile_fts5(query), *params, CANDIDATES]


def _date_key(row: tuple) -> tuple:
    return (-(row[1] or 0), -(row[2] or 0), -row[3])


_KEPT: dict[str, tuple[float, Any]] = {}  # what PostgreSQL's statistics said, and when


def _kept(key: str, read: Callable[[], Any]) -> Any:
    """``read()``, kept ten minutes: statistics change with ``ANALYZE``, not from one search to the next."""
    read_at, value = _KEPT.get(key, (0.0, None))
    if time.monotonic() - read_at > 600:
        value = read()
        _KEPT[key] = (time.monotonic(), value)
    return value


# PostgreSQL: what each scan costs (bench/library, EXPLAIN ANALYZE at a million articles). The
# backward scan of the narrow table's key checks about CANDIDATES / share rows, each one's
# tsvector read from TOAST: ~3.5 µs a row. The GIN bitmap merges the posting lists of the words and
# filter values asked for: ~0.056 µs an entry (15 ms for the 267,000 articles holding "cancer");
# what it then fetches is bounded by the window (``_window``), so it is not counted.
_ROW_US = 3.5
_POSTING_US = 0.056
_FETCH_US = 0.7  # the GIN bitmap without a window (a phrase): each match's row fetched
# The window of newest articles a bitmap search fetches from: this many times the rows expected
# to hold CANDIDATES matches (the statistics' share is an estimate; a window that holds too few
# matches is searched again without it).
WINDOW_MARGIN = 2
# Each search row holds the lexeme of its block of 2 ** BLOCK_BITS ids (``block:122`` for ids
# 999,424–1,007,615; migration 0007 wrote them with the same size, so changing it means rewriting
# every row: ``library_reindex``). A window of up to MAX_BLOCKS blocks is searched by their
# lexemes, a longer one by the key's range (``_window``).
BLOCK_BITS = 13
MAX_BLOCKS = 8


def _window_span(share: float, articles: float) -> float | None:
    """How many of the newest articles a bitmap's window holds (``CANDIDATES × WINDOW_MARGIN /
    share``), or None where that is half the table or more, or the share or the size is unknown."""
    if share <= 0 or articles <= 0:
        return None
    span = CANDIDATES * WINDOW_MARGIN / share
    return span if span < articles / 2 else None


def _backward_is_cheaper(share: float, entries: float, *, windowed: bool = True, prefix: bool = False) -> bool:
    """Whether the backward scan reads less than the GIN bitmap, for words and filters matching
    ``share`` of the articles whose posting lists hold ``entries`` × the articles in all: never
    where the bitmap's window is a few blocks (but for a ``prefix``); a bitmap without a window
    (``windowed=False``) also fetches every match."""
    if share <= 0:
        return False
    articles = _search_rows()
    span = _window_span(share, articles)
    if windowed and not prefix and span is not None and span < (MAX_BLOCKS - 1) << BLOCK_BITS:
        # a window of a few blocks (``_window``): ~0.1 µs an id of it, where the backward scan
        # reads half as many rows at 3.5 µs each ("patients": 1.5 against 6 ms at a million). Not
        # for a prefix: GIN gathers every item of the lexemes it starts before anything else
        # ("cell*": 530,000), which no window skips.
        return False
    bitmap = _POSTING_US * articles * entries + (0.0 if windowed else _FETCH_US * articles * share)
    return CANDIDATES * _ROW_US / share < bitmap


@dataclass(frozen=True)
class Window:
    """The newest articles a bitmap search keeps to: the ids after ``since``, and the blocks of
    ids (``BLOCK_BITS``) from ``first`` to ``last`` that hold them."""

    since: int
    first: int
    last: int

    @property
    def by_blocks(self) -> bool:
        """Whether the window is few enough blocks to be ANDed as lexemes inside the GIN query."""
        return self.last - self.first < MAX_BLOCKS


def _window(cursor: Any, share: float) -> Window | None:
    """PostgreSQL, the GIN bitmap: the window of the newest ``CANDIDATES × WINDOW_MARGIN / share``
    articles, or None where that is most of the table or the share is unknown.

    The bitmap holds every match; fetching each one's row to keep the newest CANDIDATES was half
    of a common word's search (72,730 rows for "treatment outcome", 55 of 74 ms). A window of a
    few blocks is ANDed inside the GIN query as their lexemes: GIN's fast scan walks the blocks'
    short posting lists and skips the words' along them (28 of the 34 ms of "risk factors" at a
    million articles went to merging the words' whole lists; 5 ms in 5 blocks). Its cost grows with
    the window's articles times its blocks (each article of the blocks checked against the
    query: 48 blocks took 234 ms), so a longer window is the key's range ANDed with the bitmap
    after the merge. The newest CANDIDATES matches are the same either way when the window holds
    that many; ``_candidates`` searches again without it otherwise."""
    articles = _search_rows()
    span = _window_span(share, articles)
    if span is None:
        return None
    cursor.execute("SELECT min(article_id), max(article_id) FROM library_search")  # both from the key
    low, high = cursor.fetchone()
    if high is None:
        return None
    since = int(high - span * (high - low + 1) / articles)  # ids with gaps (withdrawn articles) included
    return Window(since, max(since + 1, 0) >> BLOCK_BITS, high >> BLOCK_BITS)


def _search_rows() -> float:
    """PostgreSQL's estimate of the rows of ``library_search`` (``reltuples``; -1 never analysed)."""

    def read() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'library_search'")
            row = cursor.fetchone()
        return max(float(row[0]), 0.0) if row else 0.0

    return float(_kept("rows", read))


def _common_values(key: str, column: str, values: str, freqs: str) -> dict[Any, float]:
    """PostgreSQL's own statistics (``ANALYZE``) of a column of ``library_search``: its commonest
    values (``values``, cast) and the share of articles holding each (``freqs``), kept ten minutes."""

    def read() -> dict[Any, float]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {values}, {freqs} FROM pg_stats "  # noqa: S608  # the callers' fixed column names
                "WHERE tablename = 'library_search' AND attname = %s",
                [column],
            )
            row = cursor.fetchone()
        return dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}

    return dict(_kept(key, read))


def _lexeme_shares() -> dict[str, float]:
    """The commonest lexemes of ``library_search`` (words and filter values) and the share of
    articles holding each."""
    return _common_values("lexemes", "search_vector", "most_common_elems::text::text[]", "most_common_elem_freqs")


def _year_shares() -> dict[int, float]:
    """The share of articles of each common year of ``library_search``. The lexemes' statistics
    keep only the commonest thousand (down to ~3 % of the articles at a million), which leaves out
    every year, so a year filter's window was never sized."""
    return _common_values("years", "year", "most_common_vals::text::int[]", "most_common_freqs")


def _shares(query: Query, filters: Filters) -> tuple[float, float]:
    """The share of articles the words and filters match, and the sum of the shares of every lexeme
    they name (the length of the posting lists the GIN index merges, in articles), from the
    statistics of ``library_search``'s lexemes (words independent of each other and of the
    filters; a phrase counted as its words, a prefix as the common lexemes it starts, an
    exclusion as the share of articles without it; a lexeme too rare for the statistics as 0)."""
    freqs = _lexeme_shares()
    words = sorted({w for c in query.clauses for words in c.alternatives for w in words})
    stems: dict[str, str | None] = {}
    if words:
        with connection.cursor() as cursor:
            cursor.execute("SELECT w, ts_lexize('english_stem', w) FROM unnest(%s::text[]) w", [words])
            stems = {w: (lexemes[0] if lexemes else None) for w, lexemes in cursor.fetchall()}

    def word_share(word: str, prefix: bool) -> float:
        stem = stems.get(word) or ""
        if prefix:
            return min(1.0, sum(f for lexeme, f in freqs.items() if stem and lexeme.startswith(stem)))
        return freqs.get(stem, 0.0)

    share, entries = 1.0, 0.0
    for clause in query.clauses:
        alternatives = []
        for option in clause.alternatives:
            option_share = 1.0
            for index, word in enumerate(option):
                one = word_share(word, clause.prefix and index == len(option) - 1)
                option_share *= one
                entries += one
            alternatives.append(option_share)
        clause_share = min(1.0, sum(alternatives))
        share *= (1.0 - clause_share) if clause.negated else clause_share
    required, years = _filter_lexemes(filters)
    for lexeme in required:
        share *= freqs.get(lexeme, 0.0)
        entries += freqs.get(lexeme, 0.0)
    if years:
        by_column = _year_shares()  # a year too rare for the lexemes' statistics (3 % at a million)
        year_share = sum(freqs.get(year) or by_column.get(int(year[5:]), 0.0) for year in years)
        share *= min(1.0, year_share)
        entries += year_share
    return share, entries


def _has_phrase(query: Query) -> bool:
    """Whether ``query`` holds a phrase (of two words or more; searched or excluded): the one part
    of a query the GIN index cannot answer alone (it keeps no positions), whose matches are a part
    of its words' that the statistics do not tell."""
    return compile_tsquery(query, phrases=False) != compile_tsquery(query)


def _plan(query: Query, filters: Filters) -> tuple[bool, float]:
    """PostgreSQL: whether the backward scan is the cheaper for this search, and the share of
    articles a window is sized by (0 for none: a phrase; words and exclusions of words have a share
    the statistics tell)."""
    share, entries = _shares(query, filters)
    windowed = not _has_phrase(query)
    prefix = any(clause.prefix for clause in query.positive)
    return _backward_is_cheaper(share, entries, windowed=windowed, prefix=prefix), share if windowed else 0.0


# PostgreSQL: the memory a search's bitmaps may take. With the default 4 MB, a common word's GIN
# bitmap (320,000 articles of a million for "humans") turns lossy, and the rows of its lossy pages
# are all checked again, each one's tsvector read from TOAST.
SEARCH_WORK_MEM = "32MB"


def _candidates(query: Query, filters: Filters, sort: str) -> list[tuple]:
    """The bounded candidates (id, year, month, pmid, score), in the order asked for.

    On PostgreSQL the scan is chosen here, not left to the planner, which prices reading a row's
    ``tsvector`` from TOAST at nothing: a backward scan of the narrow table's key for words and
    filters common enough (``_backward_is_cheaper``), the GIN bitmap over a window of the newest
    articles otherwise (``_window``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        window = None
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
            # one process: under load, parallel workers only add their start to a search's time
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            # planned at each run, for its words and with the scan set below: a generic plan (which a
            # statement prepared on the server may switch to) knows neither, and keeps the scan it was
            # planned with whatever the settings say later
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            backward, share = _plan(query, filters)
            window = None if backward else _window(cursor, share)  # read from the key: before the next line
            cursor.execute(f"SET LOCAL {'enable_bitmapscan' if backward else 'enable_indexscan'} = off")
        ranked = sort != "date"
        cursor.execute(*_candidate_sql(query, filters, window=window, ranked=ranked))
        rows = cursor.fetchall()
        if window is not None and len(rows) < CANDIDATES:  # the window held too few: all the articles
            cursor.execute(*_candidate_sql(query, filters, ranked=ranked))
            rows = cursor.fetchall()
    if sort == "date":
        rows.sort(key=_date_key)
    else:
        rows.sort(key=lambda row: (row[4], -row[3]))
    return rows


# PostgreSQL: an article's search row (migration 0003): its words, weights A/B/C as in FTS5's
# ranking, then its filter values as lexemes of their own, then the block of ids it lies in
# (``block:<id >> BLOCK_BITS>``, migration 0007: the window of newest articles is a set of those
# lexemes, ANDed inside the GIN index), then one padding lexeme of 2,000 "~"
# (never a word: queries hold letters and digits only) that takes every vector past PostgreSQL's
# ~2 kB threshold for storing a value out of line; lz4 compresses it to a few bytes. Set-based: a
# SQL function per row cost twice as much at import. Each article's terms are read by its key
# (a subquery per article; the kind compared as an expression, so that the article's index is the
# only one that serves): a join left to the planner scanned every type and MeSH term of the
# library while the table's statistics were those of an emptier one (a first import), and was
# ~12 % slower with good ones; a subquery free to use the (kind, value, article) index did the
# same per article.
_SEARCH_ROWS = """
    INSERT INTO library_search (article_id, year, month, pmid, search_vector)
    SELECT a.id, a.year, a.month, a.pmid,
        setweight(to_tsvector('english'::regconfig, coalesce(a.title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(a.abstract_text, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(a.terms, '')), 'C')
        || array_to_tsvector(array_remove(ARRAY(
            SELECT t.kind || ':' || t.value FROM library_articleterm t
            WHERE t.article_id = a.id AND (t.kind || '') IN ('type', 'mesh')
        ) || ARRAY[
            'lang:' || a.language, 'journal:' || a.journal_abbrev, 'year:' || a.year::text,
            'block:' || (a.id >> {block_bits})::text, repeat('~', 2000)
        ], NULL))
    FROM library_article a
    WHERE a.deleted_at IS NULL {articles}
    ON CONFLICT (article_id) DO UPDATE SET year = EXCLUDED.year, month = EXCLUDED.month,
        pmid = EXCLUDED.pmid, search_vector = EXCLUDED.search_vector
"""


def index(article_ids: list[int]) -> None:
    """PostgreSQL: (re)write the search rows of these articles, after their terms (a withdrawn one
    gets none). SQLite's FTS5 table follows by triggers: nothing to do."""
    if connection.vendor != "postgresql" or not article_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(_SEARCH_ROWS.format(articles="AND a.id = ANY(%s)", block_bits=BLOCK_BITS), [list(article_ids)])


def index_all() -> None:
    """PostgreSQL: the search rows of every live article in one statement (``library_reindex``,
    a corpus loaded in bulk), then the statistics the plan choice reads. Rows rewritten are put
    back in the order of their ids (``CLUSTER``, the table locked meanwhile): the window's GIN scan
    steps through the posting lists in the order of the rows."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE library_articleterm")
        cursor.execute("SELECT EXISTS (SELECT 1 FROM library_search)")
        rewritten = cursor.fetchone()[0]
        cursor.execute(_SEARCH_ROWS.format(articles="", block_bits=BLOCK_BITS))
        if rewritten:  # rows updated where the table had room: in the key's order again (``_window``)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # CLUSTER refuses pending key checks
            cursor.execute("CLUSTER library_search USING library_search_pkey")
        cursor.execute("ANALYZE library_search")


def unindex(article_ids: list[int]) -> None:
    """PostgreSQL: these articles leave the search (a ``DeleteCitation``)."""
    if connection.vendor != "postgresql" or not article_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM library_search WHERE article_id = ANY(%s)", [list(article_ids)])


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
