"""Search: the same results on SQLite (FTS5) and PostgreSQL (tsvector), checked against one golden
file made from the shared PubMed files; phrase, prefix, filters, sort, the French bridge, and
what people may type (empty, 10,000 characters, FTS syntax)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.db import connection

from cordee.library.query import QueryError, parse
from cordee.library.search import Filters, compile_fts5, compile_tsquery, search
from tests.library.conftest import recorded_sql

GOLDEN = Path(__file__).parent / "search_golden.json"
CASES = [
    ("heart failure", {}),
    ('"heart failure"', {}),
    ("diab*", {}),
    ("metformine", {}),
    ("insuffisance cardiaque", {}),
    ("cancer -mice", {}),
    ("review 2019", {}),
    ("protein binding", {}),
    ("cell*", {"from": 2019}),
    ("children", {"type": "Review"}),
    ("patients", {"lang": "eng", "to": 2016}),
    ("humans", {"mesh": "Humans", "from": 2015, "to": 2016}),
    ("tumor", {"journal": "Sci Rep"}),
    ('NEAR " * - ( ) : ^ AND OR', {}),
    ("covid-19", {}),
    ("rats", {"sort": "date"}),
]


def _filters(options: dict) -> Filters:
    return Filters(
        year_from=options.get("from"),
        year_to=options.get("to"),
        publication_type=options.get("type", ""),
        journal=options.get("journal", ""),
        language=options.get("lang", ""),
        mesh=options.get("mesh", ""),
    )


def _run(text: str, options: dict) -> dict:
    try:
        results = search(text, _filters(options), sort=options.get("sort", "date"), limit=100)
    except QueryError as exc:
        return {"error": exc.code}
    return {"pmids": [a.pmid for a in results.articles], "total": results.total}


def test_the_same_results_on_both_databases(shared_articles):
    """Date order (the ranking functions differ: bm25 vs ts_rank) over the golden file's cases."""
    found = {f"{text} {json.dumps(options, sort_keys=True)}": _run(text, options) for text, options in CASES}
    if os.environ.get("LIBRARY_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    assert found == json.loads(GOLDEN.read_text())
    assert sum(1 for v in found.values() if v.get("pmids")) >= 12  # the cases do find something


@pytest.mark.parametrize("chosen, plan", [((True, 1.0), "enable_bitmapscan"), ((False, 0.0), "enable_indexscan")])
def test_both_postgresql_scans_give_the_golden_results(shared_articles, monkeypatch, chosen, plan):
    """PostgreSQL: the backward scan of the narrow table's key (words and filters common) and the
    GIN bitmap (rare) find the golden file's articles, phrases and exclusions included (the share
    is forced: the shared articles are too few for the statistics to tell)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan (SQLite's FTS5 has one way)")
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_plan", lambda query, filters: chosen)
    golden = json.loads(GOLDEN.read_text())
    with recorded_sql() as statements:
        for text, options in CASES:
            key = f"{text} {json.dumps(options, sort_keys=True)}"
            assert _run(text, options) == golden[key], key
    assert f"SET LOCAL {plan} = off" in statements
    assert not any("s.article_id > %s" in s for s in statements)  # no window: the share is 0 or backward
    # the bitmaps kept exact (a lossy one checks every row of its pages again, from TOAST)
    assert f"SET LOCAL work_mem = '{library_search.SEARCH_WORK_MEM}'" in statements
    # planned for its words and scan at each run, never a generic plan kept from another search
    assert "SET LOCAL plan_cache_mode = force_custom_plan" in statements


def test_relevance_puts_title_matches_first(demo_articles):
    results = search("heart failure")
    pmids = [a.pmid for a in results.articles]
    assert set(pmids[:2]) <= {990000001, 990000003, 990000010}  # "heart failure" in the title
    assert 990000004 in pmids  # the French article, by its MeSH heading


def test_phrase_prefix_and_exclusion(demo_articles):
    assert {a.pmid for a in search('"lactic acidosis"').articles} == {990000002}
    assert {a.pmid for a in search('"acidosis lactic"').articles} == set()
    assert {a.pmid for a in search("natriur*").articles} == {990000001, 990000003}
    assert {a.pmid for a in search("heart failure -guideline").articles} == {990000001, 990000004, 990000010}


def test_heart_failure_review_2020(demo_articles):
    """Publication types and the year are searched too: "review" and "2020" find the 2020 review."""
    assert [a.pmid for a in search("heart failure review 2020").articles] == [990000001]


def test_filters_and_sort(demo_articles):
    assert {a.pmid for a in search("heart", Filters(publication_type="Review")).articles} == {990000001, 990000004}
    assert {a.pmid for a in search("heart", Filters(year_from=2020, year_to=2020)).articles} == {990000001, 990000003}
    assert {a.pmid for a in search("heart", Filters(language="fre")).articles} == {990000004}
    assert {a.pmid for a in search("heart", Filters(journal="Eur Heart J")).articles} == {990000003}
    assert {a.pmid for a in search("", Filters(mesh="metformin")).articles} == {990000002, 990000010}
    dated = [a.pmid for a in search("heart failure", sort="date").articles]
    assert dated[0] == 990000010 and dated[-1] == 990000004  # 2021, …, 2018


def test_french_words_find_english_articles(demo_articles):
    assert {a.pmid for a in search("metformine").articles} == {990000002, 990000010}
    assert 990000001 in {a.pmid for a in search("insuffisance cardiaque").articles}
    assert 990000004 in {a.pmid for a in search("insuffisance cardiaque").articles}  # and the French one
    assert 990000005 in {a.pmid for a in search("hypertension arterielle").articles}


def test_withdrawn_articles_leave_the_search(demo_articles):
    from cordee.library.store import withdraw

    withdraw([990000002])
    assert {a.pmid for a in search("metformine").articles} == {990000010}


@pytest.mark.parametrize("text", ["", "   ", "the of and", '"" * -', "NEAR OR AND"])
def test_an_empty_query_is_an_error(demo_articles, text):
    with pytest.raises(QueryError) as caught:
        search(text)
    assert caught.value.code == "empty"


def test_a_ten_thousand_character_query(demo_articles):
    with pytest.raises(QueryError) as caught:
        search("heart " * 1700)
    assert caught.value.code == "too_long"
    with pytest.raises(QueryError) as caught:
        search(" ".join(f"w{i}" for i in range(40)))
    assert caught.value.code == "too_many"


@pytest.mark.parametrize(
    "text",
    ['"heart', 'heart"', "heart*failure", "*", "-", "--heart", "heart NEAR failure", "NEAR(heart failure)",
     "heart OR", "title:heart", "heart^2", "(heart", "heart & failure | x", "!heart", "heart:*", "a'b", "\x00heart",
     "heart <-> failure", "'; DROP TABLE library_article; --", "héart fàilure", "心臓"],
)  # fmt: skip
def test_fts_syntax_characters_are_only_separators(demo_articles, text):
    """On SQLite as on PostgreSQL (the suite runs on both): no syntax error, ever."""
    try:
        search(text)
    except QueryError as exc:
        assert exc.code in ("empty", "too_many")


def test_compiled_queries_hold_only_clean_words():
    query = parse('"heart failure" diab* -"mice" metformine')
    assert compile_fts5(query) == '"heart failure" AND "diab"* AND ("metformine" OR "metformin") NOT "mice"'
    assert compile_tsquery(query) == "heart <-> failure & diab:* & !(mice) & ((metformine) | (metformin))"


def test_the_index_is_the_database_s_own(db):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'library_search_idx'")
            assert "gin" in cursor.fetchone()[0].lower()
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'library_article_fts'")
            assert "fts5" in cursor.fetchone()[0].lower()


def test_the_share_of_words_and_filters_comes_from_the_statistics(monkeypatch, db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics and stemmer (SQLite's FTS5 has one plan)")
    from cordee.library import search as library_search

    stats = {"patient": 0.6, "cancer": 0.1, "cell": 0.2, "cellular": 0.05, "type:review": 0.1, "year:2015": 0.02,
             "year:2016": 0.03, "lang:eng": 0.9}  # fmt: skip
    monkeypatch.setattr(library_search, "_lexeme_shares", lambda: stats)

    def share(query, filters):
        return library_search._shares(query, filters)[0]

    assert share(parse("patients"), Filters()) == pytest.approx(0.6)
    assert share(parse("patients cancer"), Filters()) == pytest.approx(0.06)
    assert share(parse("cell*"), Filters()) == pytest.approx(0.25)  # the lexemes it starts
    assert share(parse('"patients cancer"'), Filters()) == pytest.approx(0.06)  # a phrase: its words
    assert share(parse("patients"), Filters(publication_type="Review", language="eng")) == pytest.approx(0.054)
    assert share(parse("patients"), Filters(year_from=2015, year_to=2016)) == pytest.approx(0.03)
    assert share(parse("patients"), Filters(year_from=1990, year_to=2016)) == pytest.approx(0.6)  # long: not lexemes
    # years too rare for the lexemes' statistics: the year column's
    monkeypatch.setattr(library_search, "_year_shares", lambda: {2015: 0.5, 2017: 0.25, 2018: 0.1})
    assert share(parse("patients"), Filters(year_from=2015, year_to=2016)) == pytest.approx(0.03)  # the lexemes'
    assert share(parse("patients"), Filters(year_from=2017, year_to=2019)) == pytest.approx(0.21)
    assert share(parse("metformin"), Filters()) == 0.0  # too rare for the statistics
    assert share(parse("patients -cancer"), Filters()) == pytest.approx(0.54)  # an exclusion: the rest
    assert share(parse("patients -cell*"), Filters()) == pytest.approx(0.45)
    # the posting lists the GIN index merges: every word's and filter value's, in articles
    assert library_search._shares(parse("patients cancer"), Filters())[1] == pytest.approx(0.7)
    assert library_search._shares(parse("cell*"), Filters(language="eng"))[1] == pytest.approx(1.15)
    assert library_search._shares(parse("patients"), Filters(year_from=2015, year_to=2016))[1] == pytest.approx(0.65)
    assert library_search._shares(parse("patients -cancer"), Filters())[1] == pytest.approx(0.7)  # both lists


@pytest.mark.parametrize(
    "articles, share, entries, windowed, backward",
    [
        # a window of a few blocks of ids: the bitmap, whatever the words
        (1_000_000, 0.69, 0.69, True, False),  # "patients": 3,500 ids in a block, or 1,740 rows read backwards
        (1_000_000, 0.53, 0.53, True, False),  # "cells" (a prefix: below)
        (1_000_000, 0.18, 0.96, True, False),  # "patients cancer": two long lists
        (1_000_000, 0.068, 0.52, True, False),  # "treatment outcome": 35,000 ids, 5 blocks
        # a longer window (the key's range after the merge), or none (a phrase): what each reads
        (10_000_000, 0.03, 0.9, True, True),  # 80,000 ids: 40,000 rows, or 9 million entries merged
        (10_000_000, 0.03, 0.06, True, False),  # two rarer words: 600,000 entries
        (1_000_000, 0.69, 0.69, False, True),  # a phrase of common words: 1,740 rows, or 690,000 fetched
        (1_000_000, 0.0068, 0.3, False, False),  # "heart failure": 176,000 rows, or 300,000 entries
        (100_000, 0.069, 0.069, False, False),  # a smaller library: the lists are shorter
        (1_000_000, 0.0, 0.3, True, False),  # unknown (too rare for the statistics): the bitmap
        (-1, 0.5, 0.5, True, False),  # never analysed
    ],
)
def test_the_backward_scan_is_taken_where_it_reads_less(monkeypatch, articles, share, entries, windowed, backward):
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_search_rows", lambda: float(max(articles, 0)))
    assert library_search._backward_is_cheaper(share, entries, windowed=windowed) is backward


def test_a_prefix_is_not_searched_by_blocks(monkeypatch):
    """GIN gathers every item of the lexemes a prefix starts before it skips anything: for "cell*"
    (530,000 articles) the window's blocks save nothing, the backward scan reads 2,260 rows."""
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_search_rows", lambda: 1_000_000.0)
    assert library_search._backward_is_cheaper(0.53, 0.53, prefix=True) is True
    assert library_search._backward_is_cheaper(0.53, 0.53, prefix=False) is False
    monkeypatch.setattr(library_search, "_shares", lambda query, filters: (0.53, 0.53))
    assert library_search._plan(parse("cell*"), Filters()) == (True, 0.53)
    assert library_search._plan(parse("cells"), Filters()) == (False, 0.53)


def test_a_phrase_takes_no_window_an_exclusion_does(monkeypatch, db):
    """A phrase's matches are a part of its words' the statistics cannot tell: no window, so the
    bitmap fetches every match of the words, which the choice of scan counts ("heart failure" at
    a share of 0.268: 267,000 rows fetched, or 4,500 read backwards). An exclusion of words is
    answered by the index and its share is told by the statistics: a window, as for words."""
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_search_rows", lambda: 1_000_000.0)
    monkeypatch.setattr(library_search, "_shares", lambda query, filters: (0.268, 0.268))
    assert library_search._plan(parse("cancer"), Filters()) == (False, 0.268)  # the bitmap, a window
    assert library_search._plan(parse("cancer -mice"), Filters()) == (False, 0.268)
    assert library_search._plan(parse('cancer -"heart failure"'), Filters()) == (True, 0.0)
    assert library_search._plan(parse('"heart failure"'), Filters()) == (True, 0.0)
    monkeypatch.setattr(library_search, "_shares", lambda query, filters: (0.0068, 0.3))
    assert library_search._plan(parse('"heart failure"'), Filters()) == (False, 0.0)  # rare: the bitmap


@pytest.fixture
def small_blocks(monkeypatch, shared_articles):
    """PostgreSQL: the shared articles' search rows written again with blocks of 4 ids (a million
    articles' windows span a few of 8,192; the ~790 test articles would all lie in one), and
    ``CANDIDATES`` 10, so that windows are taken and some hold too few matches."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's window (FTS5 streams its doclists backwards)")
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "BLOCK_BITS", 2)
    monkeypatch.setattr(library_search, "CANDIDATES", 10)
    library_search.index_all()  # inside the test's transaction: rolled back with it
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM library_search")
        rows = cursor.fetchone()[0]
    monkeypatch.setattr(library_search, "_search_rows", lambda: float(rows))  # not analysed in the tests
    return rows


def test_the_window_of_newest_articles(small_blocks):
    """PostgreSQL: the GIN bitmap keeps to the newest CANDIDATES × WINDOW_MARGIN / share articles
    (ids with gaps counted), by the blocks of ids holding them (a few) or the key's range (more
    than MAX_BLOCKS); none where that is half the table or the share is unknown. Every row holds
    its own block's lexeme."""
    from cordee.library import search as library_search

    rows = small_blocks
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(article_id), max(article_id) FROM library_search")
        low, high = cursor.fetchone()
        window = library_search._window(cursor, 0.5)  # the newest 40 rows' worth of ids
        assert window.since == int(high - 40 * (high - low + 1) / rows)
        assert (window.first, window.last) == ((window.since + 1) >> 2, high >> 2)
        cursor.execute("SELECT count(*) FROM library_search WHERE article_id > %s", [window.since])
        assert 30 <= cursor.fetchone()[0] <= 50
        cursor.execute(
            "SELECT count(*) FROM library_search WHERE NOT search_vector @@ "
            "quote_literal('block:' || (article_id >> 2)::text)::tsquery"
        )
        assert cursor.fetchone()[0] == 0
        assert library_search._window(cursor, 0.0) is None
        assert library_search._window(cursor, 40 / rows) is None  # half the table: none
        assert not window.by_blocks  # ~10 blocks of 4 ids: more than 8
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(library_search, "MAX_BLOCKS", 16)
            assert window.by_blocks


@pytest.mark.parametrize("max_blocks", [64, 0], ids=["blocks", "key-range"])
def test_a_window_finds_the_newest_matches_or_is_left(monkeypatch, small_blocks, max_blocks):
    """PostgreSQL: with windows tried (10 candidates, blocks of 4 ids), the bitmap over the window
    (its blocks' lexemes, or the key's range) finds what the bitmap over every article finds (the
    newest 10 matches), and searches again without it where the window held fewer (a share
    estimated too high)."""
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "MAX_BLOCKS", max_blocks)
    cases = [(text, options) for text, options in CASES if "sort" not in options]
    searches: list[bool] = []  # one per candidate search: whether it kept to a window

    def record(execute, sql, params, many, context):
        if "FROM library_search s" in sql:
            searches.append(any("block:" in str(p) for p in params or ()) or "s.article_id > %s" in sql)
        return execute(sql, params, many, context)

    def found(chosen) -> list:
        monkeypatch.setattr(library_search, "_plan", lambda query, filters: chosen)
        searches.clear()
        with connection.execute_wrapper(record):
            return [_run(text, dict(options, sort="relevance")) for text, options in cases]

    everywhere = found((False, 0.0))  # no share known: no window
    assert searches and not any(searches)
    assert found((False, 0.12)) == everywhere  # windows of 167 rows of ids, ~42 blocks (the table: ~790)
    assert any(searches)
    assert found((False, 0.4)) == everywhere  # windows of 50 rows: most hold too few matches
    assert searches.count(False) > 0 and searches.count(True) > 0  # some searched again without


def test_the_year_shares_come_from_the_year_columns_statistics(monkeypatch, shared_articles):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics (SQLite's FTS5 has one plan)")
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_KEPT", {})  # not what an earlier test's database said
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE library_search")
        cursor.execute("SELECT year, count(*) FROM library_search WHERE year IS NOT NULL GROUP BY year")
        counts = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM library_search")
        rows = cursor.fetchone()[0]
    shares = library_search._year_shares()
    common = max(counts, key=counts.get)
    assert shares[common] == pytest.approx(counts[common] / rows, rel=0.01)  # every row sampled


def test_the_date_order_scores_nothing(shared_articles):
    """A search sorted by date leaves the ranking function out (bm25 merges FTS5's doclists again;
    ts_rank reads each candidate's vector again from TOAST) and finds the same articles in the
    same order as the candidates ranked then sorted by date."""
    from cordee.library import search as library_search

    def statements_of(sort: str) -> tuple[list[int], str]:
        with recorded_sql() as statements:
            ids = [a.id for a in search("heart failure", sort=sort, limit=100).articles]
        return ids, " ".join(s for s in statements if "LIMIT" in s)

    by_date, sql = statements_of("date")
    assert by_date and "bm25" not in sql and "ts_rank" not in sql
    _, sql = statements_of("relevance")
    assert "bm25" in sql or "ts_rank" in sql
    rows = library_search._candidates(parse("heart failure"), Filters(), "relevance")
    assert by_date == [row[0] for row in sorted(rows, key=library_search._date_key)][:100]


def test_a_phrase_is_scored_on_the_vector_it_was_checked_on(shared_articles):
    """PostgreSQL: a phrase's candidates (the vector read once for the check and the score) are
    the articles whose vector holds the phrase, each with ts_rank of its own vector, as computed
    directly on the table; the French bridge's alternative phrase too."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's search rows (SQLite ranks with bm25)")
    from cordee.library import search as library_search

    for text in ('"heart failure"', "insuffisance cardiaque"):
        query = parse(text)
        tsquery = library_search.compile_tsquery(query)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT article_id, -ts_rank(search_vector, to_tsquery('english', %s)) FROM library_search "
                "WHERE search_vector @@ to_tsquery('english', %s)",
                [tsquery, tsquery],
            )
            expected = dict(cursor.fetchall())
        rows = library_search._candidates(query, Filters(), "relevance")
        assert 0 < len(expected) < library_search.CANDIDATES
        assert {row[0]: row[4] for row in rows} == pytest.approx(expected)
        assert [row[4] for row in rows] == sorted(row[4] for row in rows)


def test_migration_0007_writes_each_rows_block(shared_articles):
    """PostgreSQL: migration 0007 adds the block lexeme to the rows written before it (and takes it
    away backwards); the searches find the same articles with or without it."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's search rows (SQLite's library_search stays empty)")
    import importlib

    migration = importlib.import_module("cordee.library.migrations.0007_postgres_search_blocks")
    from cordee.library import search as library_search

    assert migration.BLOCK_BITS == library_search.BLOCK_BITS
    assert f">> {migration.BLOCK_BITS})" in migration.ADD and f">> {migration.BLOCK_BITS})" in migration.REMOVE
    cases = [(text, options) for text, options in CASES if "sort" not in options][:12]
    before = [_run(text, options) for text, options in cases]

    def blocks() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE search_vector @@ quote_literal('block:' || "  # noqa: S608  # a constant
                f"(article_id >> {migration.BLOCK_BITS})::text)::tsquery), count(*) FROM library_search"
            )
            return cursor.fetchone()

    held, rows = blocks()
    assert held == rows > 700  # written by the store with it
    with connection.cursor() as cursor:
        cursor.execute(migration.REMOVE)
    assert blocks() == (0, rows)
    assert [_run(text, options) for text, options in cases] == before
    with connection.cursor() as cursor:
        cursor.execute(migration.ADD)
    assert blocks() == (rows, rows)
    assert [_run(text, options) for text, options in cases] == before


def test_filter_values_are_lexemes_of_their_own(demo_articles):
    """PostgreSQL: a filter value with a quote or a backslash is one lexeme (quoted, not parsed), and
    the store keeps the search rows in step: a withdrawn article leaves, a re-imported one returns."""
    from cordee.library import search as library_search
    from cordee.library import store
    from cordee.library.models import Article

    assert library_search._lexeme("mesh:alzheimer's d\\x") == "'mesh:alzheimer''s d\\\\x'"
    article = Article.objects.filter(deleted_at__isnull=True).exclude(year=None).order_by("pmid").first()
    word = re.findall(r"[A-Za-z]{6,}", article.title)[0]
    in_its_year = Filters(year_from=article.year, year_to=article.year)
    assert article.pmid in {a.pmid for a in search(word, in_its_year).articles}
    assert store.withdraw([article.pmid]) == 1
    assert article.pmid not in {a.pmid for a in search(word, in_its_year).articles}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM library_search WHERE article_id = %s", [article.pk])
            assert cursor.fetchone()[0] == 0
            other = Article.objects.filter(deleted_at__isnull=True, language="eng").exclude(year=None).first()
            cursor.execute(
                "SELECT search_vector @@ %s::tsquery FROM library_search WHERE article_id = %s",
                [f"'lang:eng' & 'year:{other.year}'", other.pk],
            )
            assert cursor.fetchone()[0] is True
            odd = "mesh:alzheimer's d\\x"  # the quoting as PostgreSQL's tsquery parser reads it
            cursor.execute("SELECT array_to_tsvector(ARRAY[%s]) @@ %s::tsquery", [odd, library_search._lexeme(odd)])
            assert cursor.fetchone()[0] is True


def test_the_postgresql_search_rows_stay_narrow(shared_articles):
    """Each vector is out of line (the padding lexeme takes every row past PostgreSQL's TOAST
    threshold): a search fetching thousands of matches reads a few pages, not a page per match."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's table (SQLite's FTS5 has its own)")
    with connection.cursor() as cursor:  # live rows per page (rolled-back rows of earlier tests take room)
        cursor.execute("SELECT count(*), count(DISTINCT (ctid::text::point)[0]) FROM library_search")
        rows, pages = cursor.fetchone()
    assert rows > 700
    assert rows / pages > 40, (rows, pages)  # ~60 bytes a row; a vector kept in line is 0.5–2 kB


def test_sqlite_joins_its_matches_to_the_narrow_key_index(shared_articles):
    """SQLite: each FTS5 match is joined to the article's key index (migration 0004), which holds
    every column the filters and the date order read, never to the wide row (overflow pages)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's join (PostgreSQL reads its narrow library_search)")
    from cordee.library import search as library_search

    filters = Filters(year_from=2015, year_to=2020, journal="N Engl J Med", language="eng", publication_type="Review")
    sql, params = library_search._candidate_sql(parse("heart failure"), filters)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "COVERING INDEX library_article_search_key" in plan, plan
    assert "INTEGER PRIMARY KEY" not in plan, plan


def test_sqlite_prefix_index_finds_what_the_plain_index_finds(shared_articles):
    """Migration 0006: a four-letter prefix index (``cell*`` read ready-merged, not merged per
    query) and automerge 8. Prefixes of four letters and of other lengths find exactly what a
    table without the prefix index finds, before and after the migration rebuilds the table."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's FTS5 options (PostgreSQL answers prefixes from its GIN index)")
    import importlib

    migration = importlib.import_module("cordee.library.migrations.0006_sqlite_fts_prefix_index")
    prefixes = ["hear", "card", "pati", "diab", "cel", "ca", "cardi", "failu", "xqzw"]

    def matches(table: str) -> dict[str, set[int]]:
        with connection.cursor() as cursor:
            found = {}
            for prefix in prefixes:
                cursor.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", [f'"{prefix}"*'])  # noqa: S608
                found[prefix] = {row[0] for row in cursor.fetchall()}
            return found

    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'library_article_fts'")
        assert "prefix='4'" in cursor.fetchone()[0]
        cursor.execute("SELECT v FROM library_article_fts_config WHERE k = 'automerge'")
        assert cursor.fetchone()[0] == 8
        cursor.execute(
            "CREATE VIRTUAL TABLE temp.plain_fts USING fts5(title, abstract_text, terms, content='', "
            f"{migration.TOKENIZE})"
        )
        cursor.execute(
            "INSERT INTO temp.plain_fts(rowid, title, abstract_text, terms) "
            "SELECT id, title, abstract_text, terms FROM library_article"
        )
    try:
        expected = matches("plain_fts")
        assert len(expected["hear"]) > 20 and len(expected["ca"]) > 100 and not expected["xqzw"]
        assert matches("library_article_fts") == expected

        class Editor:  # what the migration's function uses of a schema editor
            def __init__(self) -> None:
                self.connection = connection

            def execute(self, sql: str) -> None:
                with connection.cursor() as cursor:
                    cursor.execute(sql)

        migration.forwards(None, Editor())  # made again and rebuilt from library_article
        assert matches("library_article_fts") == expected
        assert {a.pmid for a in search("card*").articles}  # the search's own SQL reads it
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE temp.plain_fts")
