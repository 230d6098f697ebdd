"""Pages of the patient's record. The record, documents and versions are reached only through
``documents.access``; changes go through ``documents.services``.

Uploads (a new document, a new version) are the request body itself, sent by the page's script
with the progress shown (``static/documents/upload.js``); the form's fields travel in headers,
percent-encoded (never in the URL). Without JavaScript the new-document form posts itself as
``multipart/form-data`` (``documents.multipart``): same limit, checks, audit; errors on the page.
Files are always served as downloads (``attachment``, ``nosniff``); only Cordée's own PNG/JPEG
previews are shown inline.
"""

from __future__ import annotations

from typing import Any, TypeVar

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.accounts.models import User
from cordee.documents import access, export, multipart, purposes, raw_uploads, search, services, timeline
from cordee.documents.models import DocumentType, DocumentVersion, visible_by_default
from cordee.documents.services import exports, sharing
from cordee.lib.bodies import with_upload_handlers
from cordee.lib.http import AuthedRequest
from cordee.lib.previews import pdf_preview
from cordee.messaging.services.attachments import content_disposition
from cordee.vault.blobs import aiter_blob, iter_blob

R = TypeVar("R", HttpResponse, StreamingHttpResponse)


def _error(exc: services.DocumentError) -> JsonResponse:
    if exc.code == "not_found":
        raise Http404
    return JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.status)


@login_required
@require_GET
def my_record(request: AuthedRequest) -> HttpResponse:
    patient = getattr(request.user, "patient", None) if request.user.kind == User.Kind.PATIENT else None
    if patient is None:
        raise Http404
    return redirect("documents:record", patient.pk)


@login_required
@require_GET
def record(request: AuthedRequest, patient_id: str) -> HttpResponse:
    return _record_page(request, patient_id)


# Which field of the upload form each refusal points at (the others are about the file).
_FIELD_OF = {"doc_type": "doc_type", "title": "title", "act_date": "act_date"}


def _record_page(
    request: AuthedRequest, patient_id: str, *, failed: services.DocumentError | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    patient, basis = access.access_record(user, patient_id, purpose=purposes.RECORD_VIEW, request=request)
    filters = timeline.parse_filters(request.GET)
    page = timeline.timeline(patient, basis, filters, request.GET.get("page"))
    may_upload = basis == "self" or user.kind == User.Kind.PROFESSIONAL
    context = {
        "patient": patient,
        "basis": basis,
        "page": page,
        "filters": filters,
        "authors": timeline.authors(patient, basis),
        "types": DocumentType.choices,
        "hidden_types": [t for t in DocumentType.values if not visible_by_default(t)],
        "may_upload": may_upload,
        "may_export": may_upload,  # the patient, a professional who may open her
        "filable": sharing.filable_attachments(user, patient.pk) if _professional(user, basis) else [],
        "max_bytes": settings.DOCUMENTS_MAX_BYTES,
        "upload_error": failed.message if failed is not None else "",
        "upload_field": _FIELD_OF.get(failed.code, "file") if failed is not None else "",
        "upload_values": request.POST if failed is not None else {},
    }
    return render(request, "documents/record.html", context, status=status)


@with_upload_handlers(multipart.handlers)
@login_required
@require_POST
def upload(request: AuthedRequest, patient_id: str) -> HttpResponse:
    """A new document: the body itself from the page's script (answered in JSON), or the form
    posted as ``multipart/form-data`` by a browser without JavaScript (``documents.multipart``)."""
    if request.content_type == "multipart/form-data":
        return _upload_form(request, patient_id, multipart.handler_of(request))
    return _upload_body(request, patient_id)


def _upload_body(request: AuthedRequest, patient_id: str) -> HttpResponse:
    try:
        document = raw_uploads.upload_from_headers(request, patient_id)
    except services.DocumentError as exc:
        return _error(exc)
    messages.success(request, _("The document was added to the record."))
    return JsonResponse({"id": document.pk, "url": reverse("documents:document", args=[document.pk])}, status=201)


def _upload_form(request: AuthedRequest, patient_id: str, handler: multipart.RecordUploadHandler) -> HttpResponse:
    file = request.FILES.get(multipart.FIELD)  # parsed here, through the handler (to disk, limited)
    try:
        if handler.too_large:
            raise services.DocumentError("too_large")
        if file is None:
            raise services.DocumentError("empty")
        doc_type = request.POST.get("doc_type")
        # Without the script the box does not follow the type: a result, an image or a photograph
        # stays hidden until shown from its page (the help says so); the box can only hide.
        visible = request.POST.get("visible") == "1" and visible_by_default(str(doc_type))
        stream: Any = file  # an UploadedFile reads as a binary stream (its temporary file)
        document = services.do_upload(
            request.user,
            patient_id,
            services.Upload(stream, file.size, file.name),
            doc_type=doc_type,
            title=request.POST.get("title"),
            act_date=request.POST.get("act_date"),
            source=request.POST.get("source"),
            visible_to_patient=visible,
            request=request,
        )
    except services.DocumentError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        return _record_page(request, patient_id, failed=exc, status=exc.status)
    finally:
        multipart.close_upload(file)
    messages.success(request, _("The document was added to the record."))
    return redirect("documents:record", document.patient_id)


@login_required
@require_GET
def search_record(request: AuthedRequest, patient_id: str) -> HttpResponse:
    """Search the record: titles decrypted and matched in memory (``documents.search``)."""
    user = request.user
    patient, basis = access.access_record(user, patient_id, purpose=purposes.RECORD_SEARCH, request=request)
    query = search.parse_query(request.GET)
    context = {
        "patient": patient,
        "basis": basis,
        "query": query,
        "results": search.search(patient, basis, query) if query.active else [],
        "types": DocumentType.choices,
        "authors": timeline.authors(patient, basis),
    }
    return render(request, "documents/search.html", context)


@login_required
@require_POST
@reauthentication_required
def export_record(request: AuthedRequest, patient_id: str) -> StreamingHttpResponse:
    """The whole record as a ZIP (documents and a PDF index); a re-authenticated, audited export."""
    try:
        spool, size, _count = exports.do_export_record(request.user, patient_id, request=request)
    except services.DocumentError:
        raise Http404 from None
    response = StreamingHttpResponse(export.SpooledStream(spool), content_type="application/zip")
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition("dossier.zip")
    return _private(response)


@login_required
@require_GET
def document_page(request: AuthedRequest, document_id: str) -> HttpResponse:
    user = request.user
    document, basis = access.access_document(user, document_id, purpose=purposes.DOCUMENT_VIEW, request=request)
    versions = access.versions_of(document)
    professional = basis != "self" and user.kind == User.Kind.PROFESSIONAL
    context = {
        "document": document,
        "basis": basis,
        "versions": versions,
        "current": versions[0],
        "may_correct": not document.in_error and (professional or (basis == "self" and document.provided_by_patient)),
        "may_withdraw": not document.in_error and document.author_id == user.pk,
        "may_show": professional and not document.provided_by_patient,
        "share_targets": sharing.share_targets(user, document.patient_id) if professional else [],
        "max_bytes": settings.DOCUMENTS_MAX_BYTES,
    }
    return render(request, "documents/document.html", context)


def _professional(user: User, basis: str) -> bool:
    return basis != "self" and user.kind == User.Kind.PROFESSIONAL


@login_required
@require_POST
def share(request: AuthedRequest, document_id: str) -> HttpResponse:
    """Send the document into a conversation about the same patient (no copy of the file)."""
    try:
        result = sharing.do_share_to_conversation(
            request.user, document_id, request.POST.get("conversation"), note=request.POST.get("note"), request=request
        )
    except services.DocumentError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        messages.error(request, exc.message)
        return _back(document_id)
    messages.success(request, _("The document was shared in the conversation."))
    return redirect("messaging:conversation", result.message.conversation_id)


@login_required
@require_POST
def file_attachment(request: AuthedRequest, attachment_id: str) -> HttpResponse:
    """Add a file of a conversation about the patient to her record, in one click."""
    try:
        document = sharing.do_file_attachment(
            request.user, attachment_id, doc_type=request.POST.get("doc_type"), request=request
        )
    except services.DocumentError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        messages.error(request, exc.message)
        return _back_to_record(request)
    messages.success(request, _("The file was added to the record."))
    return redirect("documents:document", document.pk)


def _back_to_record(request: AuthedRequest) -> HttpResponse:
    try:
        patient_id = int(request.POST.get("patient", ""))
    except ValueError:
        raise Http404 from None
    return redirect("documents:record", patient_id)


@login_required
@require_POST
def new_version(request: AuthedRequest, document_id: str) -> HttpResponse:
    try:
        version = raw_uploads.new_version_from_headers(request, document_id)
    except services.DocumentError as exc:
        return _error(exc)
    messages.success(request, _("Version %(n)s was added.") % {"n": version.number})
    url = reverse("documents:document", args=[version.document_id])
    return JsonResponse({"id": version.pk, "number": version.number, "url": url}, status=201)


def _back(document_id: str) -> HttpResponse:
    return redirect("documents:document", document_id)


@login_required
@require_POST
def enter_in_error(request: AuthedRequest, document_id: str) -> HttpResponse:
    try:
        services.do_enter_in_error(request.user, document_id, reason=request.POST.get("reason"), request=request)
    except services.DocumentError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        messages.error(request, exc.message)
        return _back(document_id)
    messages.success(request, _("The document is marked as entered in error."))
    return _back(document_id)


@login_required
@require_POST
def set_visibility(request: AuthedRequest, document_id: str) -> HttpResponse:
    visible = request.POST.get("visible") == "1"
    try:
        services.do_set_visibility(request.user, document_id, visible=visible, request=request)
    except services.DocumentError as exc:
        if exc.code == "not_found":
            raise Http404 from None
        messages.error(request, exc.message)
        return _back(document_id)
    messages.success(request, _("The patient sees this document.") if visible else _("The patient no longer sees it."))
    return _back(document_id)


def _private(response: R) -> R:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def download(request: AuthedRequest, version_id: str) -> StreamingHttpResponse:
    """The file as uploaded, always as a download (``attachment``), under its sniffed type."""
    version, _basis = access.access_version(
        request.user, version_id, purpose=purposes.DOCUMENT_DOWNLOAD, request=request
    )
    content_type = version.content_type + ("; charset=utf-8" if version.content_type == "text/plain" else "")
    response = StreamingHttpResponse(aiter_blob(version.blob), content_type=content_type)  # streamed
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition(version.file_name or "document")
    return _private(response)


def _page_number(raw: Any, pages: int) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        raise Http404 from None
    if not 1 <= number <= max(pages, 1):
        raise Http404
    return number


@login_required
@require_GET
def preview(request: AuthedRequest, version_id: str) -> HttpResponse:
    """Cordée's own PNG/JPEG of an image, or of a page of a PDF (the first one is made at upload)."""
    version, _basis = access.access_version(
        request.user, version_id, purpose=purposes.DOCUMENT_VIEW, request=request, action=purposes.READ
    )
    number = _page_number(request.GET.get("page"), version.pages)
    if number == 1:
        if version.preview_blob is None:
            raise Http404
        data = b"".join(iter_blob(version.preview_blob))
    else:
        if version.preview != DocumentVersion.Preview.PDF:
            raise Http404
        rendered = pdf_preview(b"".join(iter_blob(version.blob)), number - 1)
        if rendered is None:
            raise Http404
        data = rendered
    response = HttpResponse(data, content_type="image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
    response["Content-Disposition"] = "inline"
    return _private(response)
