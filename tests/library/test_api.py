"""The library's JSON API: search, article, collections (the schema itself is held by tests/api)."""

from __future__ import annotations

import pytest
from django.test import Client

from cordee.audit.models import AuditEntry
from cordee.library.models import Collection
from tests.conftest import login_as

CSRF = "c" * 32


def _client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        login_as(client, user)
        client.cookies["cordee_csrf"] = CSRF
    return client


def _post(client: Client, path: str, data: dict):
    return client.post(path, data, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)


def test_anonymous_gets_401(db):
    for path in ("/api/library/search?q=heart", "/api/library/articles/1", "/api/library/collections"):
        assert _client().get(path).status_code == 401


def test_search(alice, demo_articles):
    body = _client(alice).get("/api/library/search?q=metformine&sort=date").json()
    assert body["total"] == 2 and [r["pmid"] for r in body["results"]] == [990000010, 990000002]
    assert body["results"][0]["url"] == "/bibliotheque/articles/990000010/"
    filtered = _client(alice).get("/api/library/search?q=heart&type=Review&from=2019").json()
    assert [r["pmid"] for r in filtered["results"]] == [990000001]


@pytest.mark.parametrize(
    "query,code",
    [
        ("q=", "empty"),
        ("q=%20*%20-%20(%20%22", "empty"),
        ("q=x&from=abcd", "bad_filter"),
        ("q=x&lang=xx", "bad_filter"),
    ],
)
def test_bad_searches_are_400(alice, demo_articles, query, code):
    response = _client(alice).get(f"/api/library/search?{query}")
    assert response.status_code == 400 and response.json()["code"] == code


def test_a_ten_thousand_character_query_is_refused(alice, demo_articles):
    response = _client(alice).get("/api/library/search?q=" + "a" * 10000)
    assert response.status_code in (400, 414)


def test_article(alice, demo_articles):
    body = _client(alice).get("/api/library/articles/990000001").json()
    assert body["abstract"][1] == {"label": "METHODS", "text": body["abstract"][1]["text"]}
    assert "HbA1c" in body["abstract"][1]["text"] and body["mesh"][0] == {
        "descriptor": "Heart Failure",
        "major": True,
        "qualifiers": ["drug therapy"],
    }
    assert body["citation"].endswith("PMID: 990000001.") and body["author_details"][0]["orcid"]
    assert _client(alice).get("/api/library/articles/5").status_code == 404
    assert _client(alice).get("/api/library/articles/x").status_code == 404


def test_patients_get_404(paula, demo_articles):
    assert _client(paula).get("/api/library/articles/990000001").status_code == 404
    assert _client(paula).get("/api/library/search?q=heart").status_code == 404


def test_collections(alice, charlie, demo_articles):
    client = _client(alice)
    created = _post(client, "/api/library/collections", {"name": "Cardio"})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert _post(client, "/api/library/collections", {"name": "Cardio"}).status_code == 400
    added = _post(client, f"/api/library/collections/{pk}/items", {"pmid": 990000001})
    assert added.status_code == 201 and added.json()["size"] == 1
    assert _post(client, f"/api/library/collections/{pk}/items", {"pmid": 5}).status_code == 404
    assert [c["name"] for c in client.get("/api/library/collections").json()] == ["Cardio"]
    _post(client, f"/api/library/collections/{pk}/items", {"pmid": 990000003})
    empty = _post(client, "/api/library/collections", {"name": "Asthme"}).json()["id"]
    listed = client.get("/api/library/collections").json()  # sizes counted with the list
    assert [(c["id"], c["name"], c["size"]) for c in listed] == [(empty, "Asthme", 0), (pk, "Cardio", 2)]
    assert [a["pmid"] for a in client.get(f"/api/library/collections/{pk}").json()["articles"]] == [
        990000003,
        990000001,
    ]
    outsider = _client(charlie)
    assert outsider.get(f"/api/library/collections/{pk}").status_code == 404
    assert _post(outsider, f"/api/library/collections/{pk}/items", {"pmid": 990000003}).status_code == 404
    assert Collection.objects.get(pk=pk).items.count() == 2
    assert AuditEntry.objects.filter(actor_id=charlie.pk, target_type="library.collection").count() == 2
    assert AuditEntry.objects.filter(actor_id=alice.pk, action="library.collection.created").count() == 2
    assert _post(client, "/api/library/collections", {"name": "x", "extra": 1}).status_code == 400
