"""Pages of the prescriptions: a patient's list, writing a draft, the signed prescription, the
patient's own list, and the pharmacist's counter. Prescriptions are reached only through
``access``; changes go through ``services``. The pharmacist's number travels in POST bodies, never
in a URL (a URL lands in logs and histories).
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.accounts.guards import can_prescribe
from cordee.accounts.models import User
from cordee.care.access import access_patient_with_basis
from cordee.drugs.models import Composition
from cordee.drugs.search import QueryError, search
from cordee.lib.http import AuthedRequest
from cordee.messaging.services.attachments import content_disposition
from cordee.prescriptions import access, pdf, posology, purposes, signatures
from cordee.prescriptions.models import Prescription
from cordee.prescriptions.services import checks, drafts, lifecycle, signing
from cordee.prescriptions.services.dispensing import Dispensing, do_dispense
from cordee.prescriptions.services.errors import PrescriptionError
from cordee.vault.blobs import open_blob


def _failed(request: AuthedRequest, error: PrescriptionError) -> None:
    if error.code == "not_found":
        raise Http404
    messages.error(request, error.message)


def shown_lines(prescription: Prescription) -> list[dict[str, Any]]:
    rows = []
    for line in prescription.lines.all():
        line.patient = prescription.patient
        title, details = pdf.line_text(line)
        rows.append({"line": line, "title": title, "details": details, "ald": line.content.get("ald", False)})
    return rows


@login_required
@require_GET
def patient_list(request: AuthedRequest, patient_id: str) -> HttpResponse:
    patient, basis = access_patient_with_basis(request.user, patient_id, purpose=purposes.VIEW, request=request)
    rows = list(access.prescriptions_of(patient, request.user, basis)[:100])
    return render(
        request,
        "prescriptions/patient.html",
        {"patient": patient, "basis": basis, "prescriptions": rows, "may_prescribe": can_prescribe(request.user)},
    )


@login_required
@require_GET
def mine(request: AuthedRequest) -> HttpResponse:
    patient = getattr(request.user, "patient", None) if request.user.kind == User.Kind.PATIENT else None
    if patient is None:
        raise Http404
    return redirect("prescriptions:patient", patient.pk)


@login_required
@require_POST
def create(request: AuthedRequest, patient_id: str) -> HttpResponse:
    try:
        prescription = drafts.do_create_draft(
            request.user, patient_id, bizone=request.POST.get("bizone") == "1", request=request
        )
    except PrescriptionError as error:
        _failed(request, error)
        return redirect("prescriptions:patient", patient_id)
    return redirect("prescriptions:detail", prescription.pk)


@login_required
@require_GET
def detail(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    prescription, basis = access.access_prescription(
        request.user, prescription_id, purpose=purposes.VIEW, request=request
    )
    context: dict[str, Any] = {
        "prescription": prescription,
        "basis": basis,
        "lines": shown_lines(prescription),
        "is_prescriber": prescription.prescriber_id == request.user.pk,
        "may_prescribe": can_prescribe(request.user),
    }
    if prescription.is_draft:
        findings = checks.check(prescription)
        context.update(
            findings=findings,
            needs_override=any(f.overridable for f in findings),
            routes=posology.ROUTES,
            periods=posology.PERIODS,
            reasons=drafts.NON_SUBSTITUTION,
        )
    return render(request, "prescriptions/detail.html", context)


@login_required
@require_GET
def drug_search(request: AuthedRequest) -> HttpResponse:
    """The add-line form's results as you type (htmx): products and their substances, to pick one."""
    if not can_prescribe(request.user):
        raise Http404
    query = str(request.GET.get("q") or "").strip()[:200]
    hits: list[Any] = []
    error = ""
    if len(query) >= 2:
        try:
            hits = search(query, limit=12).exact
        except QueryError as exc:
            error = exc.message
    substances: dict[str, list[tuple[str, str]]] = {}
    rows = Composition.objects.filter(cis__in=[hit.doc.cis for hit in hits], nature="SA").exclude(substance_code="")
    for cis, code, name in rows.values_list("cis", "substance_code", "substance_name"):
        substances.setdefault(cis, []).append((code, name))
    options = [{"hit": hit, "substances": substances.get(hit.doc.cis, [])} for hit in hits]
    return render(request, "prescriptions/_drug_results.html", {"options": options, "query": query, "error": error})


@login_required
@require_POST
def add_line(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    data: dict[str, Any] = {key: request.POST.get(key, "") for key in (
        "kind", "code", "dose", "unit", "times", "per", "duration_days", "route", "timing", "instructions",
        "quantity", "renewals", "non_substituable", "text")}  # fmt: skip
    choice = str(request.POST.get("choice") or "")  # "cis:…" or "sub:…" from the search results
    if choice.startswith("sub:"):
        data.update(kind="substance", code=choice[4:])
    elif choice.startswith("cis:"):
        data.update(kind="product", code=choice[4:])
    data["ald"] = request.POST.get("ald") == "1"
    try:
        drafts.do_add_line(request.user, prescription_id, data, request=request)
    except PrescriptionError as error:
        _failed(request, error)
    return redirect("prescriptions:detail", prescription_id)


@login_required
@require_POST
def remove_line(request: AuthedRequest, prescription_id: str, line_id: str) -> HttpResponse:
    try:
        drafts.do_remove_line(request.user, prescription_id, line_id, request=request)
    except PrescriptionError as error:
        _failed(request, error)
    return redirect("prescriptions:detail", prescription_id)


@login_required
@require_POST
def set_options(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    try:
        drafts.do_set_options(
            request.user,
            prescription_id,
            bizone=request.POST.get("bizone") == "1",
            weight=request.POST.get("weight", ""),
            request=request,
        )
    except PrescriptionError as error:
        _failed(request, error)
    return redirect("prescriptions:detail", prescription_id)


@login_required
@reauthentication_required
@require_POST
def sign(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    try:
        signing.do_sign(
            request.user, prescription_id, override_reason=request.POST.get("override_reason", ""), request=request
        )
    except PrescriptionError as error:
        _failed(request, error)
    else:
        messages.success(request, _("Prescription signed, filed in the patient's record and sent to the patient."))
    return redirect("prescriptions:detail", prescription_id)


@login_required
@require_POST
def cancel(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    try:
        lifecycle.do_cancel(request.user, prescription_id, reason=request.POST.get("reason", ""), request=request)
    except PrescriptionError as error:
        _failed(request, error)
    else:
        messages.success(request, _("Prescription cancelled."))
    return redirect("prescriptions:detail", prescription_id)


@login_required
@require_POST
def renew(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    try:
        new = lifecycle.do_renew(request.user, prescription_id, request=request)
    except PrescriptionError as error:
        _failed(request, error)
        return redirect("prescriptions:detail", prescription_id)
    return redirect("prescriptions:detail", new.pk)


@login_required
@require_GET
def download(request: AuthedRequest, prescription_id: str) -> HttpResponse:
    prescription, _basis = access.access_prescription(
        request.user, prescription_id, purpose=purposes.VIEW, request=request
    )
    if prescription.pdf_blob is None:
        raise Http404
    with open_blob(prescription.pdf_blob) as handle:
        body = handle.read()
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"ordonnance-{prescription.number}.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the pharmacist's counter ---------------------------------------------------------------


def _pharmacist_only(request: AuthedRequest) -> None:
    if not access.is_pharmacist(request.user):
        raise Http404


def _counter(request: AuthedRequest, prescription: Prescription | None, *, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"prescription": prescription}
    if prescription is not None:
        validation = None
        if prescription.pdf_blob is not None:
            with open_blob(prescription.pdf_blob) as handle:
                validation = signatures.validate_pdf(handle.read())
        context.update(lines=shown_lines(prescription), validation=validation)
    response = render(request, "prescriptions/pharmacy.html", context, status=status)
    # The one page that may use the camera (to read the QR code), from this origin only.
    response["Permissions-Policy"] = settings.PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")
    return response


@login_required
@require_GET
def pharmacy(request: AuthedRequest) -> HttpResponse:
    _pharmacist_only(request)
    return _counter(request, None)


def _number_of(request: AuthedRequest) -> str:
    """The number typed, or the one in a scanned QR (verified: a QR of another deployment is refused)."""
    scanned = str(request.POST.get("qr") or "").strip()
    if scanned:
        try:
            return str(signatures.verify_qr(scanned).get("id", ""))
        except signatures.InvalidQrPayload:
            messages.error(request, _("This QR code was not signed by this Cordée: it cannot be trusted."))
            return ""
    return str(request.POST.get("number") or "")


@login_required
@require_POST
def pharmacy_open(request: AuthedRequest) -> HttpResponse:
    _pharmacist_only(request)
    number = _number_of(request)
    try:
        prescription = access.access_for_dispensing(request.user, number, request=request) if number else None
    except Http404:
        prescription = None
    if prescription is None:
        if number:
            messages.error(request, _("No prescription with this number is open to you."))
        return _counter(request, None, status=404 if number else 400)
    return _counter(request, prescription)


@login_required
@require_POST
def pharmacy_dispense(request: AuthedRequest) -> HttpResponse:
    _pharmacist_only(request)
    number = str(request.POST.get("number") or "")
    try:
        do_dispense(
            request.user,
            number,
            Dispensing(request.POST.get("line"), request.POST.get("quantity"), request.POST.get("cip13", "")),
            request=request,
        )
    except PrescriptionError as error:
        if error.code == "not_found":
            raise Http404 from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("Dispensing recorded."))
    prescription = access.access_for_dispensing(request.user, number, request=request)
    return _counter(request, prescription)
