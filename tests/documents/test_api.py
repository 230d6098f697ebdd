"""The record's JSON API (``/api/record/``): each operation, its audit, its refusals (forged ids,
another patient's document, wrong types, oversized files), every answer valid against the schema."""

from __future__ import annotations

import json
from typing import get_args
from urllib.parse import quote

import jsonschema
import pytest
from django.test import Client

from cordee.api import api
from cordee.audit.models import AuditEntry
from cordee.documents import purposes
from cordee.documents.models import Document, DocumentType
from cordee.documents.schemas import TypeName
from cordee.vault.models import Blob
from tests.conftest import login_as
from tests.documents.conftest import MISSING_ID, last_entry, pdf_bytes, png_bytes, read_all

pytestmark = pytest.mark.django_db

API = "/api/record"
CSRF = "r" * 32
FORGED = ["abc", "-1", "1e3", "0", str(MISSING_ID), "99999999999999999999"]
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def _client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        login_as(client, user)
    client.cookies["cordee_csrf"] = CSRF
    return client


def check(response, path: str, method: str, status: int) -> dict:
    """Assert the status and validate the JSON body against the schema the API publishes."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    openapi = json.loads(json.dumps(api.get_openapi_schema()))  # as published: statuses as strings
    operation = openapi["paths"][f"{API}{path}"][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    body = response.json()
    jsonschema.Draft202012Validator({**openapi, **schema}).validate(body)
    return body


def upload(client, patient_id, data: bytes, **changes):
    headers = {
        "X-File-Name": quote("bilan mars.pdf"),
        "X-Document-Type": "biologie",
        "X-Document-Title": quote("Bilan sanguin du 2 mars"),
        "X-Act-Date": "2026-03-02",
        "X-Document-Source": quote("Laboratoire"),
    }
    headers.update({name.replace("_", "-"): value for name, value in changes.items()})
    headers = {name: value for name, value in headers.items() if value is not None}
    return client.generic(
        "POST",
        f"{API}/patients/{patient_id}/documents",
        data,
        content_type="application/octet-stream",
        headers={**headers, "X-CSRFToken": CSRF},
    )


def new_version(client, document_id, data: bytes, reason: str | None = "Potassium corrigé"):
    headers = {"X-File-Name": "v2.pdf", "X-CSRFToken": CSRF}
    if reason is not None:
        headers["X-Reason"] = quote(reason)
    url = f"{API}/documents/{document_id}/versions"
    return client.generic("POST", url, data, content_type="application/octet-stream", headers=headers)


def post(client, path: str, body: dict | str):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.generic("POST", f"{API}{path}", raw, content_type="application/json", headers={"X-CSRFToken": CSRF})


@pytest.fixture
def patient(paula):
    return paula.patient


@pytest.fixture
def document(alice, patient) -> Document:
    """A lab result Alice filed for Paula through the API (hidden from Paula by default)."""
    response = upload(_client(alice), patient.pk, pdf_bytes(pages=2))
    assert response.status_code == 201, response.content
    return Document.objects.get(pk=response.json()["id"])


def test_the_type_list_of_the_schema_is_the_models():
    assert set(get_args(TypeName)) == set(DocumentType.values)


# --- upload -----------------------------------------------------------------------------------

UPLOAD = "/patients/{patient_id}/documents"


def test_alice_uploads_a_result_audited_and_hidden_by_default(alice, patient):
    data = pdf_bytes(pages=2)
    body = check(upload(_client(alice), patient.pk, data), UPLOAD, "post", 201)
    document = Document.objects.get(pk=body["id"])
    assert (document.author, document.doc_type, document.title) == (alice, "biologie", "Bilan sanguin du 2 mars")
    assert body["visible_to_patient"] is False and body["patient_id"] == patient.pk
    (version,) = body["versions"]
    assert (version["number"], version["size"], version["file_name"], version["content_type"]) == (
        1,
        len(data),
        "bilan mars.pdf",
        "application/pdf",
    )
    entry = last_entry(purposes.UPLOADED)
    assert (entry.actor_id, entry.patient_id, entry.purpose) == (alice.pk, patient.pk, purposes.DOCUMENT_ADD)


def test_paula_uploads_her_own_document(paula, patient):
    body = check(upload(_client(paula), patient.pk, png_bytes(), X_Document_Type="autre"), UPLOAD, "post", 201)
    assert body["provided_by_patient"] and body["visible_to_patient"]


@pytest.mark.parametrize(
    ("changes", "data", "status", "code"),
    [
        ({"X_Document_Type": "radio"}, None, 400, "doc_type"),
        ({"X_Document_Type": None}, None, 400, "doc_type"),
        ({"X_Document_Title": "%20"}, None, 400, "title"),
        ({"X_Act_Date": "2999-01-01"}, None, 400, "act_date"),
        ({"X_Act_Date": "mars"}, None, 400, "act_date"),
        ({}, b"<html><script>alert(1)</script>", 415, "format"),
        ({}, b"%PDF-1.7 not a pdf", 422, "damaged"),
        ({}, b"", 411, "no_length"),  # the test client sends no Content-Length for no body
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(alice, patient, changes, data, status, code):
    response = upload(_client(alice), patient.pk, pdf_bytes() if data is None else data, **changes)
    assert check(response, UPLOAD, "post", status)["code"] == code
    assert not Document.objects.exists() and not Blob.objects.exists()


def test_an_oversized_upload_is_refused(alice, patient, settings):
    settings.DOCUMENTS_MAX_BYTES = 4096
    response = upload(_client(alice), patient.pk, b"a" * 5000)
    assert check(response, UPLOAD, "post", 413)["code"] == "too_large"
    assert not Document.objects.exists() and not Blob.objects.exists()


@pytest.mark.parametrize("raw_id", FORGED)
def test_uploads_to_forged_patients_are_404(alice, raw_id):
    assert check(upload(_client(alice), raw_id, pdf_bytes()), UPLOAD, "post", 404) == NOT_FOUND


def test_an_outsider_uploads_nowhere_and_gets_the_missing_answer(charlie, patient):
    client = _client(charlie)
    outsider, missing = upload(client, patient.pk, pdf_bytes()), upload(client, MISSING_ID, pdf_bytes())
    assert outsider.status_code == missing.status_code == 404 and outsider.json() == missing.json() == NOT_FOUND
    assert not Document.objects.exists()


def test_without_session_or_csrf_token(alice, patient):
    assert upload(_client(), patient.pk, pdf_bytes()).status_code == 401
    client = Client(enforce_csrf_checks=True)
    login_as(client, alice)
    response = client.generic(
        "POST", f"{API}/patients/{patient.pk}/documents", pdf_bytes(), content_type="application/octet-stream"
    )
    assert response.status_code == 403 and not Document.objects.exists()


# --- timeline ---------------------------------------------------------------------------------

TIMELINE = "/patients/{patient_id}/timeline"


def test_the_timeline_filtered_and_paginated(alice, bob, patient, document):
    letter = upload(_client(bob), patient.pk, pdf_bytes(), X_Document_Type="courrier", X_Document_Title="Lettre")
    assert letter.status_code == 201
    url = f"{API}/patients/{patient.pk}/timeline"
    body = check(_client(alice).get(url), TIMELINE, "get", 200)
    ids = [item["document_id"] for item in body["items"] if item["kind"] == "document"]
    assert set(ids) == {document.pk, letter.json()["id"]} and body["page"] == 1 and body["count"] >= 2
    mine = check(_client(alice).get(url, {"author": alice.pk}), TIMELINE, "get", 200)
    assert {item["author"]["id"] for item in mine["items"]} == {alice.pk}
    labs = check(_client(alice).get(url, {"type": "biologie"}), TIMELINE, "get", 200)
    assert [item["document_id"] for item in labs["items"]] == [document.pk]
    assert labs["items"][0]["title"] == "Bilan sanguin du 2 mars"
    last = check(_client(alice).get(url, {"page": 999}), TIMELINE, "get", 200)
    assert last["page"] == last["pages"]


def test_reading_the_timeline_is_audited(alice, patient):
    before = AuditEntry.objects.filter(actor_id=alice.pk, purpose=purposes.RECORD_VIEW).count()
    assert _client(alice).get(f"{API}/patients/{patient.pk}/timeline").status_code == 200
    assert AuditEntry.objects.filter(actor_id=alice.pk, purpose=purposes.RECORD_VIEW).count() == before + 1


def test_paula_sees_only_what_was_shown_to_her(paula, patient, document):
    body = check(_client(paula).get(f"{API}/patients/{patient.pk}/timeline"), TIMELINE, "get", 200)
    assert document.pk not in [item["document_id"] for item in body["items"]]
    assert _client(paula).get(f"{API}/documents/{document.pk}").json() == NOT_FOUND


@pytest.mark.parametrize("params", [{"type": "radio"}, {"author": "abc"}, {"author": 0}, {"page": 0}, {"page": "x"}])
def test_bad_filters_are_400(alice, patient, params):
    response = _client(alice).get(f"{API}/patients/{patient.pk}/timeline", params)
    assert check(response, TIMELINE, "get", 400)["code"] == "invalid"


@pytest.mark.parametrize("raw_id", FORGED)
def test_a_forged_patients_timeline_is_404(alice, raw_id):
    assert check(_client(alice).get(f"{API}/patients/{raw_id}/timeline"), TIMELINE, "get", 404) == NOT_FOUND


def test_an_outsider_gets_the_missing_timeline(charlie, patient):
    client = _client(charlie)
    outsider = client.get(f"{API}/patients/{patient.pk}/timeline")
    missing = client.get(f"{API}/patients/{MISSING_ID}/timeline")
    assert outsider.status_code == missing.status_code == 404 and outsider.json() == missing.json() == NOT_FOUND


# --- a document, its versions, the file ---------------------------------------------------------


def test_a_documents_metadata_and_versions_audited(bob, document):
    body = check(_client(bob).get(f"{API}/documents/{document.pk}"), "/documents/{document_id}", "get", 200)
    assert body["title"] == "Bilan sanguin du 2 mars" and len(body["versions"]) == 1
    entry = last_entry(purposes.READ)
    assert (entry.actor_id, entry.purpose, entry.patient_id) == (bob.pk, purposes.DOCUMENT_VIEW, document.patient_id)


@pytest.mark.parametrize("raw_id", FORGED)
def test_forged_documents_and_versions_are_404(alice, raw_id):
    client = _client(alice)
    assert client.get(f"{API}/documents/{raw_id}").json() == NOT_FOUND
    assert client.get(f"{API}/versions/{raw_id}/file").json() == NOT_FOUND
    assert post(client, f"/documents/{raw_id}/visibility", {"visible": True}).json() == NOT_FOUND
    assert post(client, f"/documents/{raw_id}/entered-in-error", {"reason": "x"}).json() == NOT_FOUND
    assert new_version(client, raw_id, pdf_bytes()).json() == NOT_FOUND


def test_another_patients_document_answers_as_a_missing_one(charlie, document):
    client = _client(charlie)
    version = document.versions.get()
    assert client.get(f"{API}/documents/{document.pk}").json() == NOT_FOUND
    assert client.get(f"{API}/versions/{version.pk}/file").json() == NOT_FOUND
    assert post(client, f"/documents/{document.pk}/visibility", {"visible": True}).json() == NOT_FOUND
    assert post(client, f"/documents/{document.pk}/entered-in-error", {"reason": "x"}).json() == NOT_FOUND
    assert new_version(client, document.pk, pdf_bytes()).json() == NOT_FOUND
    document.refresh_from_db()
    assert (document.last_version, document.visible_to_patient, document.in_error) == (1, False, False)


def test_download_streams_the_file_audited(bob, document):
    version = document.versions.get()
    response = _client(bob).get(f"{API}/versions/{version.pk}/file")
    assert response.status_code == 200 and response.is_async  # streamed from an async iterator
    data = read_all(response)
    assert data.startswith(b"%PDF") and len(data) == version.size == int(response["Content-Length"])
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
    entry = last_entry(purposes.DOWNLOADED)
    assert (entry.actor_id, entry.purpose) == (bob.pk, purposes.DOCUMENT_DOWNLOAD)


# --- new version, visibility, entered in error ------------------------------------------------

VERSIONS = "/documents/{document_id}/versions"


def test_a_new_version_audited(bob, document):
    body = check(new_version(_client(bob), document.pk, pdf_bytes()), VERSIONS, "post", 201)
    assert (body["number"], body["reason"]) == (2, "Potassium corrigé")
    entry = last_entry(purposes.VERSIONED)
    assert (entry.actor_id, entry.purpose, entry.details["version"]) == (bob.pk, purposes.DOCUMENT_CORRECT, 2)


@pytest.mark.parametrize(
    ("reason", "data", "status", "code"),
    [(None, None, 400, "reason"), ("x", b"<svg/>", 415, "format"), ("x", b"", 411, "no_length")],
)
def test_bad_new_versions_are_refused(alice, document, reason, data, status, code):
    response = new_version(_client(alice), document.pk, pdf_bytes() if data is None else data, reason)
    assert check(response, VERSIONS, "post", status)["code"] == code
    assert document.versions.count() == 1


def test_an_oversized_version_is_refused(alice, document, settings):
    settings.DOCUMENTS_MAX_BYTES = 4096
    assert check(new_version(_client(alice), document.pk, b"a" * 5000), VERSIONS, "post", 413)["code"] == "too_large"
    assert document.versions.count() == 1


def test_paula_cannot_correct_a_document_she_did_not_provide(paula, alice, document):
    assert post(_client(alice), f"/documents/{document.pk}/visibility", {"visible": True}).status_code == 200
    assert new_version(_client(paula), document.pk, pdf_bytes()).json() == NOT_FOUND


def test_visibility_audited_and_for_professionals_only(alice, paula, document):
    path = "/documents/{document_id}/visibility"
    body = check(post(_client(alice), f"/documents/{document.pk}/visibility", {"visible": True}), path, "post", 200)
    assert body["visible_to_patient"] is True
    entry = last_entry(purposes.VISIBILITY_CHANGED)
    assert (entry.actor_id, entry.purpose, entry.details["visible"]) == (alice.pk, purposes.DOCUMENT_VISIBILITY, True)
    assert post(_client(paula), f"/documents/{document.pk}/visibility", {"visible": False}).json() == NOT_FOUND
    document.refresh_from_db()
    assert document.visible_to_patient


@pytest.mark.parametrize("raw", ['{"visible": 1}', '{"visible": "true"}', "{}", '{"visible": true, "x": 1}', "[]"])
def test_visibility_wrong_types_are_400(alice, document, raw):
    response = post(_client(alice), f"/documents/{document.pk}/visibility", raw)
    assert check(response, "/documents/{document_id}/visibility", "post", 400)["code"] == "invalid"


def test_entered_in_error_by_its_author_audited(alice, bob, document):
    path = "/documents/{document_id}/entered-in-error"
    url = f"/documents/{document.pk}/entered-in-error"
    assert check(post(_client(bob), url, {"reason": "Mauvais patient"}), path, "post", 403)["code"] == "not_author"
    body = check(post(_client(alice), url, {"reason": "Mauvais patient"}), path, "post", 200)
    assert body["entered_in_error_at"] and body["entered_in_error_reason"] == "Mauvais patient"
    entry = last_entry(purposes.ENTERED_IN_ERROR)
    assert (entry.actor_id, entry.purpose) == (alice.pk, purposes.DOCUMENT_ERROR)
    assert check(post(_client(alice), url, {"reason": "encore"}), path, "post", 409)["code"] == "in_error"
    assert new_version(_client(alice), document.pk, pdf_bytes()).json()["code"] == "in_error"


@pytest.mark.parametrize("raw", ['{"reason": ""}', '{"reason": 3}', "{}", '"raison"'])
def test_entered_in_error_wrong_input_is_400(alice, document, raw):
    response = post(_client(alice), f"/documents/{document.pk}/entered-in-error", raw)
    assert check(response, "/documents/{document_id}/entered-in-error", "post", 400)["code"] == "invalid"
    document.refresh_from_db()
    assert not document.in_error


def test_the_timeline_costs_the_same_for_3_and_30_lines(alice, patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.documents.test_pages import _fill, _more

    client = _client(alice)
    url = f"{API}/patients/{patient.pk}/timeline"
    counts = []
    for count in (3, 27):  # 3 lines, then 30
        (_more if counts else _fill)(patient, alice, count)
        client.get(url)  # the keys' caches warm
        with CaptureQueriesContext(connection) as queries:
            body = check(client.get(url), TIMELINE, "get", 200)
        counts.append(len(queries))
    assert len(body["items"]) == 30 and counts[0] == counts[1]


def test_a_document_costs_the_same_for_1_and_4_versions(alice, document):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(alice)
    counts = []
    for _round in range(2):
        client.get(f"{API}/documents/{document.pk}")
        with CaptureQueriesContext(connection) as queries:
            body = check(client.get(f"{API}/documents/{document.pk}"), "/documents/{document_id}", "get", 200)
        counts.append(len(queries))
        for _n in range(3):
            assert new_version(client, document.pk, pdf_bytes()).status_code == 201
    assert len(body["versions"]) == 4 and counts[0] == counts[1]
