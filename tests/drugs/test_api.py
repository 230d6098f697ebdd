"""The drug JSON API: login required, and every response valid against the OpenAPI schema."""

from __future__ import annotations

import jsonschema
import pytest

pytestmark = pytest.mark.usefixtures("subset_db")
API = "/api/drugs"


@pytest.fixture
def openapi(client_for, alice):
    return client_for(alice).get("/api/openapi.json").json()


def check(openapi: dict, path: str, response, status: int) -> dict:
    """Assert the status and validate the JSON body against the schema the API documents."""
    assert response.status_code == status, response.content
    operation = openapi["paths"][f"{API}{path}"]["get"]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    body = response.json()
    # The whole document is the root, so that "#/components/schemas/…" references resolve.
    jsonschema.Draft202012Validator({**openapi, **schema}).validate(body)
    return body


def test_the_api_needs_a_session(client, db):
    for url in (f"{API}/search?q=doliprane", f"{API}/products/60234100", f"{API}/interactions?cis=60234100"):
        assert client.get(url).status_code == 401


def test_search(client_for, alice, openapi):
    body = check(openapi, "/search", client_for(alice).get(f"{API}/search", {"q": "DOLIPRAN", "limit": 5}), 200)
    assert body["total"] > 5 and len(body["results"]) == 5
    first = body["results"][0]
    assert first["name"].startswith("DOLIPRANE") and first["status"] == "commercialised"
    assert first["url"] == f"/medicaments/{first['cis']}/"


def test_search_by_cip13(client_for, alice, openapi):
    body = check(openapi, "/search", client_for(alice).get(f"{API}/search", {"q": "3400949497294"}), 200)
    assert body["results"][0]["matched_code_kind"] == "cip13" and body["results"][0]["cis"] == "60002283"


@pytest.mark.parametrize(("query", "code"), [("", "empty"), ("a" * 10_000, "too_long"), ("x", "too_short")])
def test_unsearchable_queries_are_400(client_for, alice, openapi, query, code):
    body = check(openapi, "/search", client_for(alice).get(f"{API}/search", {"q": query}), 400)
    assert body["code"] == code and body["detail"]


def test_a_bad_filter_is_400(client_for, alice, openapi):
    response = client_for(alice).get(f"{API}/search", {"q": "doliprane", "generic": "maybe"})
    assert check(openapi, "/search", response, 400)["code"] == "bad_filter"


def test_product_detail(client_for, paula, openapi):
    body = check(openapi, "/products/{cis}", client_for(paula).get(f"{API}/products/60002283"), 200)
    assert body["cis"] == "60002283" and body["composition"][0]["substance"] == "ANASTROZOLE"
    box = next(b for b in body["presentations"] if b["cip13"] == "3400949497294")
    assert (box["price"], box["reimbursement_rates"]) == ("24.34", ["100 %"])
    assert body["generic_groups"] and body["generic_groups"][0]["members"]


def test_unknown_product_is_404(client_for, alice, openapi):
    for cis in ("99999999", "abc"):
        body = check(openapi, "/products/{cis}", client_for(alice).get(f"{API}/products/{cis}"), 404)
        assert body["code"] == "not_found"


def test_interactions(client_for, alice, openapi):
    from cordee.drugs.search import search

    coumadine, aspirin = search("coumadine 2").hits[0].doc.cis, search("aspirine upsa 500").hits[0].doc.cis
    response = client_for(alice).get(f"{API}/interactions", {"cis": [coumadine, aspirin]})
    body = check(openapi, "/interactions", response, 200)
    assert body and body[0]["level"] == "CI" and body[0]["dose"]["strength_mg"] == "500"
    kardegic = search("kardegic 75").hits[0].doc.cis
    response = client_for(alice).get(f"{API}/interactions", {"cis": [coumadine, kardegic]})
    first = check(openapi, "/interactions", response, 200)[0]
    assert (first["level"], first["levels"], first["applies"]) == ("AD", ["AD", "PC"], True)
    assert [c["level"] for c in first["dose"]["applicable"]] == ["AD", "PC"]
    assert check(openapi, "/interactions", client_for(alice).get(f"{API}/interactions?cis=99999999"), 404)


def test_the_schema_documents_the_drug_endpoints(client_for, alice):
    schema = client_for(alice).get("/api/openapi.json").json()
    assert {f"{API}/search", f"{API}/products/{{cis}}", f"{API}/interactions"} <= set(schema["paths"])


def test_search_marks_guesses_holders_and_parallel_imports_and_pages(client_for, alice, openapi):
    client = client_for(alice)
    body = check(openapi, "/search", client.get(f"{API}/search", {"q": "clamoxyl"}), 200)
    assert [r["spelling_guess"] for r in body["results"]] == [False] * 5 + [True] * 4
    body = check(openapi, "/search", client.get(f"{API}/search", {"q": "ventoline", "limit": 3}), 200)
    assert body["results"][0]["holders"] == "GLAXOSMITHKLINE" and not body["results"][0]["parallel_import"]
    assert body["next_offset"] == 3
    following = check(openapi, "/search", client.get(f"{API}/search", {"q": "ventoline", "offset": 3}), 200)
    assert following["offset"] == 3 and any(r["parallel_import"] for r in following["results"])
    body = check(openapi, "/search", client.get(f"{API}/search", {"q": "previscan"}), 200)
    assert body["confusions"][0]["confused_with"] == "PERMIXON"
