"""Documents: uploaded into the vault (encrypted with the patient's key), versioned, never deleted.

An upload is the request body itself, streamed: its size announced (``Content-Length``) and
checked against ``DOCUMENTS_MAX_BYTES`` before a byte is read, then again while it is encrypted 1
MiB at a time (``store_blob``); a body that ends early or runs past the limit leaves nothing.

What is accepted is decided from the bytes, never from the client's name or type
(``cordee.lib.sniff``): PDF, PNG, JPEG, WebP and plain text. HTML, SVG, XML and every other
format are refused (docs/decisions/0011-patient-record-documents.md). A PDF or an image is
decoded once at upload (``cordee.lib.previews.inspect``): a damaged one, or an image past the
pixel budget (a decompression bomb), is refused; a password-protected PDF is kept, without a
preview (its download works).

Who writes: a professional who may open the patient (care team, break-the-glass); the patient
herself for the documents she provides. A correction (a new version) is made by a professional
who may open the patient, or by the patient on a document she provided; "entered in error" only
by the document's author, with a reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import Patient, User
from cordee.audit import services as audit_trail
from cordee.care.access import Basis
from cordee.documents import access, purposes
from cordee.documents.models import Document, DocumentType, DocumentVersion, visible_by_default
from cordee.documents.services.record import do_add_to_record, do_update_record_item
from cordee.lib.errors import CodedError
from cordee.lib.previews import inspect
from cordee.lib.sniff import HEAD_BYTES, sniff
from cordee.messaging.services.attachments import clean_name
from cordee.vault.blobs import CHUNK, delete_blob, store_blob
from cordee.vault.errors import BlobIncomplete, BlobTooLarge
from cordee.vault.models import Blob

ACCEPTED_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/webp", "text/plain"})
# Text that a browser would render as a page or a picture: refused even as plain text.
_MARKUP = (b"<html", b"<!doctype", b"<svg", b"<?xml", b"<script", b"<body", b"<iframe", b"<head")

ERRORS = {
    "not_found": (404, _("This record or document does not exist or is not open to you.")),
    "no_length": (411, _("The size of the file must be announced (Content-Length).")),
    "empty": (400, _("The file is empty.")),
    "too_large": (413, _("The file is larger than the limit.")),
    "incomplete": (400, _("The file did not arrive whole; nothing was kept. Send it again.")),
    "format": (415, _("This kind of file is not accepted: send a PDF, an image (PNG, JPEG, WebP) or plain text.")),
    "damaged": (422, _("This file is damaged and cannot be read; nothing was kept.")),
    "too_many_pixels": (422, _("This image is too large (in pixels) to be shown safely; nothing was kept.")),
    "doc_type": (400, _("Choose a document type from the list.")),
    "title": (400, _("Give the document a title.")),
    "act_date": (400, _("Give the date of the act (not in the future).")),
    "reason": (400, _("Say why.")),
    "not_author": (403, _("Only the author of a document may mark it as entered in error.")),
    "in_error": (409, _("This document was entered in error: it cannot be changed any more.")),
}


class DocumentError(CodedError):
    ERRORS = ERRORS


@dataclass(frozen=True)
class Upload:
    """A file arriving as a request body (``stream``), with its announced length and name."""

    stream: BinaryIO
    length: Any
    name: str | None = None


@dataclass
class _Stored:
    blob: Blob
    content_type: str
    preview: str = ""
    preview_blob: Blob | None = None
    pages: int = 0

    def discard(self) -> None:
        for blob in (self.blob, self.preview_blob):
            if blob is not None:
                delete_blob(blob)


def _limit() -> int:
    return int(settings.DOCUMENTS_MAX_BYTES)


def _length(raw: Any) -> int:
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise DocumentError("no_length") from None
    if size <= 0:
        raise DocumentError("empty")
    if size > _limit():
        raise DocumentError("too_large")
    return size


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        chunk = stream.read(HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def accepted_type(head: bytes) -> str:
    """The type of a file from its first bytes, if the record accepts it; else ``DocumentError``."""
    content_type = sniff(head)
    if content_type not in ACCEPTED_TYPES:
        raise DocumentError("format")
    if content_type == "text/plain":
        lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if any(marker in lowered for marker in _MARKUP):
            raise DocumentError("format")
    return content_type


def _store(patient: Patient, upload: Upload) -> _Stored:
    size = _length(upload.length)
    head = _read_head(upload.stream)
    content_type = accepted_type(head)
    kept: list[bytes] | None = [head] if content_type != "text/plain" else None  # to decode once

    def chunks() -> Iterator[bytes]:
        for chunk in itertools.chain([head], iter(lambda: upload.stream.read(CHUNK), b"")):
            if kept is not None and chunk is not head:
                kept.append(chunk)
            yield chunk

    try:
        blob = store_blob(patient, chunks(), max_bytes=_limit(), expected_size=size)
    except BlobTooLarge:
        raise DocumentError("too_large") from None
    except (BlobIncomplete, OSError):
        raise DocumentError("incomplete") from None
    stored = _Stored(blob, content_type)
    if kept is None:
        return stored
    try:
        found = inspect(content_type, b"".join(kept))
        kept.clear()
        if found.verdict == "damaged":
            raise DocumentError("damaged")
        if found.verdict == "too_large":
            raise DocumentError("too_many_pixels" if content_type.startswith("image/") else "damaged")
        stored.pages = found.pages
        if found.verdict == "encrypted":
            stored.preview = DocumentVersion.Preview.ENCRYPTED
        elif found.preview:
            stored.preview = found.kind
            stored.preview_blob = store_blob(patient, [found.preview], max_bytes=len(found.preview))
    except BaseException:
        stored.discard()
        raise
    return stored


def clean_doc_type(raw: Any) -> str:
    if raw not in DocumentType.values:
        raise DocumentError("doc_type")
    return str(raw)


def clean_title(raw: Any) -> str:
    title = " ".join(str(raw or "").split())[:200]
    if not title:
        raise DocumentError("title")
    return title


def clean_act_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.date):
        day = raw
    else:
        try:
            day = dt.date.fromisoformat(str(raw or ""))
        except ValueError:
            raise DocumentError("act_date") from None
    if day > timezone.localdate() or day.year < 1900:
        raise DocumentError("act_date")
    return day


def _writer_basis(user: User, patient_id: Any, purpose: str, request: HttpRequest | None) -> tuple[Patient, Basis]:
    try:
        patient, basis = access.access_record(user, patient_id, purpose=purpose, request=request, audit=False)
    except Http404:
        raise DocumentError("not_found") from None
    if basis != "self" and user.kind != User.Kind.PROFESSIONAL:
        raise DocumentError("not_found")  # staff read for a professional; they do not file documents
    return patient, basis


def _audit(
    action: str, user: User, document: Document, basis: Basis, purpose: str, request: Any, **details: Any
) -> None:
    access.record_entry(action, user, document, basis, purpose, request, type=document.doc_type, **details)


def _file_name(upload: Upload) -> str:
    return clean_name(upload.name)


def _add_line(document: Document) -> None:
    do_add_to_record(
        document.patient,
        kind="document",
        target=document,
        occurred_at=dt.datetime.combine(document.act_date, dt.time(12), tzinfo=timezone.get_current_timezone()),
        author=document.author,
        title=document.title,
        doc_type=document.doc_type,
        visible_to_patient=document.visible_to_patient or document.provided_by_patient,
    )


def do_upload(
    user: User,
    patient_id: Any,
    upload: Upload,
    *,
    doc_type: Any,
    title: Any,
    act_date: Any,
    source: Any = "",
    visible_to_patient: bool | None = None,
    request: HttpRequest | None = None,
) -> Document:
    """File a new document (v1) in the record of ``patient_id``; ``DocumentError`` if refused."""
    patient, basis = _writer_basis(user, patient_id, purposes.DOCUMENT_ADD, request)
    doc_type = clean_doc_type(doc_type)
    title = clean_title(title)
    day = clean_act_date(act_date)
    by_patient = basis == "self"
    visible = (
        True if by_patient else (visible_by_default(doc_type) if visible_to_patient is None else visible_to_patient)
    )
    stored = _store(patient, upload)
    try:
        with transaction.atomic():
            document = Document.objects.create(
                patient=patient,
                doc_type=doc_type,
                title=title,
                act_date=day,
                author=user,
                author_display=audit_trail.actor_display(user),
                source=" ".join(str(source or "").split())[:200],
                visible_to_patient=visible,
                provided_by_patient=by_patient,
            )
            version = _add_version(document, stored, user, upload, reason="", number=1)
            _add_line(document)
            _audit(purposes.UPLOADED, user, document, basis, purposes.DOCUMENT_ADD, request, **_facts(version))
    except BaseException:
        stored.discard()
        raise
    return document


def _facts(version: DocumentVersion) -> dict[str, Any]:
    return {"version": version.number, "size": version.size, "content_type": version.content_type}


def _add_version(
    document: Document, stored: _Stored, user: User, upload: Upload | None, *, reason: str, number: int
) -> DocumentVersion:
    return DocumentVersion.objects.create(
        document=document,
        patient=document.patient,
        number=number,
        blob=stored.blob,
        file_name=_file_name(upload) if upload is not None else "",
        content_type=stored.content_type,
        size=stored.blob.size,
        pages=stored.pages,
        preview=stored.preview,
        preview_blob=stored.preview_blob,
        created_by=user,
        created_by_display=audit_trail.actor_display(user),
        reason=reason,
    )


def _corrector(user: User, document_id: Any, purpose: str, request: HttpRequest | None) -> tuple[Document, Basis]:
    try:
        document, basis = access.access_document(user, document_id, purpose=purpose, request=request, audit=False)
    except Http404:
        raise DocumentError("not_found") from None
    if basis == "self":
        if not document.provided_by_patient:
            raise DocumentError("not_found")  # the patient corrects only what she provided
    elif user.kind != User.Kind.PROFESSIONAL:
        raise DocumentError("not_found")
    if document.in_error:
        raise DocumentError("in_error")
    return document, basis


def do_new_version(
    user: User, document_id: Any, upload: Upload, *, reason: Any, request: HttpRequest | None = None
) -> DocumentVersion:
    """A corrected file for a document: the next version (v1 stays as it was); ``DocumentError``."""
    document, basis = _corrector(user, document_id, purposes.DOCUMENT_CORRECT, request)
    why = " ".join(str(reason or "").split())[:500]
    if not why:
        raise DocumentError("reason")
    stored = _store(document.patient, upload)
    try:
        with transaction.atomic():
            locked = Document.objects.select_for_update().get(pk=document.pk)
            if locked.in_error:
                raise DocumentError("in_error")
            number = locked.last_version + 1
            version = _add_version(document, stored, user, upload, reason=why, number=number)
            document.last_version = number
            document.save(update_fields=["last_version"])
            _audit(purposes.VERSIONED, user, document, basis, purposes.DOCUMENT_CORRECT, request, **_facts(version))
    except BaseException:
        stored.discard()
        raise
    return version


def do_enter_in_error(user: User, document_id: Any, *, reason: Any, request: HttpRequest | None = None) -> Document:
    """The author withdraws a document ("entered in error", with the reason); it stays visible as such."""
    try:
        document, basis = access.access_document(
            user, document_id, purpose=purposes.DOCUMENT_ERROR, request=request, audit=False
        )
    except Http404:
        raise DocumentError("not_found") from None
    if document.author_id != user.pk:
        raise DocumentError("not_author")
    if document.in_error:
        raise DocumentError("in_error")
    why = " ".join(str(reason or "").split())[:500]
    if not why:
        raise DocumentError("reason")
    with transaction.atomic():
        document.entered_in_error_at = timezone.now()
        document.entered_in_error_by = user
        document.entered_in_error_reason = why
        document.save(update_fields=["entered_in_error_at", "entered_in_error_by", "entered_in_error_reason"])
        do_update_record_item(document, in_error=True)
        _audit(purposes.ENTERED_IN_ERROR, user, document, basis, purposes.DOCUMENT_ERROR, request)
    return document


def do_set_visibility(user: User, document_id: Any, *, visible: bool, request: HttpRequest | None = None) -> Document:
    """A professional who may open the patient shows a document to her, or hides it again."""
    try:
        document, basis = access.access_document(
            user, document_id, purpose=purposes.DOCUMENT_VISIBILITY, request=request, audit=False
        )
    except Http404:
        raise DocumentError("not_found") from None
    if basis == "self" or user.kind != User.Kind.PROFESSIONAL:
        raise DocumentError("not_found")
    if document.provided_by_patient or document.visible_to_patient == visible:
        return document
    with transaction.atomic():
        document.visible_to_patient = visible
        document.save(update_fields=["visible_to_patient"])
        do_update_record_item(document, visible_to_patient=visible)
        _audit(
            purposes.VISIBILITY_CHANGED, user, document, basis, purposes.DOCUMENT_VISIBILITY, request, visible=visible
        )
    return document
