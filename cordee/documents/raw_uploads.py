"""A document sent as a raw request body, its facts in percent-encoded headers.

The record page's script and the JSON API speak this one protocol (X-File-Name, X-Document-Type,
X-Document-Title, X-Act-Date, X-Document-Source, X-Visible; X-Reason for a new version): both read
it here, then answer in their own way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from cordee.documents import services
from cordee.documents.models import Document, DocumentVersion
from cordee.lib.http import AuthedRequest


def header_text(request: AuthedRequest, name: str) -> str:
    return unquote(request.headers.get(name, ""), errors="replace")


def body_upload(request: AuthedRequest) -> services.Upload:
    stream: Any = request  # an HttpRequest is a readable stream of its body
    # the name stays percent-encoded: the service decodes it once (attachments' clean_name)
    return services.Upload(stream, request.headers.get("Content-Length"), request.headers.get("X-File-Name"))


def upload_from_headers(request: AuthedRequest, patient_id: Any) -> Document:
    visible = request.headers.get("X-Visible")
    return services.do_upload(
        request.user,
        patient_id,
        body_upload(request),
        doc_type=request.headers.get("X-Document-Type"),
        title=header_text(request, "X-Document-Title"),
        act_date=request.headers.get("X-Act-Date"),
        source=header_text(request, "X-Document-Source"),
        visible_to_patient=None if visible is None else visible == "1",
        request=request,
    )


def new_version_from_headers(request: AuthedRequest, document_id: Any) -> DocumentVersion:
    return services.do_new_version(
        request.user, document_id, body_upload(request), reason=header_text(request, "X-Reason"), request=request
    )
