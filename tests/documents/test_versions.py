"""Corrections add versions (never overwrite), "entered in error" by the author only, visibility."""

from __future__ import annotations

import pytest

from cordee.audit.models import AuditEntry
from cordee.documents import purposes
from cordee.documents.models import Document, RecordItem
from cordee.vault.blobs import iter_blob
from tests.conftest import without_csrf
from tests.documents.conftest import MISSING_ID, client_as, last_entry, new_version, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def test_a_correction_is_v2_and_v1_stays_as_it_was(alice, bob, lab_result):
    v1 = lab_result.versions.get()
    v1_bytes = b"".join(iter_blob(v1.blob))
    corrected = pdf_bytes(text="Résultats corrigés")
    response = new_version(client_as(bob), lab_result.pk, corrected, reason="Potassium corrigé par le laboratoire")
    assert response.status_code == 201 and response.json()["number"] == 2
    lab_result.refresh_from_db()
    assert lab_result.last_version == 2
    v1.refresh_from_db()
    assert b"".join(iter_blob(v1.blob)) == v1_bytes  # never overwritten
    v2 = lab_result.versions.get(number=2)
    assert (v2.created_by, v2.reason, b"".join(iter_blob(v2.blob))) == (
        bob,
        "Potassium corrigé par le laboratoire",
        corrected,
    )
    entry = last_entry(purposes.VERSIONED)
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.details["version"]) == (
        bob.pk,
        lab_result.patient_id,
        purposes.DOCUMENT_CORRECT,
        2,
    )
    third = new_version(client_as(alice), lab_result.pk, png_bytes(), reason="Scan du papier")
    assert third.json()["number"] == 3


def test_a_version_needs_a_reason(alice, lab_result):
    response = new_version(client_as(alice), lab_result.pk, pdf_bytes(), reason="  ")
    assert (response.status_code, response.json()["code"]) == (400, "reason")
    assert lab_result.versions.count() == 1


def test_a_version_of_someone_elses_document_is_the_404_of_a_missing_one(charlie, paula, sam, lab_result):
    for user in (charlie, paula, sam):  # outside the team; the patient (not hers); staff
        client = client_as(user)
        forbidden = new_version(client, lab_result.pk, pdf_bytes())
        missing = new_version(client, MISSING_ID, pdf_bytes())
        forged = new_version(client, "1e3", pdf_bytes())
        assert forbidden.status_code == missing.status_code == forged.status_code == 404, user
        assert without_csrf(forbidden.content) == without_csrf(missing.content)
    assert lab_result.versions.count() == 1


def test_the_patient_corrects_what_she_provided(paula, patient):
    client = client_as(paula)
    document_id = upload(client, patient.pk, png_bytes(), name="ordonnance.png", doc_type="ordonnance").json()["id"]
    response = new_version(client, document_id, png_bytes((400, 300)), reason="Photo plus nette")
    assert response.status_code == 201


def test_only_the_author_enters_a_document_in_error_with_a_reason(alice, bob, lab_result):
    url = f"/dossier/document/{lab_result.pk}/erreur/"
    refused = client_as(bob).post(url, {"reason": "Mauvais patient"}, follow=True)
    assert "auteur" in refused.content.decode()
    client = client_as(alice)
    client.post(url, {"reason": ""})
    lab_result.refresh_from_db()
    assert not lab_result.in_error
    client.post(url, {"reason": "Document d'un autre patient"})
    lab_result.refresh_from_db()
    assert lab_result.in_error and lab_result.entered_in_error_by == alice
    assert lab_result.entered_in_error_reason == "Document d'un autre patient"
    entry = last_entry(purposes.ENTERED_IN_ERROR)
    assert (entry.actor_id, entry.patient_id, entry.purpose) == (
        alice.pk,
        lab_result.patient_id,
        purposes.DOCUMENT_ERROR,
    )
    assert RecordItem.objects.get(target_id=str(lab_result.pk)).in_error
    # Still there for the care team, shown as such; no more versions.
    page = client_as(bob).get(f"/dossier/document/{lab_result.pk}/")
    assert page.status_code == 200 and "Document d&#x27;un autre patient" in page.content.decode()
    assert new_version(client, lab_result.pk, pdf_bytes()).status_code == 409


def test_entering_in_error_an_unreachable_document_is_the_404(charlie, lab_result):
    client = client_as(charlie)
    assert client.post(f"/dossier/document/{lab_result.pk}/erreur/", {"reason": "x"}).status_code == 404
    assert client.post(f"/dossier/document/{MISSING_ID}/erreur/", {"reason": "x"}).status_code == 404


def test_a_professional_shows_a_result_to_the_patient(alice, paula, lab_result):
    paula_client = client_as(paula)
    hidden = paula_client.get(f"/dossier/document/{lab_result.pk}/")
    missing = paula_client.get(f"/dossier/document/{MISSING_ID}/")
    assert hidden.status_code == missing.status_code == 404  # a hidden document does not exist for her
    assert without_csrf(hidden.content) == without_csrf(missing.content)
    client_as(alice).post(f"/dossier/document/{lab_result.pk}/visibilite/", {"visible": "1"})
    lab_result.refresh_from_db()
    assert lab_result.visible_to_patient
    assert RecordItem.objects.get(target_id=str(lab_result.pk)).visible_to_patient
    entry = last_entry(purposes.VISIBILITY_CHANGED)
    assert (entry.actor_id, entry.purpose, entry.details["visible"]) == (alice.pk, purposes.DOCUMENT_VISIBILITY, True)
    assert paula_client.get(f"/dossier/document/{lab_result.pk}/").status_code == 200


def test_the_patient_and_outsiders_do_not_change_visibility(paula, charlie, lab_result):
    for user in (paula, charlie):
        response = client_as(user).post(f"/dossier/document/{lab_result.pk}/visibilite/", {"visible": "1"})
        assert response.status_code == 404
    assert not Document.objects.get(pk=lab_result.pk).visible_to_patient
    assert not AuditEntry.objects.filter(action=purposes.VISIBILITY_CHANGED).exists()
