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


@pytest.mark.parametrize("share, plan", [(1.0, "enable_bitmapscan"), (0.0, "enable_indexscan")])
def test_both_postgresql_scans_give_the_golden_results(shared_articles, monkeypatch, share, plan):
    """PostgreSQL: the backward scan of the narrow table's key (words and filters common) and the
    GIN bitmap (rare) find the golden file's articles, phrases and exclusions included (the share
    is forced: the shared articles are too few for the statistics to tell)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan (SQLite's FTS5 has one way)")
    from cordee.library import search as library_search

    statements: list[str] = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(library_search, "_share", lambda query, filters: share)
    golden = json.loads(GOLDEN.read_text())
    with connection.execute_wrapper(spy):
        for text, options in CASES:
            key = f"{text} {json.dumps(options, sort_keys=True)}"
            assert _run(text, options) == golden[key], key
    assert f"SET LOCAL {plan} = off" in statements
    # the bitmaps kept exact (a lossy one checks every row of its pages again, from TOAST)
    assert f"SET LOCAL work_mem = '{library_search.SEARCH_WORK_MEM}'" in statements


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
    share = library_search._share
    assert share(parse("patients"), Filters()) == pytest.approx(0.6)
    assert share(parse("patients cancer"), Filters()) == pytest.approx(0.06)
    assert share(parse("cell*"), Filters()) == pytest.approx(0.25)  # the lexemes it starts
    assert share(parse('"patients cancer"'), Filters()) == pytest.approx(0.06)  # a phrase: its words
    assert share(parse("patients"), Filters(publication_type="Review", language="eng")) == pytest.approx(0.054)
    assert share(parse("patients"), Filters(year_from=2015, year_to=2016)) == pytest.approx(0.03)
    assert share(parse("patients"), Filters(year_from=1990, year_to=2016)) == pytest.approx(0.6)  # long: not lexemes
    assert share(parse("metformin"), Filters()) == 0.0  # too rare for the statistics


@pytest.mark.parametrize("articles, share", [(1_000_000, 0.074), (100_000, 0.234), (0, 1.0), (-1, 1.0)])
def test_the_backward_scan_starts_where_it_reads_fewer_rows(monkeypatch, articles, share):
    """Where the backward scan's ~CANDIDATES / share checked rows cost what the bitmap's matches
    cost: lower as the library grows; a table never analysed (-1) or empty takes the bitmap."""
    from cordee.library import search as library_search

    monkeypatch.setattr(library_search, "_search_rows", lambda: float(articles))
    assert library_search._common_share() == pytest.approx(share, abs=0.001)


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
