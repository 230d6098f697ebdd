"""Search: matching, ranking, filters, bad queries, and the as-you-type page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.drugs.models import GenericMembership, Product
from cordee.drugs.search import TIER_CODE, Filters, QueryError, search

pytestmark = pytest.mark.usefixtures("subset_db")


def names(query: str, **filters) -> list[str]:
    return [hit.doc.name for hit in search(query, Filters(**filters), limit=50).hits]


def test_brand_name_any_case_accent_or_typo(db):
    expected = names("doliprane")
    assert expected and all(n.startswith("DOLIPRANE") for n in expected)
    assert names("DOLIPRANE") == names("Doliprane") == names("dolipran") == expected
    assert names("dolipane")[: len(expected)] == expected  # a letter missing
    assert search("dolipane").typos and not search("doliprane").typos


def test_substance_with_or_without_accents(db):
    assert names("paracétamol") == names("PARACETAMOL") == names("paracetamol")
    found = names("paracetamol")
    assert found[0].startswith("PARACETAMOL")  # the name starts with it: first
    assert any(n.startswith("DOLIPRANE") for n in found)  # by substance, after
    assert names("amoxicilline") and names("amoxiciline")[:3] == names("amoxicilline")[:3]


def test_codes_cis_cip7_cip13(db):
    for code, kind in (("60002283", "cis"), ("4949729", "cip7"), ("3400949497294", "cip13")):
        hit = search(code).hits[0]
        assert (hit.doc.cis, hit.code_kind, hit.tier) == ("60002283", kind, TIER_CODE)
    assert search("3400 9494 97294").hits[0].doc.cis == "60002283"  # spaces as printed on boxes
    prefix = search("3400949")
    assert prefix.total > 1 and all(h.tier > TIER_CODE for h in prefix.hits)


def test_ranking_exact_before_fuzzy_and_commercialised_first(db):
    hits = search("doliprane", limit=50).hits
    assert [h.tier for h in hits] == sorted(h.tier for h in hits)
    keys = [(h.tier, h.doc.status_rank) for h in hits]
    assert keys == sorted(keys)


def test_filters(db):
    rectal = names("doliprane", route="rectale")
    assert rectal and all("suppositoire" in n for n in rectal)
    assert all(h.doc.form == "comprimé" for h in search("doliprane", Filters(form="comprimé")).hits)
    for status in ("commercialised", "not_commercialised"):
        for hit in search("paracetamol", Filters(status=status)).hits:
            assert hit.doc.commercialised == (status == "commercialised")
    group = GenericMembership.objects.filter(cis__in=Product.objects.values("cis")).order_by("group_id").first()
    in_group = search("", Filters(group=group.group_id)).hits  # a group alone lists its members
    assert in_group and all(group.group_id in h.doc.groups for h in in_group)
    princeps = search("paracetamol", Filters(generic="princeps")).hits
    assert all(0 in h.doc.generic_types for h in princeps)


def test_empty_query_is_refused_before_any_database_access(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        for empty in ("", "   "):
            with pytest.raises(QueryError) as refused:
                search(empty)
            assert refused.value.code == "empty"


def test_a_10000_character_query_is_refused(db, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(QueryError) as refused:
        search("a" * 10_000)
    assert refused.value.code == "too_long"


def test_too_short_queries(db):
    for short in ("d", "12", "!!"):
        with pytest.raises(QueryError):
            search(short)


def test_no_result(db):
    assert search("zzzzzzzz").total == 0


# --- the page and its htmx fragment -----------------------------------------------------
def test_pages_need_a_login(client, db):
    for url in ("/medicaments/", "/medicaments/resultats/?q=doliprane"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["alice", "sam", "paula"])
def test_professionals_staff_and_patients_may_search(client_for, personas, who):
    response = client_for(personas[who]).get("/medicaments/?q=doliprane")
    assert response.status_code == 200
    assert "DOLIPRANE 1000 mg, comprimé" in response.content.decode()


def test_the_page_searches_as_you_type_without_inline_script(client_for, alice):
    html = client_for(alice).get("/medicaments/").content.decode()
    assert 'hx-get="/medicaments/resultats/"' in html and 'hx-trigger="input changed delay:250ms, search"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # CSP: no inline script
    assert "style=" not in html


def test_the_fragment_gives_results_or_a_clear_message(client_for, alice):
    client = client_for(alice)
    fragment = client.get("/medicaments/resultats/", {"q": "dolipran"})
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert "/medicaments/60234100/" in fragment.content.decode()
    empty = client.get("/medicaments/resultats/", {"q": ""})
    assert empty.status_code == 200 and 'class="notice warning"' in empty.content.decode()
    long = client.get("/medicaments/resultats/", {"q": "a" * 10_000})
    assert long.status_code == 200 and "200" in long.content.decode()  # "at most 200 characters"


def test_the_page_refuses_a_long_query_with_a_message(client_for, alice):
    response = client_for(alice).get("/medicaments/", {"q": "a" * 10_000})
    assert response.status_code == 400
    assert 'class="notice warning"' in response.content.decode()


def test_an_unknown_filter_value_is_a_message_not_an_error(client_for, alice):
    response = client_for(alice).get("/medicaments/resultats/", {"q": "doliprane", "status": "bogus"})
    assert response.status_code == 200 and 'class="notice warning"' in response.content.decode()


def test_the_results_fragment_costs_one_query_however_many_results(client_for, alice):
    client = client_for(alice)
    client.get("/medicaments/resultats/", {"q": "doliprane"})  # session and index warmed up
    counts = []
    for query in ("clamoxyl", "paracetamol"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/medicaments/resultats/", {"q": query})
        drug_queries = [q["sql"] for q in queries.captured_queries if "drugs_" in q["sql"]]
        assert len(drug_queries) == 1 and "drugs_importrun" in drug_queries[0]  # the index version only
        counts.append(response.content.count(b'class="drug-item"'))
    assert counts[0] < counts[1] == 20
