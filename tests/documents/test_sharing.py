"""A record document shared into a conversation (no copy), a conversation's file filed in the record."""

from __future__ import annotations

import pytest

from cordee.documents import purposes
from cordee.documents.models import Document
from cordee.messaging.models import Attachment, Conversation, Message
from cordee.messaging.services.editing import do_delete_message
from cordee.vault.models import Blob
from tests.documents.conftest import MISSING_ID, client_as, last_entry, pdf_bytes, read_all
from tests.messaging.test_attachments import upload as upload_attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def care_thread(personas) -> Conversation:
    return Conversation.objects.get(kind=Conversation.Kind.CARE_TEAM)


def test_alice_shares_a_result_into_the_care_team_thread_and_bob_opens_it(alice, bob, lab_result, care_thread):
    blobs = Blob.objects.count()
    response = client_as(alice).post(
        f"/dossier/document/{lab_result.pk}/partager/", {"conversation": care_thread.pk, "note": "À voir"}
    )
    assert response.status_code == 302 and response["Location"] == f"/messagerie/{care_thread.pk}/"
    attachment = Attachment.objects.get(conversation=care_thread)
    version = lab_result.versions.get()
    assert attachment.blob_id == version.blob_id and Blob.objects.count() == blobs  # no copy
    assert attachment.message.body == "À voir" and attachment.name == lab_result.title
    entry = last_entry(purposes.SHARED)
    assert (entry.actor_id, entry.patient_id, entry.details["conversation"]) == (
        alice.pk,
        lab_result.patient_id,
        care_thread.pk,
    )
    download = client_as(bob).get(f"/api/messaging/attachments/{attachment.pk}")
    assert download.status_code == 200 and read_all(download).startswith(b"%PDF")
    read = last_entry("conversation.read", actor_id=bob.pk)
    assert (read.patient_id, read.purpose) == (lab_result.patient_id, "messaging.download")  # in Paula's history


def test_deleting_the_message_leaves_the_records_file(alice, lab_result, care_thread):
    client_as(alice).post(f"/dossier/document/{lab_result.pk}/partager/", {"conversation": care_thread.pk})
    message = Message.objects.filter(conversation=care_thread).order_by("-seq").first()
    do_delete_message(alice, message.pk)
    version = lab_result.versions.get()
    assert Blob.objects.filter(pk=version.blob_id).exists()
    assert not Attachment.objects.filter(conversation=care_thread).exists()


def test_a_document_goes_only_into_a_conversation_about_its_patient(alice, charlie, lab_result, personas):
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    client = client_as(alice)
    assert client.post(f"/dossier/document/{lab_result.pk}/partager/", {"conversation": direct.pk}).status_code == 404
    assert client.post(f"/dossier/document/{lab_result.pk}/partager/", {"conversation": MISSING_ID}).status_code == 404
    care = Conversation.objects.get(kind=Conversation.Kind.CARE_TEAM)
    outsider = client_as(charlie).post(f"/dossier/document/{lab_result.pk}/partager/", {"conversation": care.pk})
    assert outsider.status_code == 404
    assert not Attachment.objects.exists()


def test_a_file_of_the_thread_is_filed_in_the_record_in_one_click(alice, bob, patient, care_thread):
    data = pdf_bytes(text="Courrier du néphrologue")
    attachment_id = upload_attachment(client_as(bob), care_thread.pk, data, "courrier%20néphro.pdf").json()["id"]
    from cordee.messaging.services.sending import SendRequest, do_send_message

    do_send_message(SendRequest(bob, care_thread.pk, "", "test-key-file-1", attachment_ids=[attachment_id]))
    client = client_as(alice)
    record = client.get(f"/dossier/patient/{patient.pk}/").content.decode()
    assert "courrier néphro.pdf" in record
    response = client.post(
        f"/dossier/piece-jointe/{attachment_id}/classer/", {"doc_type": "courrier", "patient": patient.pk}
    )
    document = Document.objects.get(filed_from=attachment_id)
    assert response["Location"] == f"/dossier/document/{document.pk}/"
    version = document.versions.get()
    attachment = Attachment.objects.get(pk=attachment_id)
    assert version.blob_id != attachment.blob_id and version.blob.owner_type == "accounts.patient"  # the patient's key
    assert (document.title, document.doc_type, document.author) == ("courrier néphro.pdf", "courrier", alice)
    entry = last_entry(purposes.FILED)
    assert (entry.actor_id, entry.patient_id, entry.details["attachment"]) == (alice.pk, patient.pk, attachment_id)
    again = client.post(
        f"/dossier/piece-jointe/{attachment_id}/classer/", {"doc_type": "courrier", "patient": patient.pk}
    )
    assert again.status_code == 302 and Document.objects.filter(filed_from=attachment_id).count() == 1


def test_filing_needs_a_professional_who_reads_the_thread(charlie, paula, patient, care_thread, bob):
    attachment_id = upload_attachment(client_as(bob), care_thread.pk, pdf_bytes(), "x.pdf").json()["id"]
    from cordee.messaging.services.sending import SendRequest, do_send_message

    do_send_message(SendRequest(bob, care_thread.pk, "", "test-key-file-2", attachment_ids=[attachment_id]))
    for user in (charlie, paula):
        response = client_as(user).post(f"/dossier/piece-jointe/{attachment_id}/classer/", {"patient": patient.pk})
        assert response.status_code == 404
    assert client_as(bob).post(f"/dossier/piece-jointe/{MISSING_ID}/classer/", {}).status_code == 404
    assert not Document.objects.exists()
