"""Resumable browser uploads (Cordée's own chunked protocol; docs/decisions/0018-imaging-dicom-stack.md).

``POST`` starts an upload of ``size`` bytes for a patient and gets a random token; each ``PUT``
carries the next chunk with ``Upload-Offset`` (the bytes already received); ``GET`` answers the
offset to resume from after a network cut. A chunk at the wrong offset is refused with the right
one (the client resumes from there). Each chunk is stored at once as a vault blob encrypted with the
patient's key (nothing clear on disk); when the last one arrives the file is put together in
memory and ingested (``archives.ingest_upload``), and the chunks are deleted.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import Patient
from cordee.imaging import refusals
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Source, Upload, UploadChunk
from cordee.imaging.services.archives import Outcome, ingest_upload
from cordee.vault.blobs import delete_blob, iter_blob, store_blob


class OffsetMismatch(Exception):
    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


def do_start(patient: Patient, *, by: Any, size: int) -> Upload:
    if size <= 0:
        raise DicomRefused("empty", "This file is empty.")
    if size > settings.IMAGING_MAX_FILE_BYTES:
        raise DicomRefused(
            "too_large", f"This file is larger than the limit of {settings.IMAGING_MAX_FILE_BYTES} bytes."
        )
    return Upload.objects.create(patient=patient, token=secrets.token_urlsafe(32), created_by=by, size=size)


def upload_of(user: Any, token: str) -> Upload:
    """The user's own unfinished upload (else ``Http404``; the patient is checked by the caller)."""
    upload = Upload.objects.filter(token=str(token)[:43], created_by_id=getattr(user, "pk", None)).first()
    if upload is None:
        raise Http404
    return upload


def do_append(
    upload: Upload, offset: int, data: bytes, *, by: Any, request: HttpRequest | None = None
) -> Outcome | None:
    """Add a chunk at ``offset``; the outcome of the ingest once the file is complete, else None."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.finished_at is not None:
            return Outcome(**{k: v for k, v in upload.outcome.items() if k != "studies"})
        if offset != upload.received or not data or upload.received + len(data) > upload.size:
            raise OffsetMismatch(upload.received)
        blob = store_blob(upload.patient, [data], max_bytes=len(data))
        UploadChunk.objects.create(upload=upload, offset=offset, blob=blob, size=len(data))
        upload.received += len(data)
        upload.save(update_fields=["received"])
    if upload.received < upload.size:
        return None
    return _finish(upload, by=by, request=request)


def _finish(upload: Upload, *, by: Any, request: HttpRequest | None) -> Outcome:
    chunks = list(upload.chunks.select_related("blob").order_by("offset"))
    data = b"".join(b"".join(iter_blob(chunk.blob)) for chunk in chunks)
    try:
        outcome = ingest_upload(data, by=by, source=Source.UPLOAD, patient=upload.patient, request=request)
    except DicomRefused as refusal:
        outcome = Outcome(refused=[{"code": refusal.code, "message": refusals.text(refusal)}])
    with transaction.atomic():
        upload.finished_at = timezone.now()
        upload.outcome = outcome.as_dict()
        upload.save(update_fields=["finished_at", "outcome"])
        blobs = [chunk.blob for chunk in chunks]
        UploadChunk.objects.filter(upload=upload).delete()
        for blob in blobs:
            delete_blob(blob)  # the ciphertext goes once this commits
    return outcome
