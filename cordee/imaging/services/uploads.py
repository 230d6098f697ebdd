"""Resumable browser uploads (Cordée's own chunked protocol; docs/decisions/0018-imaging-dicom-stack.md).

``POST`` starts an upload of ``size`` bytes for a patient and gets a random token; each ``PUT``
carries the next chunk with ``Upload-Offset`` (the bytes already received); ``GET`` answers the
offset to resume from after a network cut. A chunk at the wrong offset is refused with the right
one (the client resumes from there). Each chunk is stored at once as a vault blob encrypted with the
patient's key (nothing clear on disk); when the last one arrives the file is ingested
(``archives.ingest_upload``) through ``ChunkedFile``, a seekable reader that decrypts one chunk at
a time (the file is never put together, in memory or on disk: a ZIP is read entry by entry, a
single DICOM file is read once), and the chunks are deleted.

An upload that receives no chunk for ``IMAGING_UPLOAD_ABANDONED_HOURS`` is abandoned:
``purge_abandoned`` (the worker's hourly job) deletes it with its chunks, audited with numbers only.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from bisect import bisect_right
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import Patient
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.imaging import purposes, refusals
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Source, Upload, UploadChunk
from cordee.imaging.services.archives import Outcome, ingest_upload
from cordee.imaging.services.erasure import delete_uploads
from cordee.vault import services as vault
from cordee.vault.blobs import delete_blob, open_blob, store_blob
from cordee.vault.errors import BlobIncomplete


class OffsetMismatch(Exception):
    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


def do_start(patient: Patient, *, by: Any, size: int) -> Upload:
    if vault.is_shredded(patient):
        raise DicomRefused("erased", "This patient's data were erased: nothing more is stored for them.")
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


class ChunkedFile(io.RawIOBase):
    """The clear bytes of an upload's chunks as one seekable, read-only file, decrypting one chunk
    at a time (the one being read is kept, at most ``IMAGING_UPLOAD_CHUNK_BYTES``): what
    ``zipfile`` needs to read a CD's ZIP entry by entry without the whole file in memory."""

    def __init__(self, chunks: list[UploadChunk]) -> None:
        super().__init__()
        self._chunks = chunks
        self._starts = [chunk.offset for chunk in chunks]
        self._size = sum(chunk.size for chunk in chunks)
        self._position = 0
        self._current: tuple[int, bytes | bytearray] | None = None  # (index, clear bytes) of the chunk kept

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def _chunk(self, index: int) -> bytes | bytearray:
        if self._current is None or self._current[0] != index:
            self._current = None  # let the previous chunk go before decrypting the next
            chunk = self._chunks[index]
            clear = bytearray(chunk.size)  # decrypted straight into it: one copy of the chunk
            with open_blob(chunk.blob) as stream:
                raw, filled, view = cast(io.RawIOBase, stream), 0, memoryview(clear)
                while filled < chunk.size and (got := raw.readinto(view[filled:])):
                    filled += got
            if filled != chunk.size:
                raise BlobIncomplete(f"Chunk {chunk.offset} of upload #{chunk.upload_id} is shorter than recorded.")
            self._current = (index, clear)
        return self._current[1]

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self._size:
            index = bisect_right(self._starts, self._position) - 1
            data = self._chunk(index)
            start = self._position - self._starts[index]
            count = min(len(view) - done, len(data) - start)
            view[done : done + count] = data[start : start + count]
            done += count
            self._position += count
        return done


def _finish(upload: Upload, *, by: Any, request: HttpRequest | None) -> Outcome:
    chunks = list(upload.chunks.select_related("blob").order_by("offset"))
    try:
        with io.BufferedReader(ChunkedFile(chunks), buffer_size=64 * 1024) as source:
            outcome = ingest_upload(source, by=by, source=Source.UPLOAD, patient=upload.patient, request=request)
    except DicomRefused as refusal:
        outcome = Outcome(refused=[{"code": refusal.code, "message": refusals.text(refusal)}])
    with transaction.atomic():
        upload.finished_at = timezone.now()
        upload.outcome = outcome.as_dict()
        upload.save(update_fields=["finished_at", "outcome"])
        UploadChunk.objects.filter(upload=upload).delete()
        for chunk in chunks:
            delete_blob(chunk.blob)  # the ciphertext goes once this commits
    return outcome


def abandoned(older_than: dt.timedelta | None = None) -> Any:
    """Uploads with chunks left (or unfinished) that received nothing for ``older_than``
    (``IMAGING_UPLOAD_ABANDONED_HOURS`` by default): the time of their last chunk, else their start."""
    cutoff = timezone.now() - (older_than or dt.timedelta(hours=settings.IMAGING_UPLOAD_ABANDONED_HOURS))
    chunks = UploadChunk.objects.filter(upload=OuterRef("pk"))
    last_chunk = chunks.order_by("-blob__created_at").values("blob__created_at")[:1]
    return Upload.objects.annotate(touched=Coalesce(Subquery(last_chunk), "created_at")).filter(
        Q(finished_at__isnull=True) | Q(Exists(chunks)), touched__lt=cutoff
    )


def purge_abandoned(older_than: dt.timedelta | None = None) -> int:
    """Delete abandoned uploads with their chunks and their files (after the commit); how many.

    Run by the worker's scheduler every hour (``cordee.imaging.apps``). Each deletion is audited
    by Cordée itself (no actor) as an ``access`` entry naming the patient, with numbers only (the
    announced and received sizes, the number of chunks): no file name, nothing of the images.
    Checked again under the upload's lock, so that a chunk arriving meanwhile keeps it.
    """
    with transaction.atomic():
        candidates = list(abandoned(older_than).values_list("pk", flat=True))
        if not candidates:
            return 0
        list(Upload.objects.select_for_update().filter(pk__in=candidates).values_list("pk", flat=True))
        still = abandoned(older_than).filter(pk__in=candidates).values_list("pk", flat=True)
        deleted = delete_uploads(Upload.objects.filter(pk__in=list(still)).order_by("pk"))
        audit_trail.record_many(
            [
                {
                    "action": purposes.UPLOAD_PURGED,
                    "target": upload,
                    "patient_id": upload.patient_id,
                    "purpose": purposes.RETENTION,
                    "category": AuditEntry.Category.ACCESS,
                    "details": {"size": upload.size, "received": upload.received, "chunks": count},
                }
                for upload, count in deleted
            ]
        )
    return len(deleted)
