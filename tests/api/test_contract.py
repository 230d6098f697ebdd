"""The API answers what its published schema says, and no input gives a server error (issue 23).

Each finding of the outside fuzzing run, pinned: bodies that do not parse, text that is not valid
Unicode, schema names shared across apps, bodies that are not objects and booleans for integers,
keys with a final newline, an answer that did not say what was stored, undeclared statuses.
"""

from __future__ import annotations

import pytest
from django.test import Client
from ninja import Schema

from cordee.api import api
from cordee.messaging.models import Conversation, Member
from tests.messaging.conftest import new_key

API = "/api/messaging"
CSRF = "c" * 32


def _client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        from tests.conftest import login_as

        login_as(client, user)
    client.cookies["cordee_csrf"] = CSRF
    return client


def _post(client: Client, path: str, raw: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", path, raw, content_type=content_type, HTTP_X_CSRFTOKEN=CSRF)


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == code, body


@pytest.mark.parametrize("authenticated", [False, True])
def test_multipart_without_a_boundary_is_a_json_400_before_anything_else(personas, alice, authenticated):
    client = _client(alice if authenticated else None)
    for path in [f"{API}/conversations/groups", f"{API}/conversations/1/messages", "/api/drugs/search"]:
        response = client.generic("POST", path, b"junk", content_type="multipart/form-data")  # CSRF cookie only
        _error(response, 400, "invalid")
    page = client.generic("POST", "/messagerie/nouvelle/groupe/", b"junk", content_type="multipart/form-data")
    assert page.status_code == 400


LONE_SURROGATE = "\\ud800"  # as it travels in JSON text: a surrogate half with no pair


@pytest.mark.parametrize(
    "method,path,raw",
    [
        ("POST", "/conversations/{direct}/messages", '{"body": "a%sb", "key": "%s"}'),
        ("POST", "/conversations/groups", '{"title": "a%sb", "member_ids": []}'),
        ("PATCH", "/conversations/{group}", '{"title": "a%sb"}'),
        ("PATCH", "/messages/{message}", '{"body": "a%sb"}'),
    ],
)
def test_text_that_is_not_valid_unicode_is_refused_at_the_edge(alice, bob, threads, method, path, raw):
    from cordee.messaging import services
    from cordee.messaging.models import Message

    group = services.do_create_group(alice, "Groupe", [bob.pk])
    message = Message.objects.filter(conversation=threads["direct"], sender=alice).first()
    url = API + path.format(direct=threads["direct"].pk, group=group.pk, message=message.pk)
    body = raw % ((LONE_SURROGATE, new_key()) if raw.count("%s") == 2 else (LONE_SURROGATE,))
    before = (Conversation.objects.count(), Message.objects.count())
    response = _client(alice).generic(method, url, body, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)
    _error(response, 400, "invalid")
    assert (Conversation.objects.count(), Message.objects.count()) == before


def test_schema_names_are_unique_across_apps():
    """Ninja names components by class name: two apps' ``ErrorOut`` made one describe the other's."""
    seen: dict[str, str] = {}
    duplicates = []

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("cordee."):
                where = f"{sub.__module__}.{sub.__qualname__}"
                if sub.__name__ in seen and seen[sub.__name__] != where:
                    duplicates.append((seen[sub.__name__], where))
                seen.setdefault(sub.__name__, where)
            walk(sub)

    api.get_openapi_schema()  # every router imported
    walk(Schema)
    assert not duplicates, duplicates
    components = api.get_openapi_schema()["components"]["schemas"]
    assert "ErrorOut" in components and set(components["ErrorOut"]["properties"]) == {"detail", "code"}


@pytest.mark.parametrize(
    "path,raw",
    [
        ("/conversations/groups", '"Réunion"'),  # a bare string had a .title
        ("/conversations/groups", '["Réunion"]'),
        ("/conversations/direct", '{"user_id": true}'),
        ("/conversations/direct", '{"user_id": "2"}'),
        ("/conversations/direct", '{"user_id": 99999999999999999999}'),
        ("/conversations/direct", '{"user_id": 2, "extra": 1}'),
        ("/conversations/{direct}/read", '{"seq": false}'),
        ("/conversations/{direct}/read", '{"seq": -1}'),
        ("/conversations/{direct}/messages", '{"body": "x", "key": "abcdefgh\\n"}'),  # "$" matched before "\n"
        ("/conversations/{direct}/messages", '{"body": "x", "key": "short"}'),
    ],
)
def test_bodies_that_do_not_fit_the_schema_are_refused(alice, bob, threads, path, raw):
    before = (Conversation.objects.count(), Member.objects.count())
    response = _post(_client(alice), API + path.format(direct=threads["direct"].pk), raw)
    _error(response, 400, "invalid")
    assert (Conversation.objects.count(), Member.objects.count()) == before


def test_the_only_admin_demoting_themself_is_told_they_stay_admin(alice, bob):
    from cordee.messaging import services

    group = services.do_create_group(alice, "Groupe", [bob.pk])
    response = _client(alice).post(
        f"{API}/conversations/{group.pk}/admins",
        {"user_id": alice.pk, "admin": False},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=CSRF,
    )
    assert response.status_code == 200
    stored = Member.objects.get(conversation=group, user=alice).role
    assert response.json()["role"] == stored == "admin"


def test_declared_answers_are_the_real_ones(personas, threads):
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = {str(status) for status in operation["responses"]}
            assert {"400", "401", "404"} <= declared, (method, path, declared)
    _error(_client().get(f"{API}/conversations"), 401, "unauthenticated")
    _error(_client(personas["charlie"]).get(f"{API}/conversations/{threads['care'].pk}"), 404, "not_found")
    key = schema["components"]["schemas"]["SendIn"]["properties"]["key"]
    assert key["pattern"] == r"^[A-Za-z0-9_-]{8,64}$"
