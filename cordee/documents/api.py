"""The record's JSON API (``/api/record/``): the timeline, documents and their versions, uploads.

Thin like the pages (``documents.views``): every object through ``documents.access`` (reads
audited there), every change through ``documents.services`` (audited there). Ids in paths are
taken as text, so that a forged one answers exactly like a missing or forbidden one (404
``not_found``). Uploads are the raw body (``Content-Length`` required), the fields in headers,
percent-encoded, as the page's script sends them; downloads are streamed (``aiter_blob``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, StreamingHttpResponse
from ninja import Query, Router, Status

from cordee.documents import access, purposes, raw_uploads, services, timeline
from cordee.documents.models import Document, DocumentVersion, RecordItem
from cordee.documents.schemas import (
    DocumentOut,
    DocumentVersionOut,
    EnteredInErrorIn,
    TimelineKind,
    TimelineOut,
    VisibilityIn,
)
from cordee.lib.api import BINARY_RESPONSE, ERRORS, ApiError, ErrorOut, Id
from cordee.lib.http import AuthedRequest
from cordee.messaging.services.attachments import content_disposition
from cordee.vault.blobs import aiter_blob

router = Router(tags=["record"])

# What a change may answer besides ``ERRORS`` (``services.files.ERRORS``).
_WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}
_UPLOAD_ERRORS: dict[int, Any] = {**_WRITE_ERRORS, 411: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: ErrorOut}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"in": "header", "name": name, "schema": {"type": "string"}, "description": description}


def _raw_body(*headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "parameters": [_header("X-File-Name", "percent-encoded UTF-8 file name"), *headers],
    }


def _failed(exc: services.DocumentError) -> Exception:
    if exc.code == "not_found":  # exactly the answer of any missing object
        return Http404()
    return ApiError(exc.status, exc.message, exc.code)


def _author(author_id: int | None, display: dict[str, Any] | None) -> dict[str, Any]:
    display = display or {}
    return {"id": author_id, "name": display.get("name", ""), "role": display.get("role", "")}


def _item(item: RecordItem) -> dict[str, Any]:
    document = item.kind == "document" and item.target_type == "documents.document"
    return {
        "id": item.pk,
        "kind": item.kind,
        "occurred_at": item.occurred_at,
        "title": item.title,
        "doc_type": item.doc_type,
        "document_id": int(item.target_id) if document else None,
        "author": _author(item.author_id, item.author_display),
        "visible_to_patient": item.visible_to_patient,
        "in_error": item.in_error,
    }


def _version(version: DocumentVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "number": version.number,
        "file_name": version.file_name,
        "content_type": version.content_type,
        "size": version.size,
        "pages": version.pages,
        "created_at": version.created_at,
        "created_by": _author(version.created_by_id, version.created_by_display),
        "reason": version.reason or "",
    }


def _document(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "patient_id": document.patient_id,
        "doc_type": document.doc_type,
        "title": document.title,
        "act_date": document.act_date,
        "source": document.source or "",
        "author": _author(document.author_id, document.author_display),
        "visible_to_patient": document.visible_to_patient,
        "provided_by_patient": document.provided_by_patient,
        "created_at": document.created_at,
        "entered_in_error_at": document.entered_in_error_at,
        "entered_in_error_reason": document.entered_in_error_reason if document.in_error else None,
        "versions": [_version(v) for v in access.versions_of(document)],
    }


@router.get("/patients/{patient_id}/timeline", response={200: TimelineOut, **ERRORS}, summary="A patient's timeline")
def patient_timeline(
    request: AuthedRequest,
    patient_id: str,
    page: int = Query(1, ge=1, le=1_000_000),
    type: TimelineKind | None = None,  # noqa: A002  (the name of the page's filter)
    author: Id | None = None,
) -> dict[str, Any]:
    """Newest first, 30 lines a page (a page past the last gives the last). ``type``: a document
    type or ``message``; ``author``: a user id."""
    patient, basis = access.access_record(request.user, patient_id, purpose=purposes.RECORD_VIEW, request=request)
    found = timeline.timeline(patient, basis, timeline.Filters(type or "", author), page)
    return {
        "items": [_item(item) for item in found.object_list],
        "page": found.number,
        "pages": found.paginator.num_pages,
        "count": found.paginator.count,
    }


@router.post(
    "/patients/{patient_id}/documents",
    response={201: DocumentOut, **_UPLOAD_ERRORS},
    openapi_extra=_raw_body(
        _header("X-Document-Type", "a document type (the list of the timeline's filter)"),
        _header("X-Document-Title", "percent-encoded title"),
        _header("X-Act-Date", "date of the act, YYYY-MM-DD, not in the future"),
        _header("X-Document-Source", "percent-encoded source structure (optional)"),
        _header("X-Visible", '"1" or "0": visible to the patient (default: by type); professionals only'),
    ),
)
def upload(request: AuthedRequest, patient_id: str) -> Status:
    """File a new document (its first version) in the record; the file is the raw body."""
    try:
        document = raw_uploads.upload_from_headers(request, patient_id)
    except services.DocumentError as exc:
        raise _failed(exc) from None
    return Status(201, _document(document))


@router.get("/documents/{document_id}", response={200: DocumentOut, **ERRORS}, summary="A document and its versions")
def document_detail(request: AuthedRequest, document_id: str) -> dict[str, Any]:
    document, _basis = access.access_document(
        request.user, document_id, purpose=purposes.DOCUMENT_VIEW, request=request
    )
    return _document(document)


@router.post(
    "/documents/{document_id}/versions",
    response={201: DocumentVersionOut, **_UPLOAD_ERRORS},
    openapi_extra=_raw_body(_header("X-Reason", "percent-encoded: why this version (required)")),
)
def new_version(request: AuthedRequest, document_id: str) -> Status:
    """A corrected file: the next version (the earlier ones stay); the file is the raw body."""
    try:
        version = raw_uploads.new_version_from_headers(request, document_id)
    except services.DocumentError as exc:
        raise _failed(exc) from None
    return Status(201, _version(version))


@router.post("/documents/{document_id}/visibility", response={200: DocumentOut, **_WRITE_ERRORS})
def set_visibility(request: AuthedRequest, document_id: str, data: VisibilityIn) -> dict[str, Any]:
    """A professional shows the document to the patient, or hides it again."""
    try:
        document = services.do_set_visibility(request.user, document_id, visible=data.visible, request=request)
    except services.DocumentError as exc:
        raise _failed(exc) from None
    return _document(document)


@router.post("/documents/{document_id}/entered-in-error", response={200: DocumentOut, **_WRITE_ERRORS})
def enter_in_error(request: AuthedRequest, document_id: str, data: EnteredInErrorIn) -> dict[str, Any]:
    """Its author withdraws the document, with the reason (it stays in the record, marked)."""
    try:
        document = services.do_enter_in_error(request.user, document_id, reason=data.reason, request=request)
    except services.DocumentError as exc:
        raise _failed(exc) from None
    return _document(document)


@router.get(
    "/versions/{version_id}/file",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {"200": BINARY_RESPONSE}},
)
def download(request: AuthedRequest, version_id: str) -> StreamingHttpResponse:
    """The file as uploaded, always as a download (``Content-Disposition: attachment``), streamed."""
    version, _basis = access.access_version(
        request.user, version_id, purpose=purposes.DOCUMENT_DOWNLOAD, request=request
    )
    content_type = version.content_type + ("; charset=utf-8" if version.content_type == "text/plain" else "")
    response = StreamingHttpResponse(aiter_blob(version.blob), content_type=content_type)
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition(version.file_name or "document")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
