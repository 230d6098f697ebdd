"""Search: the same results on SQLite (FTS5) and PostgreSQL (tsvector), checked against one golden
file made from the shared PubMed files; phrase, prefix, filters, sort, the French bridge, and
what people may type (empty, 10,000 characters, FTS syntax)."""

from __future__ import annotations

import json
import os
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


def test_common_words_with_a_type_or_mesh_filter_walk_the_term_index(shared_articles, monkeypatch):
    """PostgreSQL: when the words are common (read in id order), a publication type or MeSH filter
    drives the scan from the term index instead; the results are the golden file's all the same
    (the plan is forced here: the shared articles are too few for the statistics to say common)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan (SQLite's FTS5 has one way)")
    from cordee.library import search as library_search

    driven = []
    real = library_search._candidate_sql

    def spy(query, filters, *, driving=None):
        driven.append(driving)
        return real(query, filters, driving=driving)

    monkeypatch.setattr(library_search, "_pg_plan", lambda query: "enable_bitmapscan")
    monkeypatch.setattr(library_search, "_candidate_sql", spy)
    golden = json.loads(GOLDEN.read_text())
    for text, options in CASES:
        key = f"{text} {json.dumps(options, sort_keys=True)}"
        assert _run(text, options) == golden[key], key
    assert ("type", "review") in driven and ("mesh", "humans") in driven


def test_common_words_in_a_few_years_read_those_years_first(shared_articles, monkeypatch):
    """PostgreSQL: common words with a range of a few years are matched within those years' articles
    (the year index, the id scan turned off) rather than walking every id backwards; the results
    are the golden file's all the same (the shares are forced: the shared articles are too few)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan (SQLite's FTS5 has one way)")
    from cordee.library import search as library_search

    statements: list[str] = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(library_search, "_pg_plan", lambda query: "enable_bitmapscan")
    monkeypatch.setattr(library_search, "_years_share", lambda f: 0.01 if (f.year_from or f.year_to) else 1.0)
    golden = json.loads(GOLDEN.read_text())
    with connection.execute_wrapper(spy):
        for text, options in CASES:
            key = f"{text} {json.dumps(options, sort_keys=True)}"
            assert _run(text, options) == golden[key], key
    assert "SET LOCAL enable_indexscan = off" in statements  # ("cell*" from 2019)
    # and the bitmaps kept exact (a lossy one rechecks each article of those years from TOAST)
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
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'library_article_search_idx'")
            assert "gin" in cursor.fetchone()[0].lower()
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'library_article_fts'")
            assert "fts5" in cursor.fetchone()[0].lower()


def test_a_year_ranges_share_comes_from_the_statistics_of_year(monkeypatch):
    from cordee.library import search as library_search

    stats = {"2015": 0.02, "2016": 0.025, "2020": 0.5, "1999": 0.1}
    monkeypatch.setattr(library_search, "_pg_common", lambda table, column, **kw: stats)
    assert library_search._years_share(Filters(year_from=2015, year_to=2016)) == pytest.approx(0.045)
    assert library_search._years_share(Filters(year_from=2016)) == pytest.approx(0.525)
    assert library_search._years_share(Filters(year_to=2000)) == pytest.approx(0.1)
    assert library_search._years_share(Filters()) == 1.0  # no range: nothing to drive
    monkeypatch.setattr(library_search, "_pg_common", lambda table, column, **kw: {})
    assert library_search._years_share(Filters(year_from=2015)) == 1.0  # no statistics: no guess
