"""The messaging JSON API: login, outsiders answered as missing, bad input, audit, OpenAPI shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from cordee.audit.models import AuditEntry
from cordee.messaging.models import Message
from tests.messaging.conftest import new_key

API = "/api/messaging"
pytestmark = pytest.mark.django_db


def send(client, conversation_id, body="Bonjour", **extra):
    payload = {"body": body, "key": extra.pop("key", None) or new_key(), **extra}
    return client.post(f"{API}/conversations/{conversation_id}/messages", payload, content_type="application/json")


def _endpoints(conversation_id, message_id, user_id):
    c, m = conversation_id, message_id
    return [
        ("get", f"{API}/conversations", {}),
        ("get", f"{API}/colleagues", {}),
        ("post", f"{API}/conversations/direct", {"user_id": user_id}),
        ("post", f"{API}/conversations/groups", {"title": "x", "member_ids": []}),
        ("post", f"{API}/conversations/care-team", {"patient_id": 1}),
        ("post", f"{API}/conversations/patient", {"patient_id": 1}),
        ("get", f"{API}/conversations/{c}", {}),
        ("patch", f"{API}/conversations/{c}", {"title": "x"}),
        ("get", f"{API}/conversations/{c}/messages", {}),
        ("post", f"{API}/conversations/{c}/messages", {"body": "x", "key": new_key()}),
        ("post", f"{API}/conversations/{c}/read", {"seq": 1}),
        ("post", f"{API}/conversations/{c}/members", {"user_id": user_id}),
        ("delete", f"{API}/conversations/{c}/members/{user_id}", {}),
        ("post", f"{API}/conversations/{c}/admins", {"user_id": user_id, "admin": True}),
        ("post", f"{API}/conversations/{c}/replies", {"closed": True}),
        ("post", f"{API}/conversations/{c}/attachments", {}),
        ("patch", f"{API}/messages/{m}", {"body": "x"}),
        ("delete", f"{API}/messages/{m}", {}),
        ("get", f"{API}/attachments/1", {}),
        ("get", f"{API}/attachments/1/preview", {}),
    ]


def test_every_endpoint_needs_a_login(personas, threads, bob):
    client = Client()
    message = Message.objects.filter(conversation=threads["direct"]).first()
    for method, path, data in _endpoints(threads["direct"].pk, message.pk, bob.pk):
        response = getattr(client, method)(path, data, content_type="application/json")
        assert response.status_code == 401, (method, path)


def test_an_outsider_gets_the_missing_answer_on_every_endpoint_of_a_conversation(client_for, charlie, bob, threads):
    """Charlie is in none of these: each answer is the one a missing object gets, and nothing changes."""
    client = client_for(charlie)
    message = Message.objects.filter(conversation=threads["care"]).first()
    before = Message.objects.count()
    for method, path, data in _endpoints(threads["care"].pk, message.pk, bob.pk)[6:]:
        response = getattr(client, method)(path, data, content_type="application/json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json() == {"detail": "Not found.", "code": "not_found"}, (method, path)
    assert Message.objects.count() == before
    assert Message.objects.get(pk=message.pk).body == message.body


def test_list_shows_my_conversations_with_unread_counts(client_for, alice, bob, threads):
    response = client_for(bob).get(f"{API}/conversations")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == {threads["direct"].pk, threads["care"].pk}
    assert rows[threads["direct"].pk]["unread"] == 0  # Bob answered Alice: he had read her
    assert rows[threads["direct"].pk]["label"] == "Alice Martin"
    rows = {row["id"]: row for row in client_for(alice).get(f"{API}/conversations").json()}
    assert rows[threads["direct"].pk]["unread"] == 1  # Bob's answer
    assert rows[threads["care"].pk]["label"] == "Équipe de soins de Paula BERNARD"


def test_outsider_and_forged_ids_get_the_answer_given_for_a_missing_conversation(client_for, charlie, threads):
    client = client_for(charlie)
    missing = client.get(f"{API}/conversations/987654/messages")
    assert missing.status_code == 404
    for forged in [threads["direct"].pk, threads["care"].pk, "abc", "-1", "0", "1e3", "99999999999999999999"]:
        for response in [
            client.get(f"{API}/conversations/{forged}"),
            client.get(f"{API}/conversations/{forged}/messages"),
            send(client, forged),
        ]:
            assert response.status_code == 404, forged
            assert response.json() == missing.json() == {"detail": "Not found.", "code": "not_found"}
    assert Message.objects.filter(conversation=threads["direct"]).count() == 2


def test_send_returns_the_stored_message_and_a_resend_is_not_duplicated(client_for, alice, threads):
    client = client_for(alice)
    key = new_key()
    first = send(client, threads["direct"].pk, "Bonjour <script>alert(1)</script>", key=key, urgent=True)
    assert first.status_code == 201
    body = first.json()
    assert (body["seq"], body["urgent"], body["body"]) == (3, True, "Bonjour <script>alert(1)</script>")
    again = send(client, threads["direct"].pk, "Bonjour <script>alert(1)</script>", key=key)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Message.objects.filter(conversation=threads["direct"]).count() == 3
    entry = AuditEntry.objects.get(action="message.sent")
    assert (entry.actor_id, entry.target_id, entry.category) == (alice.pk, str(body["id"]), "security")
    assert "Bonjour" not in str(entry.details)


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [("", 400, "vide"), ("   \n ", 400, "vide"), ("x" * 10_001, 400, "trop long")],
)
def test_empty_or_oversized_message_is_refused_and_nothing_stored(client_for, alice, threads, body, status, word):
    response = send(client_for(alice), threads["direct"].pk, body)
    assert response.status_code == status
    assert word in response.json()["detail"]
    assert Message.objects.filter(conversation=threads["direct"]).count() == 2


def test_bad_keys_and_shapes_are_refused(client_for, alice, threads):
    client = client_for(alice)
    assert send(client, threads["direct"].pk, key="short").status_code == 400
    assert send(client, threads["direct"].pk, key="has space in it").status_code == 400
    assert send(client, threads["direct"].pk, mentions=["x"]).status_code == 400  # schema: ints only


def test_patient_thread_the_patient_answers_then_replies_are_closed(client_for, alice, paula, threads):
    patient_thread = threads["patient"]
    assert send(client_for(paula), patient_thread.pk, "Merci docteur").status_code == 201
    closing = client_for(alice).post(
        f"{API}/conversations/{patient_thread.pk}/replies", {"closed": True}, content_type="application/json"
    )
    assert closing.status_code == 200 and closing.json()["replies_closed"] is True
    refused = send(client_for(paula), patient_thread.pk, "Encore une question")
    assert refused.status_code == 403
    assert Message.objects.filter(conversation=patient_thread).count() == 2
    assert send(client_for(alice), patient_thread.pk, "La professionnelle peut toujours écrire").status_code == 201
    assert AuditEntry.objects.filter(action="conversation.replies_closed", patient_id=paula.patient.pk).exists()


def test_a_patient_cannot_close_replies_nor_start_a_thread(client_for, paula, threads):
    client = client_for(paula)
    response = client.post(
        f"{API}/conversations/{threads['patient'].pk}/replies", {"closed": True}, content_type="application/json"
    )
    assert response.status_code == 403
    start = client.post(
        f"{API}/conversations/patient", {"patient_id": paula.patient.pk}, content_type="application/json"
    )
    assert start.status_code == 403
    group = client.post(f"{API}/conversations/groups", {"title": "x"}, content_type="application/json")
    assert group.status_code == 403


def test_a_professional_outside_the_care_team_cannot_start_a_patient_thread(client_for, charlie, paula):
    response = client_for(charlie).post(
        f"{API}/conversations/patient", {"patient_id": paula.patient.pk}, content_type="application/json"
    )
    assert response.status_code == 404


def test_history_pages_and_catch_up(client_for, alice, threads):
    client = client_for(alice)
    for i in range(6):
        assert send(client, threads["direct"].pk, f"m{i}").status_code == 201
    latest = client.get(f"{API}/conversations/{threads['direct'].pk}/messages?limit=3").json()
    assert [m["seq"] for m in latest["messages"]] == [6, 7, 8] and latest["more_before"]
    older = client.get(f"{API}/conversations/{threads['direct'].pk}/messages?limit=3&before=6").json()
    assert [m["seq"] for m in older["messages"]] == [3, 4, 5]
    caught = client.get(f"{API}/conversations/{threads['direct'].pk}/messages?after=6").json()
    assert [m["seq"] for m in caught["messages"]] == [7, 8] and caught["last_seq"] == 8


def test_edit_and_delete_within_the_window_are_audited(client_for, alice, bob, threads, settings):
    client = client_for(alice)
    message = send(client, threads["care"].pk, "Tension 12/8").json()
    edited = client.patch(f"{API}/messages/{message['id']}", {"body": "Tension 13/8"}, content_type="application/json")
    assert edited.status_code == 200
    assert edited.json()["edited"] is True and edited.json()["rev_seq"] > message["rev_seq"]
    assert client_for(bob).patch(
        f"{API}/messages/{message['id']}", {"body": "not mine"}, content_type="application/json"
    ).status_code in (403, 404)
    assert client_for(alice).delete(f"{API}/messages/{message['id']}").status_code == 204
    stored = Message.objects.get(pk=message["id"])
    assert stored.body is None and stored.deleted_at is not None
    actions = set(AuditEntry.objects.filter(target_id=str(message["id"])).values_list("action", flat=True))
    assert {"message.sent", "message.edited", "message.deleted"} <= actions


def test_edit_after_the_window_is_refused(client_for, alice, threads, settings):
    client = client_for(alice)
    message = send(client, threads["direct"].pk, "bientôt figé").json()
    Message.objects.filter(pk=message["id"]).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    response = client.patch(f"{API}/messages/{message['id']}", {"body": "trop tard"}, content_type="application/json")
    assert response.status_code == 403
    assert Message.objects.get(pk=message["id"]).body == "bientôt figé"


def test_read_mark_moves_unread_to_zero(client_for, bob, threads):
    client = client_for(bob)
    response = client.post(
        f"{API}/conversations/{threads['direct'].pk}/read", {"seq": 99}, content_type="application/json"
    )
    assert response.json() == {"seq": 2}  # never past the last message
    rows = {row["id"]: row for row in client.get(f"{API}/conversations").json()}
    assert rows[threads["direct"].pk]["unread"] == 0


def test_reading_a_patient_thread_is_audited_with_the_patient(client_for, bob, paula, threads):
    client_for(bob).get(f"{API}/conversations/{threads['care'].pk}/messages")
    entry = AuditEntry.objects.filter(action="conversation.read", actor_id=bob.pk).get()
    assert (entry.category, entry.patient_id) == ("access", paula.patient.pk)


def test_csrf_is_required_on_unsafe_methods(alice, threads):
    from tests.conftest import login_as

    client = Client(enforce_csrf_checks=True)
    login_as(client, alice)
    response = send(client, threads["direct"].pk)
    assert response.status_code == 403
    assert Message.objects.filter(conversation=threads["direct"]).count() == 2


def test_group_admins_manage_members(client_for, alice, bob, charlie):
    client = client_for(alice)
    group = client.post(
        f"{API}/conversations/groups",
        {"title": "Coordination", "member_ids": [bob.pk]},
        content_type="application/json",
    ).json()
    assert group["label"] == "Coordination" and group["role"] == "admin"
    added = client.post(
        f"{API}/conversations/{group['id']}/members", {"user_id": charlie.pk}, content_type="application/json"
    )
    assert added.status_code == 201
    assert (
        client_for(bob)
        .post(f"{API}/conversations/{group['id']}/members", {"user_id": charlie.pk}, content_type="application/json")
        .status_code
        == 403
    )  # a member who is not an administrator
    assert client_for(alice).delete(f"{API}/conversations/{group['id']}/members/{charlie.pk}").status_code == 204
    entries = AuditEntry.objects.filter(target_type="messaging.conversation", target_id=str(group["id"]))
    actions = list(entries.values_list("action", flat=True))
    assert actions == ["conversation.created", "conversation.member_added", "conversation.member_removed"]


def test_openapi_schema_and_docs_are_served(client_for, alice):
    client = client_for(alice)
    schema = client.get("/api/openapi.json").json()
    assert "/api/messaging/conversations/{conversation_id}/messages" in schema["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_responses_match_the_openapi_schema(client_for, alice, threads):
    """The message shape the API returns is the one the schema documents, field by field."""
    client = client_for(alice)
    schema = client.get("/api/openapi.json").json()
    message_schema = schema["components"]["schemas"]["MessageOut"]
    body = send(client, threads["direct"].pk).json()
    assert set(body) == set(message_schema["properties"])
    assert set(message_schema["required"]) <= set(body)


def test_a_page_of_history_runs_a_fixed_number_of_queries(client_for, alice, threads):
    """Access, the number, the page and its attachments: 4 messaging queries whatever the page's
    length (no query nor key unwrap per message), plus the request's own (session, audit entry)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(alice)
    for i in range(30):
        assert send(client, threads["care"].pk, f"m{i}").status_code == 201
    client.get(f"{API}/conversations/{threads['care'].pk}/messages?limit=5")  # keys warmed up
    counts = []
    for limit in (5, 30):
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(f"{API}/conversations/{threads['care'].pk}/messages?limit={limit}")
        assert len(page.json()["messages"]) == limit
        messaging = [q["sql"] for q in ctx.captured_queries if "messaging_" in q["sql"]]
        assert len(messaging) == 4, messaging
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
