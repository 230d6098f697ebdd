"""The upload form without JavaScript: a plain ``multipart/form-data`` POST.

The page's script sends the file as the request body (``views.upload``, with its progress); a
browser without JavaScript posts the form itself. Its file part goes through
``RecordUploadHandler``: always to a temporary file on disk (never held in memory), counted as it
arrives and dropped at once past ``DOCUMENTS_MAX_BYTES`` (the temporary file removed, the rest of
the body read and thrown away), then streamed from that file into the vault by the same
``services.do_upload`` as the script's path (the handler is installed before the CSRF check
parses the body: ``cordee.lib.bodies.with_upload_handlers``) (same checks, same audit); the temporary file is
removed when the request ends (``close_upload``).

Only one file, in the field ``file``, is taken; any other file part is read and dropped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

FIELD = "file"


class RecordUploadHandler(TemporaryFileUploadHandler):
    """A ``TemporaryFileUploadHandler`` that stops past the record's limit (``too_large``)."""

    def __init__(self, request: HttpRequest | None = None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = int(settings.DOCUMENTS_MAX_BYTES) if limit is None else limit
        self.received = 0
        self.too_large = False
        self.taken = False
        self.skipping = False

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        # Another part is read and dropped here (``SkipFile`` would make the parser close every
        # handler's file, the one taken too).
        self.skipping = field_name != FIELD or self.taken
        if not self.skipping:
            self.taken = True
            super().new_file(field_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.skipping:
            return None
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            self.file.close()  # a NamedTemporaryFile: closing removes it
            raise StopUpload(connection_reset=False)  # the rest of the body is read and dropped
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.skipping:
            self.skipping = False
            return None
        return super().file_complete(file_size)


def handlers(request: HttpRequest) -> list[FileUploadHandler]:
    """The upload view's handlers, installed before the body is parsed (``cordee.lib.bodies``)."""
    return [RecordUploadHandler(request)]


def handler_of(request: HttpRequest) -> RecordUploadHandler:
    """The handler that parsed this request (a fresh one if none did: nothing was over the limit)."""
    found = [h for h in request.upload_handlers if isinstance(h, RecordUploadHandler)]
    return found[0] if found else RecordUploadHandler(request)


def close_upload(file: UploadedFile | None) -> None:
    if file is not None:
        file.close()  # removes the temporary file
