"""The upload form without JavaScript: a plain multipart POST, with the limit enforced while the
file arrives, the same checks and audit as the script's path, the errors shown in the form."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadhandler import StopUpload
from django.shortcuts import resolve_url
from django.test import Client

from cordee.documents import purposes
from cordee.documents.models import Document
from cordee.documents.multipart import RecordUploadHandler
from cordee.vault.models import Blob
from tests.conftest import without_csrf
from tests.documents.conftest import MISSING_ID, client_as, last_entry, pdf_bytes, read_all
from tests.messaging.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    """Every temporary upload file lands here, so that the tests can see it is removed."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def _file(data: bytes, name: str = "bilan.pdf") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def post_form(client, patient_id, data: bytes | None, **fields):
    form = {"doc_type": "cr_consultation", "title": "Consultation du 2 mars", "act_date": "2026-03-02"}
    form |= {"source": "Cabinet des Tilleuls", **fields}
    if data is not None:
        form["file"] = _file(data)
    return client.post(f"/dossier/patient/{patient_id}/televerser/", form)


def test_alice_files_a_report_with_the_plain_form(alice, patient, upload_dir, settings):
    data = pdf_bytes(pages=2)
    response = post_form(client_as(alice), patient.pk, data, visible="1")
    assert response.status_code == 302 and response["Location"] == f"/dossier/patient/{patient.pk}/"
    document = Document.objects.get()
    assert (document.author, document.doc_type, document.title) == (alice, "cr_consultation", "Consultation du 2 mars")
    assert document.source == "Cabinet des Tilleuls" and document.visible_to_patient
    version = document.versions.get()
    assert (version.size, version.file_name, version.content_type, version.pages) == (
        len(data),
        "bilan.pdf",
        "application/pdf",
        2,
    )
    assert b"%PDF" not in (settings.BLOB_DIR / version.blob.name).read_bytes()
    entry = last_entry(purposes.UPLOADED)
    assert (entry.actor_id, entry.patient_id, entry.purpose) == (alice.pk, patient.pk, purposes.DOCUMENT_ADD)
    assert entry.details["size"] == len(data)
    assert list(upload_dir.iterdir()) == []  # the temporary file is gone
    page = client_as(alice).get(response["Location"])
    assert "Consultation du 2 mars" in page.content.decode()


def test_paula_adds_her_own_document_with_the_plain_form(paula, patient):
    response = post_form(client_as(paula), patient.pk, pdf_bytes(), doc_type="autre")
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.provided_by_patient and document.visible_to_patient


def test_without_the_script_a_result_stays_hidden_until_shown(alice, patient):
    response = post_form(client_as(alice), patient.pk, pdf_bytes(), doc_type="biologie", visible="1")
    assert response.status_code == 302
    assert not Document.objects.get().visible_to_patient
    response = post_form(client_as(alice), patient.pk, pdf_bytes(), doc_type="courrier")  # box unticked
    assert response.status_code == 302
    assert not Document.objects.get(doc_type="courrier").visible_to_patient


def test_a_file_over_the_limit_stops_while_arriving_and_leaves_nothing(alice, patient, settings, upload_dir):
    settings.DOCUMENTS_MAX_BYTES = 4096
    blobs, files = Blob.objects.count(), stored_files(settings.BLOB_DIR)
    response = post_form(client_as(alice), patient.pk, b"a" * 200_000)
    assert response.status_code == 413
    text = response.content.decode()
    assert "Le fichier dépasse la taille autorisée." in text
    assert 'id="doc-file"' in text and 'aria-invalid="true"' in text
    assert 'value="Consultation du 2 mars"' in text  # the other fields are kept
    assert Blob.objects.count() == blobs and not Document.objects.exists()
    assert stored_files(settings.BLOB_DIR) == files
    assert list(upload_dir.iterdir()) == []


def test_the_handler_stops_at_the_limit_and_removes_its_file(upload_dir):
    handler = RecordUploadHandler(None, limit=10)
    handler.new_file("file", "x.pdf", "application/pdf", 100, None)
    handler.receive_data_chunk(b"a" * 8, 0)
    assert len(list(upload_dir.iterdir())) == 1
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"a" * 8, 8)
    assert handler.too_large and list(upload_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("fields", "data", "status", "field_id", "message"),
    [
        ({"title": "  "}, pdf_bytes(), 400, "doc-title", "Donnez un titre au document."),
        ({"doc_type": "radio"}, pdf_bytes(), 400, "doc-type", None),
        ({"act_date": "2999-01-01"}, pdf_bytes(), 400, "doc-date", None),
        ({}, b"<html><script>alert(1)</script></html>", 415, "doc-file", None),
        ({}, b"", 400, "doc-file", None),
        ({}, None, 400, "doc-file", None),
        ({}, b"%PDF-1.7\nnot really", 422, "doc-file", None),
    ],
)
def test_refusals_are_shown_in_the_form(alice, patient, fields, data, status, field_id, message, upload_dir):
    response = post_form(client_as(alice), patient.pk, data, **fields)
    assert response.status_code == status
    text = response.content.decode()
    assert 'role="alert"' in text
    tag = text[text.index(f'id="{field_id}"') :]
    assert tag[: tag.index(">")].count('aria-invalid="true"') == 1
    if message:
        assert message in text
    assert not Document.objects.exists() and not Blob.objects.exists()
    assert list(upload_dir.iterdir()) == []


def test_only_one_file_is_taken(alice, patient):
    client = client_as(alice)
    form = {"doc_type": "autre", "title": "Deux", "act_date": "2026-03-02", "file": _file(pdf_bytes())}
    form["other"] = _file(b"a" * 10_000, "autre.txt")
    response = client.post(f"/dossier/patient/{patient.pk}/televerser/", form)
    assert response.status_code == 302
    assert Document.objects.get().versions.get().file_name == "bilan.pdf"


def test_the_form_needs_the_csrf_token(alice, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    session = client.session
    session["cordee_mfa_ok"] = True
    session.save()
    response = post_form(client, patient.pk, pdf_bytes())
    assert response.status_code == 403 and not Document.objects.exists()


def test_the_script_path_still_needs_the_csrf_token(alice, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    session = client.session
    session["cordee_mfa_ok"] = True
    session.save()
    response = client.post(
        f"/dossier/patient/{patient.pk}/televerser/", pdf_bytes(), content_type="application/octet-stream"
    )
    assert response.status_code == 403 and not Document.objects.exists()


def test_an_outsider_gets_the_missing_records_answer(charlie, patient, upload_dir):
    client = client_as(charlie)
    outsider = post_form(client, patient.pk, pdf_bytes())
    missing = post_form(client, MISSING_ID, pdf_bytes())
    assert outsider.status_code == missing.status_code == 404
    assert without_csrf(read_all(outsider)) == without_csrf(read_all(missing))
    assert not Document.objects.exists() and list(upload_dir.iterdir()) == []


def test_without_login_the_form_goes_to_the_login_page(patient, settings):
    response = post_form(Client(), patient.pk, pdf_bytes())
    assert response.status_code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    assert not Document.objects.exists()
