"""Attachments: streamed into the vault's blob store, encrypted with the conversation's key.

The upload is the request body itself (``application/octet-stream``), its name in the
``X-File-Name`` header (percent-encoded UTF-8): never in the URL, which proxies and servers log.
``Content-Length`` is required and checked against ``MESSAGING_ATTACHMENT_MAX_BYTES`` before a
byte is read; the body is then encrypted 1 MiB at a time. A body that ends early or goes past the
limit leaves nothing: the blob store keeps a file only once complete, and the attachment row is
written after it. The type is sniffed from the first bytes (``sniff``), the preview made by
``previews``. An upload belongs to its uploader until it is sent with a message (``sending``);
unsent uploads are purged after a day.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import unicodedata
from typing import Any, BinaryIO
from urllib.parse import unquote

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.lib.errors import CodedError
from cordee.lib.previews import MAX_SOURCE_BYTES, make_preview
from cordee.lib.sniff import HEAD_BYTES, sniff
from cordee.messaging.access import SEND, access_conversation
from cordee.messaging.models import Attachment, Conversation
from cordee.vault.blobs import CHUNK, delete_blob, open_blob, store_blob
from cordee.vault.errors import BlobIncomplete, BlobTooLarge
from cordee.vault.models import Blob

logger = logging.getLogger(__name__)

UPLOAD_ERRORS = {
    "not_found": (404, _("This conversation does not exist or is not open to you.")),
    "closed": (403, _("Replies are closed in this conversation.")),
    "no_length": (411, _("The size of the file must be announced (Content-Length).")),
    "empty": (400, _("The file is empty.")),
    "too_large": (413, _("The file is larger than the limit.")),
    "incomplete": (400, _("The file did not arrive whole; nothing was kept. Send it again.")),
}


class UploadError(CodedError):
    ERRORS = UPLOAD_ERRORS


def clean_name(raw: str | None) -> str:
    """A file name to keep and show (as text): decoded, no folders, no control characters."""
    name = unquote(raw or "", errors="replace")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or str(_("file"))


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        chunk = stream.read(HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _store(conversation: Conversation, stream: BinaryIO, length: int) -> tuple[Blob, str]:
    limit = settings.MESSAGING_ATTACHMENT_MAX_BYTES
    try:
        head = _read_head(stream)
        source = itertools.chain([head], iter(lambda: stream.read(CHUNK), b""))
        blob = store_blob(conversation, source, max_bytes=limit, expected_size=length)
    except BlobTooLarge:
        raise UploadError("too_large") from None
    except (BlobIncomplete, OSError):
        raise UploadError("incomplete") from None
    return blob, sniff(head)


def _preview(conversation: Conversation, blob: Blob, content_type: str) -> tuple[str, Blob | None]:
    if blob.size > MAX_SOURCE_BYTES or not (content_type.startswith("image/") or content_type == "application/pdf"):
        return "", None
    with open_blob(blob) as clear:
        made = make_preview(content_type, clear.read())
    if made is None:
        return "", None
    kind, data = made
    return kind, store_blob(conversation, [data], max_bytes=len(data))


def do_upload_attachment(
    user: User,
    conversation_id: Any,
    stream: BinaryIO,
    *,
    name: str | None,
    length: Any,
    request: HttpRequest | None = None,
) -> Attachment:
    """Store an upload for ``user`` in a conversation they may write to; ``UploadError`` if refused."""
    try:
        conversation = access_conversation(user, conversation_id, purpose=SEND, request=request, write=True)
    except Http404:
        raise UploadError("not_found") from None
    if (
        conversation.replies_closed
        and conversation.kind == Conversation.Kind.PATIENT
        and user.kind == User.Kind.PATIENT
    ):
        raise UploadError("closed")
    try:
        size = int(length)
    except (TypeError, ValueError):
        raise UploadError("no_length") from None
    if size <= 0:
        raise UploadError("empty")
    if size > settings.MESSAGING_ATTACHMENT_MAX_BYTES:
        raise UploadError("too_large")
    blob, content_type = _store(conversation, stream, size)
    preview_kind, preview_blob = "", None
    try:
        preview_kind, preview_blob = _preview(conversation, blob, content_type)
        with transaction.atomic():
            attachment = Attachment.objects.create(
                conversation=conversation,
                uploaded_by=user,
                name=clean_name(name),
                content_type=content_type,
                size=blob.size,
                blob=blob,
                preview=preview_kind,
                preview_blob=preview_blob,
            )
            audit.record(
                "attachment.uploaded",
                actor=user,
                request=request,
                target=attachment,
                patient_id=conversation.patient_id,
                purpose=SEND,
                category="access" if conversation.patient_id else "security",
                details={"conversation": conversation.pk, "size": blob.size, "content_type": content_type},
            )
    except BaseException:
        for stored in (blob, preview_blob):
            if stored is not None:
                delete_blob(stored)
        raise
    attachment.conversation = conversation
    return attachment


def delete_attachments(attachments: list[Attachment]) -> None:
    """Rows now, encrypted files once the transaction commits; a file still used elsewhere (a
    document of a patient's record shared into the conversation) stays."""
    for attachment in attachments:
        blobs = [attachment.blob, attachment.preview_blob]
        attachment.delete()
        for blob in blobs:
            if blob is None:
                continue
            try:
                with transaction.atomic():
                    delete_blob(blob)
            except ProtectedError:  # referenced by another row (PROTECT): not this conversation's alone
                continue


RETENTION = "messaging.retention"  # the purpose of the purge's audit entries


def purge_unsent(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete uploads never sent with a message, with their encrypted files (after the commit).

    Run by the worker's scheduler every hour (``cordee.messaging.apps``). Each deletion is audited
    like the upload it undoes (an ``access`` entry naming the patient of a patient's conversation),
    by Cordée itself (no actor), with numbers only.
    """
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        stale = list(
            Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff).select_related(
                "conversation", "blob", "preview_blob"
            )
        )
        audit.record_many(
            [
                {
                    "action": "attachment.purged",
                    "target": attachment,
                    "patient_id": attachment.conversation.patient_id,
                    "purpose": RETENTION,
                    "category": "access" if attachment.conversation.patient_id else "security",
                    "details": {"conversation": attachment.conversation_id, "size": attachment.size, "unsent": True},
                }
                for attachment in stale
            ]
        )
        delete_attachments(stale)
    return len(stale)


def content_disposition(name: str) -> str:
    """``attachment`` always, with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    return f"attachment; filename=\"{ascii_name or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"
