"""The prescriptions' JSON API (``/api/prescriptions/``): create a draft, add a line, check, sign,
get, cancel; for pharmacists verify (by number or QR text) and dispense.

Thin like the pages: prescriptions through ``access`` (reads audited), changes through
``services`` (audited). Ids in paths are text, so a forged one answers like a missing one (404).
The pharmacist's number travels in the body, never in a path.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from ninja import Router, Status

from cordee.lib.api import ERRORS, ApiError, ErrorOut, require_recent_authentication
from cordee.lib.http import AuthedRequest
from cordee.prescriptions import access, pdf, purposes, signatures
from cordee.prescriptions.models import Prescription
from cordee.prescriptions.schemas import (
    CancelIn,
    ChecksOut,
    DispenseIn,
    DraftIn,
    LineIn,
    PharmacyOut,
    PrescriptionOut,
    SignIn,
    VerifyIn,
)
from cordee.prescriptions.services import checks, drafts, lifecycle, signing
from cordee.prescriptions.services.dispensing import Dispensing, do_dispense
from cordee.prescriptions.services.errors import PrescriptionError
from cordee.vault.blobs import open_blob

router = Router(tags=["prescriptions"])
_WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}
_SIGN_ERRORS: dict[int, Any] = {**_WRITE_ERRORS, 503: ErrorOut}


def _failed(error: PrescriptionError) -> Exception:
    if error.code == "not_found":
        return Http404()
    return ApiError(error.status, error.message, error.code)


def _person(display: dict[str, Any]) -> dict[str, str]:
    return {"name": display.get("name", ""), "rpps": display.get("rpps", ""), "role": display.get("role", "")}


def _lines(prescription: Prescription) -> list[dict[str, Any]]:
    rows = []
    for line in prescription.lines.all():
        line.patient = prescription.patient
        title, details = pdf.line_text(line)
        content = line.content
        rows.append(
            {
                "id": line.pk,
                "kind": line.kind,
                "title": title,
                "details": details,
                "cis": content.get("cis", ""),
                "cip13": content.get("cip13", ""),
                "substance_code": content.get("substance_code", ""),
                "quantity": line.quantity,
                "renewals": line.renewals,
                "dispensing_round": line.dispensing_round,
                "dispensed_in_round": line.dispensed_in_round,
                "fully_dispensed": line.fully_dispensed,
                "ald": bool(content.get("ald")),
                "non_substituable": content.get("non_substituable", ""),
            }
        )
    return rows


def _prescription(prescription: Prescription) -> dict[str, Any]:
    return {
        "id": prescription.pk,
        "number": prescription.number,
        "patient_id": prescription.patient_id,
        "status": prescription.shown_status,
        "prescriber": _person(prescription.prescriber_display),
        "bizone": prescription.bizone,
        "created_at": prescription.created_at,
        "signed_at": prescription.signed_at,
        "valid_until": prescription.valid_until,
        "cancelled_at": prescription.cancelled_at,
        "lines": _lines(prescription),
    }


# The pharmacist's operations first: their paths would otherwise match ``/{prescription_id}``.


def _pharmacy(prescription: Prescription) -> dict[str, Any]:
    validation = None
    if prescription.pdf_blob is not None:
        with open_blob(prescription.pdf_blob) as handle:
            validation = signatures.validate_pdf(handle.read())
    return {
        "number": prescription.number,
        "status": prescription.shown_status,
        "signed_at": prescription.signed_at,
        "valid_until": prescription.valid_until,
        "prescriber": _person(prescription.prescriber_display),
        "signature": {
            "valid": bool(validation and validation.valid),
            "intact": bool(validation and validation.intact),
            "trusted": bool(validation and validation.trusted),
            "signer_name": validation.signer_name if validation else "",
            "signer_rpps": validation.signer_rpps if validation else "",
            "problem": (validation.problem or "") if validation else "no PDF",
        },
        "lines": _lines(prescription),
    }


@router.post("/verify", response={200: PharmacyOut, **ERRORS}, summary="A pharmacist opens a prescription")
def verify(request: AuthedRequest, data: VerifyIn) -> dict[str, Any]:
    """By its number, or by the text of its QR code (whose signature must be this deployment's)."""
    number = data.number
    if data.qr:
        try:
            number = str(signatures.verify_qr(data.qr).get("id", ""))
        except signatures.InvalidQrPayload:
            raise ApiError(400, "This QR code was not signed by this Cordée.", "invalid_qr") from None
    return _pharmacy(access.access_for_dispensing(request.user, number, request=request))


@router.post("/dispense", response={200: PharmacyOut, **_WRITE_ERRORS}, summary="Dispense a line")
def dispense(request: AuthedRequest, data: DispenseIn) -> dict[str, Any]:
    try:
        do_dispense(request.user, data.number, Dispensing(data.line_id, data.quantity, data.cip13), request=request)
    except PrescriptionError as error:
        raise _failed(error) from None
    return _pharmacy(access.access_for_dispensing(request.user, data.number, request=request, audit=False))


@router.post(
    "/patients/{patient_id}/drafts", response={201: PrescriptionOut, **_WRITE_ERRORS}, summary="Create a draft"
)
def create_draft(request: AuthedRequest, patient_id: str, data: DraftIn) -> Status:
    try:
        prescription = drafts.do_create_draft(
            request.user, patient_id, bizone=data.bizone, weight=data.weight_kg, request=request
        )
    except PrescriptionError as error:
        raise _failed(error) from None
    return Status(201, _prescription(prescription))


@router.post(
    "/{prescription_id}/lines", response={201: PrescriptionOut, **_WRITE_ERRORS}, summary="Add a line to a draft"
)
def add_line(request: AuthedRequest, prescription_id: str, data: LineIn) -> Status:
    try:
        line = drafts.do_add_line(request.user, prescription_id, data.dict(), request=request)
    except PrescriptionError as error:
        raise _failed(error) from None
    return Status(201, _prescription(line.prescription))


@router.get("/{prescription_id}/check", response={200: ChecksOut, **ERRORS}, summary="The checks before signing")
def check(request: AuthedRequest, prescription_id: str) -> dict[str, Any]:
    prescription, _basis = access.access_prescription(
        request.user, prescription_id, purpose=purposes.WRITE, request=request
    )
    if not prescription.is_draft or prescription.prescriber_id != request.user.pk:
        raise Http404
    findings = checks.check(prescription)
    return {
        "findings": [f.as_dict() for f in findings],
        "may_sign": not checks.blocking(findings, overridden=False),
        "needs_override": any(f.overridable for f in findings),
    }


@router.post("/{prescription_id}/sign", response={200: PrescriptionOut, **_SIGN_ERRORS}, summary="Sign a draft")
def sign(request: AuthedRequest, prescription_id: str, data: SignIn) -> dict[str, Any]:
    """Needs a recent sign-in, as the page does (sudo mode): else 403 ``reauthentication_required``."""
    require_recent_authentication(request)
    try:
        prescription = signing.do_sign(
            request.user, prescription_id, override_reason=data.override_reason, request=request
        )
    except PrescriptionError as error:
        raise _failed(error) from None
    return _prescription(prescription)


@router.get("/{prescription_id}", response={200: PrescriptionOut, **ERRORS}, summary="A prescription")
def get_prescription(request: AuthedRequest, prescription_id: str) -> dict[str, Any]:
    prescription, _basis = access.access_prescription(
        request.user, prescription_id, purpose=purposes.VIEW, request=request
    )
    return _prescription(prescription)


@router.post("/{prescription_id}/cancel", response={200: PrescriptionOut, **_WRITE_ERRORS}, summary="Cancel")
def cancel(request: AuthedRequest, prescription_id: str, data: CancelIn) -> dict[str, Any]:
    try:
        prescription = lifecycle.do_cancel(request.user, prescription_id, reason=data.reason, request=request)
    except PrescriptionError as error:
        raise _failed(error) from None
    return _prescription(prescription)
