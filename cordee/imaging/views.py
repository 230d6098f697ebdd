"""Pages of imaging: a patient's studies (and the upload), a study's viewer, the inbox.

Studies are reached only through ``imaging.access``; changes go through ``imaging.services``.
Uploads use the resumable chunked protocol of ``services.uploads`` (JSON in, JSON out; driven by
``static/imaging/upload.js`` with a progress bar per file).
"""

from __future__ import annotations

import json
from typing import Any

from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.models import User
from cordee.care.access import access_patient
from cordee.imaging import access, purposes, refusals
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.services import deidentify, reconcile, sharing, uploads
from cordee.lib.http import AuthedRequest

NO_STORE = "no-store, private"


@login_required
@require_GET
def my_studies(request: AuthedRequest) -> HttpResponse:
    patient = getattr(request.user, "patient", None) if request.user.kind == User.Kind.PATIENT else None
    if patient is None:
        raise Http404
    return redirect("imaging:studies", patient.pk)


@login_required
@require_GET
def studies(request: AuthedRequest, patient_id: str) -> HttpResponse:
    patient, basis, found = access.access_studies(
        request.user, patient_id, purpose=purposes.STUDIES_VIEW, request=request
    )
    context: dict[str, Any] = {
        "patient": patient,
        "basis": basis,
        "studies": list(found),
        "may_upload": request.user.kind == User.Kind.PROFESSIONAL,
    }
    if basis == "self":
        context["views"] = access.views_of(patient)
    return render(request, "imaging/studies.html", context)


def _json(request: AuthedRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@login_required
@require_POST
def start_upload(request: AuthedRequest, patient_id: str) -> JsonResponse:
    if request.user.kind != User.Kind.PROFESSIONAL:
        raise Http404
    patient = access_patient(request.user, patient_id, purpose=purposes.STUDY_UPLOAD, request=request)
    size = _json(request).get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        return JsonResponse({"detail": _("Give the size of the file."), "code": "bad_size"}, status=400)
    try:
        upload = uploads.do_start(patient, by=request.user, size=size)
    except DicomRefused as refusal:
        status = 409 if refusal.code == "erased" else 413
        return JsonResponse({"detail": refusals.text(refusal), "code": refusal.code}, status=status)
    return JsonResponse({"token": upload.token, "chunk": _chunk_size(), "received": 0}, status=201)


def _chunk_size() -> int:
    from django.conf import settings

    return int(settings.IMAGING_UPLOAD_CHUNK_BYTES)


@login_required
@require_http_methods(["GET", "PUT"])
def upload_chunk(request: AuthedRequest, token: str) -> JsonResponse:
    upload = uploads.upload_of(request.user, token)
    access_patient(request.user, upload.patient_id, purpose=purposes.STUDY_UPLOAD, request=request, audit=False)
    if request.method == "GET":
        return JsonResponse({"received": upload.received, "size": upload.size, "done": upload.finished_at is not None})
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return JsonResponse({"detail": _("Upload-Offset is missing."), "code": "bad_offset"}, status=400)
    # Read from the stream (not request.body, capped by DATA_UPLOAD_MAX_MEMORY_SIZE for forms):
    # the chunk size is this protocol's own limit.
    chunk = request.read(_chunk_size() + 1)
    if len(chunk) > _chunk_size():
        return JsonResponse({"detail": _("This chunk is too large."), "code": "too_large"}, status=413)
    try:
        outcome = uploads.do_append(upload, offset, chunk, by=request.user, request=request)
    except uploads.OffsetMismatch as mismatch:
        return JsonResponse({"detail": _("Resume from the offset given."), "received": mismatch.received}, status=409)
    if outcome is None:
        return JsonResponse({"received": offset + len(chunk), "done": False})
    return JsonResponse({"received": upload.size, "done": True, **outcome.as_dict()})


# The viewer's DICOM codecs are WebAssembly (Cornerstone3D, docs/decisions/0018-…): compiling them
# needs 'wasm-unsafe-eval', on this page only; no 'unsafe-eval', no inline script. Its measurement
# labels are SVG text with a style attribute (a style attribute runs nothing, and img-src still
# keeps any url() to Cordée's own origin).
@csp_update(  # type: ignore[arg-type]  # django-csp types views as taking only the request
    {"script-src": ["'wasm-unsafe-eval'"], "style-src-attr": ["'unsafe-inline'"]}
)
@login_required
@require_GET
def study_page(request: AuthedRequest, study_id: str) -> HttpResponse:
    study, basis = access.access_study(request.user, study_id, purpose=purposes.STUDY_VIEW, request=request)
    series = access.series_of(study)
    context = {
        "study": study,
        "basis": basis,
        "series": series,
        "may_export": request.user.kind == User.Kind.PROFESSIONAL and study.patient_id is not None,
        "share_targets": sharing.share_targets(request.user, study) if basis != "self" else [],
    }
    response = render(request, "imaging/study.html", context)
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_POST
def export(request: AuthedRequest, study_id: str) -> HttpResponse:
    if request.user.kind != User.Kind.PROFESSIONAL:
        raise Http404
    study, basis = access.access_study(
        request.user, study_id, purpose=purposes.STUDY_EXPORT, request=request, audit=False
    )
    if study.patient_id is None:
        raise Http404
    try:
        data = deidentify.do_export(study, by=request.user, basis=basis, request=request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("imaging:study", study.pk)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="etude-{study.pk}-anonymisee.zip"'
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_GET
def inbox(request: AuthedRequest) -> HttpResponse:
    if request.user.kind != User.Kind.PROFESSIONAL:
        raise Http404
    waiting = list(access.inbox_of(request.user))
    return render(request, "imaging/inbox.html", {"studies": waiting})


@login_required
@require_http_methods(["GET", "POST"])
def reconcile_study(request: AuthedRequest, study_id: str) -> HttpResponse:
    if request.user.kind != User.Kind.PROFESSIONAL:
        raise Http404
    study, basis = access.access_study(request.user, study_id, purpose=purposes.STUDY_RECONCILE, request=request)
    if basis != access.INBOX:
        return redirect("imaging:study", study.pk)
    if request.method == "POST":
        patient = access_patient(
            request.user, request.POST.get("patient", ""), purpose=purposes.STUDY_RECONCILE, request=request
        )
        try:
            reconcile.do_reconcile(study, patient, by=request.user, request=request)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("imaging:inbox")
        messages.success(request, _("The study is attached to the patient's record."))
        return redirect("imaging:study", study.pk)
    proposals = reconcile.proposals(request.user, study, request=request)
    return render(request, "imaging/reconcile.html", {"study": study, "proposals": proposals})


@login_required
@require_POST
def share(request: AuthedRequest, study_id: str) -> HttpResponse:
    study, basis = access.access_study(
        request.user, study_id, purpose=purposes.STUDY_SHARE, request=request, audit=False
    )
    result = sharing.do_share(request.user, study, basis, request.POST.get("conversation", ""), request=request)
    messages.success(request, _("The study is shared in the conversation."))
    return redirect("messaging:conversation", result.message.conversation_id)
