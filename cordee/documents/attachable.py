"""Documents as attachments of requests (referrals, tele-expertise): ``cordee.lib.attachables``.

The attaching user must be able to open the document (``access.access_document``, audited) and
it must be a document of the same patient; a reader of the request gets the current version as
a download, checked again against the patient.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from cordee.documents import access, purposes
from cordee.documents.models import Document, DocumentVersion
from cordee.lib import attachables
from cordee.lib.ids import parse_id
from cordee.messaging.services.attachments import content_disposition
from cordee.vault.blobs import aiter_blob

KIND = "document"


def check(user: Any, patient_id: int, raw_id: Any, request: HttpRequest | None) -> str:
    document, _basis = access.access_document(user, raw_id, purpose=purposes.DOCUMENT_SHARE, request=request)
    if document.patient_id != patient_id or document.in_error:
        raise Http404
    return str(document.title)


def serve(patient_id: int, object_id: str) -> HttpResponseBase:
    version = (
        DocumentVersion.objects.filter(document_id=parse_id(object_id), document__patient_id=patient_id)
        .select_related("blob", "patient")
        .order_by("-number")
        .first()
    )
    if version is None:
        raise Http404
    response = StreamingHttpResponse(aiter_blob(version.blob), content_type=version.content_type)
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition(version.file_name or "document")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def candidates(user: Any, patient_id: int) -> list[tuple[str, str]]:
    documents = Document.objects.filter(patient_id=patient_id, entered_in_error_at__isnull=True).select_related(
        "patient"
    )
    return [(str(d.pk), str(d.title)) for d in documents.order_by("-act_date", "-pk")[:50]]


def titles(patient_id: int, ids: list[str]) -> dict[str, str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    documents = Document.objects.filter(patient_id=patient_id, pk__in=wanted).select_related("patient")
    return {str(d.pk): str(d.title) for d in documents}


def register() -> None:
    attachables.register(
        attachables.Attachable(
            kind=KIND, label=_("Document of the record"), check=check, serve=serve, candidates=candidates, titles=titles
        )
    )
