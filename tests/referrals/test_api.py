"""The JSON API of referrals and tele-expertise: lists, detail, transitions; every answer valid
against the published schema; forged ids and the wrong person answer the same 404."""

from __future__ import annotations

import functools
import json

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from cordee.api import api
from cordee.expertise import services as expertise_services
from tests.conftest import login_as
from tests.referrals.conftest import MISSING_ID, last_entry

pytestmark = pytest.mark.django_db
CSRF = "r" * 32
FORGED = ["abc", "-1", "0", str(MISSING_ID), "99999999999999999999"]
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def _client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        login_as(client, user)
    client.cookies["cordee_csrf"] = CSRF
    return client


@functools.cache
def _openapi() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))  # as published: statuses as strings


def check(response, path: str, method: str, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    openapi = _openapi()
    schema = openapi["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    body = response.json()
    jsonschema.Draft202012Validator({**openapi, **schema}).validate(body)
    return body


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json", headers={"X-CSRFToken": CSRF})


def test_referral_api(alice, charlie, paula, personas, referral):
    detail_path = "/api/referrals/{referral_id}"
    step_path = "/api/referrals/{referral_id}/transitions"
    assert _client().get("/api/referrals/sent").status_code == 401
    sent = check(_client(alice).get("/api/referrals/sent?state=sent&urgency=week"), "/api/referrals/sent", "get", 200)
    assert [r["id"] for r in sent["items"]] == [referral.pk]
    received = check(_client(charlie).get("/api/referrals/received"), "/api/referrals/received", "get", 200)
    assert received["count"] == 1 and received["items"][0]["receiver"]["rpps"] == "10000000025"
    body = check(_client(charlie).get(f"/api/referrals/{referral.pk}"), detail_path, "get", 200)
    assert body["role"] == "receiver" and body["reason"] == "Palpitations à l'effort"
    assert last_entry("referral.read").actor_id == charlie.pk
    otto = _client(personas["otto"])
    for raw in [*FORGED, str(referral.pk)]:
        assert otto.get(f"/api/referrals/{raw}").json() == NOT_FOUND
    # The wrong person: the same 404; out of order: 400.
    assert (
        check(
            post(_client(alice), f"/api/referrals/{referral.pk}/transitions", {"action": "accept"}),
            step_path,
            "post",
            404,
        )
        == NOT_FOUND
    )
    check(
        post(_client(charlie), f"/api/referrals/{referral.pk}/transitions", {"action": "seen"}), step_path, "post", 400
    )
    check(
        post(_client(charlie), f"/api/referrals/{referral.pk}/transitions", {"action": "fly"}), step_path, "post", 400
    )
    body = check(
        post(_client(charlie), f"/api/referrals/{referral.pk}/transitions", {"action": "accept"}),
        step_path,
        "post",
        200,
    )
    assert body["state"] == "accepted" and body["receiver_joined_care_team"]
    body = check(
        post(
            _client(charlie),
            f"/api/referrals/{referral.pk}/transitions",
            {"action": "appointment", "at": "2026-12-20T10:30:00+01:00", "place": "Cabinet"},
        ),
        step_path,
        "post",
        200,
    )
    assert body["state"] == "appointment"
    # The patient: state, who, when; no clinical text, no discussion.
    mine = check(_client(paula).get(f"/api/referrals/{referral.pk}"), detail_path, "get", 200)
    assert mine["role"] == "self" and mine["reason"] is None and all(e["text"] is None for e in mine["events"])


def test_expertise_api(alice, charlie, paula, personas, patient):
    expertise = expertise_services.check_create_expertise(
        alice,
        patient.pk,
        question="Avis ?",
        expert_id=charlie.pk,
        consent_how="oral",
        consent_at=timezone.localdate(),
        send=False,
    )
    step_path = "/api/expertise/{expertise_id}/transitions"
    url = f"/api/expertise/{expertise.pk}/transitions"
    check(
        post(_client(alice), url, {"action": "send", "consent_at": "2999-01-01", "consent_how": "oral"}),
        step_path,
        "post",
        400,
    )
    check(post(_client(alice), url, {"action": "send"}), step_path, "post", 200)
    assert post(_client(alice), url, {"action": "answer", "text": "x"}).json() == NOT_FOUND
    check(post(_client(charlie), url, {"action": "accept"}), step_path, "post", 200)
    check(post(_client(charlie), url, {"action": "question", "text": "Taille ?"}), step_path, "post", 200)
    body = check(post(_client(alice), url, {"action": "reply", "text": "8 mm"}), step_path, "post", 200)
    assert body["paused"] is False
    body = check(
        post(_client(charlie), url, {"action": "answer", "text": "Bénin", "consultation_needed": True}),
        step_path,
        "post",
        200,
    )
    assert body["state"] == "answered" and body["answer"] == "Bénin"
    check(post(_client(alice), url, {"action": "close"}), step_path, "post", 200)
    # After closing, the expert (not in the team) answers nothing, reads nothing.
    assert post(_client(charlie), url, {"action": "answer", "text": "encore"}).json() == NOT_FOUND
    assert _client(charlie).get(f"/api/expertise/{expertise.pk}").json() == NOT_FOUND
    listed = check(_client(alice).get("/api/expertise/sent?state=closed"), "/api/expertise/sent", "get", 200)
    assert listed["count"] == 1
    check(_client(charlie).get("/api/expertise/received"), "/api/expertise/received", "get", 200)
    mine = check(_client(paula).get(f"/api/expertise/{expertise.pk}"), "/api/expertise/{expertise_id}", "get", 200)
    assert mine["question"] is None and mine["answer"] is None
