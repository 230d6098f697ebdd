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


# --- results a pharmacist trusts (issue 12) ----------------------------------------------
def test_spelling_guesses_are_marked_and_never_mixed_with_exact_matches(db):
    found = search("clamoxyl", limit=50)
    exact, guesses = found.exact, found.guesses
    assert exact and all(h.doc.name.startswith("CLAMOXYL") for h in exact)
    assert guesses and all(h.doc.name.startswith("LAROXYL") for h in guesses)  # amitriptyline, not amoxicillin
    assert found.hits == exact + guesses  # guesses only after every exact or prefix match


def test_the_page_sets_spelling_guesses_apart(client_for, alice):
    html = client_for(alice).get("/medicaments/resultats/", {"q": "clamoxyl"}).content.decode()
    heading = html.index('class="guess-heading"')
    assert html.index("CLAMOXYL 500 mg") < heading < html.index("LAROXYL 25 mg")
    assert html.count('class="drug-item guess"') == 4 and "orthographe proche" in html


def test_known_confusion_pairs_are_warned_with_their_source(client_for, alice, db):
    found = search("previscan")
    assert [(c.found, c.other) for c in found.confusions] == [("PREVISCAN", "PERMIXON")]
    assert "ANSM" in found.confusions[0].source
    html = client_for(alice).get("/medicaments/resultats/", {"q": "previscan"}).content.decode()
    assert "PREVISCAN et PERMIXON" in html and "ANSM" in html
    assert search("doliprane").confusions == []


def test_the_original_before_its_parallel_imports_with_the_holder_shown(client_for, alice, db):
    hits = search("ventoline", limit=50).hits
    inhalers = [h.doc for h in hits if "100 microgrammes/dose" in h.doc.name and h.doc.commercialised]
    assert inhalers[0].holders == "GLAXOSMITHKLINE" and not inhalers[0].parallel_import
    assert all(doc.parallel_import for doc in inhalers[1:]) and len(inhalers) > 5
    assert hits[0].doc is inhalers[0]  # the original's box first, not sixth
    html = client_for(alice).get("/medicaments/resultats/", {"q": "ventoline"}).content.decode()
    assert "importation parallèle" in html and "DIFARMED (ESPAGNE)" in html and "GLAXOSMITHKLINE" in html


def test_commercialised_originals_before_homeopathic_stocks(db):
    hits = search("doli", limit=50).hits
    first_dolichos = next(i for i, h in enumerate(hits) if h.doc.name.startswith("DOLICHOS"))
    assert hits[first_dolichos].doc.homeopathic and hits[0].doc.name.startswith("DOLIPRANE")
    doliprane = [i for i, h in enumerate(hits) if h.doc.name.startswith("DOLIPRANE") and h.doc.commercialised]
    assert doliprane and max(doliprane) < first_dolichos


def test_strengths_sort_as_numbers(db):
    suppositories = [h.doc.name for h in search("doliprane suppositoire", limit=50).hits]
    strengths = [int(name.split()[1]) for name in suppositories if name.split()[1].isdigit()]
    assert strengths == sorted(strengths) and len(strengths) >= 3  # 100, 150, 200, 300: not 100, 1000, 150
    tablets = [h.doc.name for h in search("doliprane", limit=50).hits if h.doc.name.endswith(", comprimé")]
    assert tablets.index("DOLIPRANE 500 mg, comprimé") < tablets.index("DOLIPRANE 1000 mg, comprimé")


def test_more_results_beyond_the_first_twenty(client_for, alice, db):
    first, following = search("paracetamol"), search("paracetamol", offset=20)
    assert len(first.hits) == 20 and first.next_offset == 20 and following.offset == 20
    assert not {h.doc.cis for h in first.hits} & {h.doc.cis for h in following.hits}
    assert [h.doc.cis for h in search("paracetamol", limit=40).hits] == [h.doc.cis for h in first.hits + following.hits]
    client = client_for(alice)
    html = client.get("/medicaments/resultats/", {"q": "paracetamol"}).content.decode()
    assert 'hx-get="/medicaments/resultats/?q=paracetamol&amp;offset=20"' in html and "Plus de résultats" in html
    more = client.get("/medicaments/resultats/", {"q": "paracetamol", "offset": "20"}).content.decode()
    assert more.count('class="drug-item') == 20 and "<ul" not in more and "offset=40" in more
    page = client.get("/medicaments/", {"q": "paracetamol", "offset": "20"}).content.decode()  # without JavaScript
    assert following.hits[0].doc.name in page
