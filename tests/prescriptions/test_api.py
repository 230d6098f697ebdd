"""The prescriptions' JSON API: each operation, its audit, its refusals, answers valid against the schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from django.test import Client

from cordee.api import api
from cordee.audit.models import AuditEntry
from cordee.prescriptions import purposes
from cordee.prescriptions.models import Prescription
from tests.conftest import login_as
from tests.prescriptions.conftest import DOLIPRANE, WITHDRAWN

API = "/api/prescriptions"
CSRF = "p" * 32
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def _client(user=None, *, recent: bool = True) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        login_as(client, user, recent=recent)
    client.cookies["cordee_csrf"] = CSRF
    return client


def _post(client, path: str, body: dict):
    return client.post(f"{API}{path}", json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=CSRF)


def check(response, path: str, method: str, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    openapi = json.loads(json.dumps(api.get_openapi_schema()))
    operation = openapi["paths"][f"{API}{path}"][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    body = response.json()
    jsonschema.Draft202012Validator({**openapi, **schema}).validate(body)
    return body


LINE = {"kind": "product", "code": DOLIPRANE, "dose": "1", "unit": "comprimé", "times": 3, "duration_days": 5,
        "quantity": 2}  # fmt: skip


def test_write_check_sign_get_cancel(alice, paula, drugs):
    client = _client(alice)
    draft = check(
        _post(client, f"/patients/{paula.patient.pk}/drafts", {}), "/patients/{patient_id}/drafts", "post", 201
    )
    pid = draft["id"]
    body = check(_post(client, f"/{pid}/lines", LINE), "/{prescription_id}/lines", "post", 201)
    assert body["lines"][0]["cis"] == DOLIPRANE and "3 fois par jour" in body["lines"][0]["details"]
    found = check(client.get(f"{API}/{pid}/check"), "/{prescription_id}/check", "get", 200)
    assert found["may_sign"] is True
    signed = check(_post(client, f"/{pid}/sign", {}), "/{prescription_id}/sign", "post", 200)
    assert signed["status"] == "signed" and signed["number"].startswith("RX-")
    got = check(client.get(f"{API}/{pid}"), "/{prescription_id}", "get", 200)
    assert got["number"] == signed["number"]
    refused = check(_post(client, f"/{pid}/lines", LINE), "/{prescription_id}/lines", "post", 409)
    assert refused["code"] == "not_draft"
    cancelled = check(_post(client, f"/{pid}/cancel", {"reason": "erreur"}), "/{prescription_id}/cancel", "post", 200)
    assert cancelled["status"] == "cancelled"
    actions = set(AuditEntry.objects.filter(patient_id=paula.patient.pk).values_list("action", flat=True))
    assert {purposes.DRAFTED, purposes.EDITED, purposes.SIGNED, purposes.READ, purposes.CANCELLED} <= actions


def test_bad_input_answers_400_with_its_code(alice, paula, drugs):
    client = _client(alice)
    pid = _post(client, f"/patients/{paula.patient.pk}/drafts", {}).json()["id"]
    for changes, code in (({"code": "99999999"}, "unknown_code"), ({"code": WITHDRAWN}, "withdrawn"),
                          ({"quantity": 0}, "quantity"), ({"quantity": -1}, "quantity")):  # fmt: skip
        body = check(_post(client, f"/{pid}/lines", {**LINE, **changes}), "/{prescription_id}/lines", "post", 400)
        assert body["code"] == code
    assert _post(client, f"/{pid}/lines", {**LINE, "extra": 1}).status_code == 400
    assert _post(client, f"/{pid}/sign", {}).json()["code"] == "empty"


def test_anonymous_outsiders_and_forged_ids(charlie, signed):
    anonymous = _client()
    assert anonymous.get(f"{API}/{signed.pk}").status_code == 401
    client = _client(charlie)
    for raw in (signed.pk, "abc", "-1", "99999999999999999999", signed.pk + 1000):
        response = client.get(f"{API}/{raw}")
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert _post(client, f"/{signed.pk}/cancel", {"reason": "x"}).json() == NOT_FOUND
    assert _post(client, "/verify", {"number": signed.number}).json() == NOT_FOUND


def test_a_nurse_or_a_secretary_cannot_sign(bob, sam, paula, drugs):
    for user in (bob, sam):
        response = _post(_client(user), f"/patients/{paula.patient.pk}/drafts", {})
        assert response.status_code == 403 and response.json()["code"] == "not_prescriber"


def test_the_pharmacist_verifies_and_dispenses(phil, signed):
    client = _client(phil)
    seen = check(_post(client, "/verify", {"qr": signed.qr_text}), "/verify", "post", 200)
    assert seen["signature"]["valid"] and seen["status"] == "signed"
    line = next(x for x in seen["lines"] if x["kind"] == "product")
    body = {"number": signed.number, "line_id": line["id"], "quantity": 1}
    after = check(_post(client, "/dispense", body), "/dispense", "post", 200)
    assert after["status"] == "partial"
    check(_post(client, "/dispense", body), "/dispense", "post", 200)
    again = check(_post(client, "/dispense", body), "/dispense", "post", 409)
    assert again["code"] == "dispensed"
    forged = _post(client, "/verify", {"qr": signed.qr_text[:-3] + "AAA"})
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_qr"
    assert Prescription.objects.get(pk=signed.pk).status == "dispensed"


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_a_pharmacist_cannot_dispense_a_cancelled_or_expired_one(phil, alice, signed, status):
    import datetime as dt

    if status == "cancelled":
        _post(_client(alice), f"/{signed.pk}/cancel", {"reason": "erreur"})
    else:
        Prescription.objects.filter(pk=signed.pk).update(valid_until=dt.date(2020, 1, 1))
    line = signed.lines.get(kind="product")
    response = _post(_client(phil), "/dispense", {"number": signed.number, "line_id": line.pk, "quantity": 1})
    assert response.status_code == 409 and response.json()["code"] == status


def test_signing_needs_a_recent_sign_in_as_the_page_does(alice, paula, drugs):
    stale = _client(alice, recent=False)
    pid = check(_post(stale, f"/patients/{paula.patient.pk}/drafts", {}), "/patients/{patient_id}/drafts", "post", 201)[
        "id"
    ]
    _post(stale, f"/{pid}/lines", LINE)
    refused = check(_post(stale, f"/{pid}/sign", {}), "/{prescription_id}/sign", "post", 403)
    assert refused["code"] == "reauthentication_required"
    assert Prescription.objects.get(pk=pid).status == "draft"
    assert not AuditEntry.objects.filter(action=purposes.SIGNED).exists()
    signed = check(_post(_client(alice), f"/{pid}/sign", {}), "/{prescription_id}/sign", "post", 200)
    assert signed["status"] == "signed"
    assert AuditEntry.objects.filter(action=purposes.SIGNED, patient_id=paula.patient.pk).count() == 1
