"""The record and the messaging: a document shared into a conversation, an attachment filed.

- ``do_share_to_conversation``: a professional who may open the patient sends a record document
  into a conversation about the same patient (her care-team thread, a thread with her) that they
  may write to. No copy: the attachment points at the version's encrypted file (the patient's key
  opens it, whoever reads it); the conversation's members reach it through the messaging's own
  access rules, and each download is audited there (the patient sees it in her history). A
  message deleted later leaves the file: it belongs to the record (messaging keeps a blob still
  used elsewhere).
- ``do_file_attachment``: a member of a conversation about a patient, a professional who may open
  that patient, adds one of its attachments to her record in one click. The file is re-encrypted
  with the patient's key (a record's documents are readable with the patient's key alone, and
  survive the conversation), checked and previewed as any upload.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import User
from cordee.audit import services as audit_trail
from cordee.documents import access, purposes
from cordee.documents.models import Document, DocumentType, visible_by_default
from cordee.documents.services.files import (
    ACCEPTED_TYPES,
    DocumentError,
    Upload,
    _add_line,
    _add_version,
    _audit,
    _store,
    clean_doc_type,
)
from cordee.messaging.access import DOWNLOAD, SEND, access_attachment, access_conversation, visible_conversations
from cordee.messaging.models import Attachment, Conversation
from cordee.messaging.services.sending import SendRequest, SendResult, do_send_message
from cordee.vault.blobs import open_blob


def share_targets(user: User, patient_id: int) -> list[Conversation]:
    """The conversations about this patient that ``user`` is a member of (where a document may go)."""
    return list(
        visible_conversations(user)
        .filter(patient_id=patient_id, members__user=user, closed_at__isnull=True)
        .order_by("kind", "pk")
    )


def do_share_to_conversation(
    user: User, document_id: Any, conversation_id: Any, *, note: Any = "", request: HttpRequest | None = None
) -> SendResult:
    """Send the current version of a record document into a conversation about the same patient."""
    try:
        document, basis = access.access_document(
            user, document_id, purpose=purposes.DOCUMENT_SHARE, request=request, audit=False
        )
        if basis == "self" or user.kind != User.Kind.PROFESSIONAL or document.in_error:
            raise Http404
        conversation = access_conversation(user, conversation_id, purpose=SEND, request=request, write=True)
        if conversation.patient_id != document.patient_id:
            raise Http404  # a patient's document goes only where her care is discussed
    except Http404:
        raise DocumentError("not_found") from None
    version = document.versions.select_related("blob", "preview_blob").order_by("-number").first()
    if version is None:  # every document has its v1, written with it
        raise DocumentError("not_found")
    with transaction.atomic():
        attachment = Attachment.objects.create(
            conversation=conversation,
            uploaded_by=user,
            name=document.title[:255],
            content_type=version.content_type,
            size=version.size,
            blob=version.blob,  # the same encrypted file: no copy
            preview=version.preview if version.preview in ("pdf", "image") else "",
            preview_blob=version.preview_blob,
        )
        result = do_send_message(
            SendRequest(
                user,
                conversation.pk,
                " ".join(str(note or "").split())[:2000],
                f"record-{document.pk}-{version.number}-{attachment.pk}",
                attachment_ids=[attachment.pk],
                request=request,
            )
        )
        _audit(
            purposes.SHARED,
            user,
            document,
            basis,
            purposes.DOCUMENT_SHARE,
            request,
            conversation=conversation.pk,
            version=version.number,
        )
    return result


def filable_attachments(user: User, patient_id: int) -> list[Attachment]:
    """Files sent in the conversations about this patient that ``user`` reads, not yet in the record."""
    filed = Document.objects.filter(patient_id=patient_id, filed_from__isnull=False).values("filed_from")
    return list(
        Attachment.objects.filter(
            conversation__in=visible_conversations(user).filter(patient_id=patient_id),
            message__isnull=False,
            message__deleted_at__isnull=True,
            content_type__in=ACCEPTED_TYPES,
        )
        .exclude(pk__in=filed)
        .exclude(blob__in=Document.objects.filter(patient_id=patient_id).values("versions__blob"))
        .select_related("conversation", "message")
        .order_by("-created_at")[:20]
    )


def do_file_attachment(
    user: User, attachment_id: Any, *, doc_type: Any = DocumentType.AUTRE, request: HttpRequest | None = None
) -> Document:
    """Add a conversation's attachment to the record of its patient (v1, encrypted with her key)."""
    try:
        attachment = access_attachment(user, attachment_id, purpose=DOWNLOAD, request=request)
        conversation = attachment.conversation
        if conversation.patient_id is None or attachment.message_id is None:
            raise Http404
        patient, basis = access.access_record(
            user, conversation.patient_id, purpose=purposes.DOCUMENT_ADD, request=request, audit=False
        )
        if basis == "self" or user.kind != User.Kind.PROFESSIONAL:
            raise Http404
    except Http404:
        raise DocumentError("not_found") from None
    doc_type = clean_doc_type(doc_type)
    if Document.objects.filter(filed_from=attachment.pk).exists():
        return Document.objects.filter(filed_from=attachment.pk).get()
    with open_blob(attachment.blob) as clear:
        upload = Upload(clear, attachment.size, attachment.name)
        stored = _store(patient, upload)
    try:
        with transaction.atomic():
            document = Document.objects.create(
                patient=patient,
                doc_type=doc_type,
                title=attachment.name[:200],
                act_date=timezone.localdate(attachment.created_at),
                author=user,
                author_display=audit_trail.actor_display(user),
                visible_to_patient=visible_by_default(doc_type) and conversation.kind == Conversation.Kind.PATIENT,
                filed_from=attachment.pk,
            )
            _add_version(document, stored, user, upload, reason="", number=1)
            _add_line(document)
            _audit(
                purposes.FILED,
                user,
                document,
                basis,
                purposes.DOCUMENT_ADD,
                request,
                conversation=conversation.pk,
                attachment=attachment.pk,
            )
    except BaseException:
        stored.discard()
        raise
    return document
