"""Uploads: streamed into the vault with the patient's key, typed from their bytes, all or nothing."""

from __future__ import annotations

import io

import pytest

from cordee.audit.models import AuditEntry
from cordee.documents import purposes
from cordee.documents.models import Document, DocumentVersion, RecordItem
from cordee.documents.services import DocumentError, Upload, do_upload
from cordee.vault.models import Blob
from tests.conftest import without_csrf
from tests.documents.conftest import (
    MISSING_ID,
    client_as,
    encrypted_pdf_bytes,
    image_bomb,
    last_entry,
    pdf_bytes,
    png_bytes,
    read_all,
    upload,
)
from tests.messaging.conftest import stored_files

pytestmark = pytest.mark.django_db


def test_alice_files_a_lab_result_encrypted_with_the_patients_key(alice, patient, settings):
    data = pdf_bytes(pages=3)
    response = upload(client_as(alice), patient.pk, data, name="bilan%20mars.pdf")
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    assert (document.patient, document.author, document.doc_type) == (patient, alice, "biologie")
    assert document.title == "Bilan sanguin du 2 mars" and document.source == "Laboratoire Cerballiance"
    assert not document.visible_to_patient  # a result waits for the doctor's explanation
    assert not document.provided_by_patient
    version = document.versions.get()
    assert (version.number, version.content_type, version.size, version.pages) == (1, "application/pdf", len(data), 3)
    assert version.preview == "pdf" and version.preview_blob is not None
    assert version.blob.owner_type == "accounts.patient" and version.blob.owner_id == str(patient.vault_id)
    stored = (settings.BLOB_DIR / version.blob.name).read_bytes()
    assert b"%PDF" not in stored and b"Bilan" not in stored  # ciphertext only
    raw_title = Document.objects.filter(pk=document.pk).values_list("title", flat=True).get()
    assert b"Bilan" not in raw_title.ciphertext
    item = RecordItem.objects.get(target_type="documents.document", target_id=str(document.pk))
    assert (item.kind, item.doc_type, item.title, item.visible_to_patient) == (
        "document",
        "biologie",
        document.title,
        False,
    )
    entry = last_entry(purposes.UPLOADED)
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category) == (
        alice.pk,
        patient.pk,
        purposes.DOCUMENT_ADD,
        "access",
    )
    assert entry.details["size"] == len(data) and "Bilan" not in str(entry.details)


def test_visibility_follows_the_type_unless_the_professional_says(alice, patient):
    client = client_as(alice)
    letter = upload(client, patient.pk, pdf_bytes(), doc_type="courrier").json()["id"]
    shown_result = upload(client, patient.pk, pdf_bytes(), doc_type="biologie", visible="1").json()["id"]
    assert Document.objects.get(pk=letter).visible_to_patient
    assert Document.objects.get(pk=shown_result).visible_to_patient


def test_paula_provides_her_own_document(paula, patient):
    response = upload(client_as(paula), patient.pk, png_bytes(), name="photo.png", doc_type="photo", visible="0")
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    assert document.provided_by_patient and document.visible_to_patient  # hers: she always sees it
    assert document.versions.get().preview == "image"
    assert last_entry(purposes.UPLOADED).actor_id == paula.pk


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(alice, patient, settings):
    settings.DOCUMENTS_MAX_BYTES = 4096
    blobs = Blob.objects.count()
    response = upload(client_as(alice), patient.pk, b"a" * 5000, name="long.txt")
    assert response.status_code == 413
    assert Blob.objects.count() == blobs and not Document.objects.exists()


def test_the_limit_holds_while_streaming_whatever_the_announced_size(alice, patient, settings):
    settings.DOCUMENTS_MAX_BYTES = 4096
    files_before = stored_files(settings.BLOB_DIR)
    with pytest.raises(DocumentError) as refused:
        do_upload(
            alice, patient.pk, Upload(io.BytesIO(b"a" * 9000), 4000), doc_type="autre", title="x", act_date="2026-01-02"
        )
    assert refused.value.code == "too_large"
    with pytest.raises(DocumentError) as short:  # a body that ends before its announced size
        do_upload(
            alice, patient.pk, Upload(io.BytesIO(b"a" * 100), 4000), doc_type="autre", title="x", act_date="2026-01-02"
        )
    assert short.value.code == "incomplete"
    assert not Blob.objects.exists() and not Document.objects.exists()
    assert stored_files(settings.BLOB_DIR) == files_before  # no half-written file either


def test_an_encrypted_pdf_is_kept_without_preview_and_downloads(alice, patient):
    data = encrypted_pdf_bytes()
    client = client_as(alice)
    response = upload(client, patient.pk, data, name="protégé.pdf")
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    version = document.versions.get()
    assert (version.preview, version.preview_blob) == (DocumentVersion.Preview.ENCRYPTED, None)
    page = client.get(f"/dossier/document/{document.pk}/")
    assert "protégé par un mot de passe" in page.content.decode()
    download = client.get(f"/dossier/version/{version.pk}/telecharger/")
    assert read_all(download) == data


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"%PDF-1.7\n this is no PDF at all " * 20, "damaged", 422),
        (png_bytes()[:200], "damaged", 422),  # a truncated image
        (image_bomb(), "too_many_pixels", 422),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "format", 415),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "format", 415),
        (b"  <svg onload=alert(1)>", "format", 415),
        (b"GIF89a" + b"\x00" * 100, "format", 415),
        (b"\x00\x01\x02\x03 binary", "format", 415),
        (b"PK\x03\x04 a zip, or an office file", "format", 415),
    ],
    ids=["corrupt-pdf", "truncated-png", "image-bomb", "html", "svg", "svg-no-xml", "gif", "binary", "zip"],
)
def test_refused_files_leave_nothing(alice, patient, data, code, status):
    blobs = Blob.objects.count()
    response = upload(client_as(alice), patient.pk, data, name="x.pdf")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Blob.objects.count() == blobs and not Document.objects.exists()


def test_plain_text_is_accepted(alice, patient):
    response = upload(client_as(alice), patient.pk, "Note : tension 12/8, à revoir.\n".encode(), name="note.txt")
    assert response.status_code == 201
    assert Document.objects.get().versions.get().content_type == "text/plain"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("doc_type", "scanner_ct", "doc_type"),
        ("doc_type", "", "doc_type"),
        ("title", "   ", "title"),
        ("act_date", "2026-13-45", "act_date"),
        ("act_date", "2999-01-01", "act_date"),
    ],
)
def test_bad_fields_are_refused_before_storing(alice, patient, field, value, code):
    response = upload(client_as(alice), patient.pk, pdf_bytes(), **{field: value})
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert not Blob.objects.exists()


def test_an_upload_to_a_patient_one_cannot_open_is_the_404_of_a_missing_one(charlie, patient):
    client = client_as(charlie)
    forbidden = upload(client, patient.pk, pdf_bytes())
    missing = upload(client, MISSING_ID, pdf_bytes())
    forged = upload(client, "12abc", pdf_bytes())
    assert forbidden.status_code == missing.status_code == forged.status_code == 404
    assert without_csrf(forbidden.content) == without_csrf(missing.content)
    assert not Blob.objects.exists() and not Document.objects.exists()
    entry = AuditEntry.objects.filter(actor_id=charlie.pk, outcome="denied").order_by("-seq").first()
    assert (entry.purpose, entry.target_type) == (purposes.DOCUMENT_ADD, "accounts.patient")


def test_staff_do_not_file_documents(sam, patient):
    assert upload(client_as(sam), patient.pk, pdf_bytes()).status_code == 404


def test_without_login_nothing_is_filed(client, patient):
    response = upload(client, patient.pk, pdf_bytes())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Document.objects.exists()
