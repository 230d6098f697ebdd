"""Signing: checks, the PDF with its QR, the PAdES signature, then the record and the patient.

One transaction: the prescription becomes signed (immutable: every later change is a status), its
signed PDF is filed in the patient's record (encrypted with her key, visible to her) and sent to
her in her conversation with the prescriber when she has a Cordée account. A contraindication is
signed through only with a reason, kept encrypted and audited as an override.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.accounts.models import User
from cordee.documents.services.files import DocumentError, Upload, do_upload
from cordee.documents.services.sharing import do_share_to_conversation
from cordee.messaging.models import Conversation
from cordee.messaging.services.conversations import do_start_patient_thread
from cordee.prescriptions import access, pdf, purposes, signatures
from cordee.prescriptions.models import Prescription, PrescriptionLine
from cordee.prescriptions.services import checks
from cordee.prescriptions.services.drafts import _own_draft
from cordee.prescriptions.services.errors import PrescriptionError

logger = logging.getLogger(__name__)
FIRST_DISPENSING = dt.timedelta(days=92)  # three months (CSP R.5132-22)
STUPEFIANT_FIRST = dt.timedelta(days=3)  # presented within 3 days, else shortened (R.5132-33)
RENEWALS_LIMIT = dt.timedelta(days=366)


def _code(line: PrescriptionLine) -> str:
    content = line.content
    if content.get("cip13"):
        return f"cip13:{content['cip13']}"
    if content.get("cis"):
        return f"cis:{content['cis']}"
    return f"sub:{content.get('substance_code', '')}"


def qr_payload(prescription: Prescription, lines: list[PrescriptionLine], day: dt.date) -> dict[str, Any]:
    """The QR's compact payload: nothing more identifying than initials and birth year."""
    patient = prescription.patient
    given = patient.used_given_name or patient.first_birth_given_name
    family = patient.used_name or patient.birth_name
    return {
        "v": 1,
        "id": prescription.number,
        "d": day.isoformat(),
        "rpps": prescription.prescriber_display.get("rpps", ""),
        "pi": f"{given[:1]}{family[:1]}".upper(),
        "py": patient.birth_date.year if patient.birth_date else None,
        "l": [
            {"c": _code(line), "q": line.quantity, "r": line.renewals}
            for line in lines
            if line.kind != PrescriptionLine.Kind.FREE
        ],
    }


def _send_to_patient(user: User, prescription: Prescription, request: HttpRequest | None) -> None:
    """Into the patient's conversation with the prescriber (started if needed), when she has an account."""
    if prescription.document_id is None:  # filed just before, in the same transaction
        return
    conversation = Conversation.objects.filter(
        pair_key=f"p:{user.pk}:{prescription.patient_id}", closed_at__isnull=True
    ).first()
    if conversation is None:
        try:
            conversation = do_start_patient_thread(user, prescription.patient_id, request=request)
        except ValidationError:
            return  # no account to write to yet, or she closed the thread: the record has it
    do_share_to_conversation(user, prescription.document_id, conversation.pk, request=request)


def do_sign(
    user: User, prescription_id: Any, *, override_reason: Any = "", request: HttpRequest | None = None
) -> Prescription:
    reason = " ".join(str(override_reason or "").split())[:1000]
    with transaction.atomic():
        prescription, basis = _own_draft(user, prescription_id, request)
        findings = checks.check(prescription)
        if any(f.code == "empty" for f in findings):
            raise PrescriptionError("empty")
        overridable = [f for f in findings if f.overridable]
        if checks.blocking(findings, overridden=bool(reason)):
            raise PrescriptionError(
                "override_reason"
                if overridable and not [f for f in checks.blocking(findings, overridden=True)]
                else "blocked"
            )
        now = timezone.now()
        day = timezone.localdate(now)
        lines = list(prescription.lines.all())
        for line in lines:
            line.patient = prescription.patient
        stupefiant = any(line.content.get("conditions", {}).get("stupefiant") for line in lines)
        qr_text = signatures.sign_qr(qr_payload(prescription, lines, day), actor=user, request=request)
        try:
            signed = signatures.sign_pdf(
                pdf.render(prescription, qr_text=qr_text, signed_on=day),
                user,
                reason=f"Ordonnance {prescription.number}",
                request=request,
            )
        except Exception:
            logger.exception("signing prescription %s failed", prescription.pk)
            raise PrescriptionError("signing") from None
        try:
            document = do_upload(
                user,
                prescription.patient_id,
                Upload(io.BytesIO(signed), len(signed), f"ordonnance-{prescription.number}.pdf"),
                doc_type="ordonnance",
                title=f"Ordonnance {prescription.number}",
                act_date=day,
                visible_to_patient=True,
                request=request,
            )
        except DocumentError:
            raise PrescriptionError("signing") from None
        prescription.status = Prescription.Status.SIGNED
        prescription.signed_at = now
        prescription.valid_until = day + (STUPEFIANT_FIRST if stupefiant else FIRST_DISPENSING)
        prescription.renewals_until = day + RENEWALS_LIMIT
        prescription.qr_text = qr_text
        prescription.document = document
        prescription.pdf_blob = document.versions.get(number=1).blob
        fields = ["status", "signed_at", "valid_until", "renewals_until", "qr_text", "document", "pdf_blob"]
        if overridable and reason:
            prescription.override_reason = reason
            fields.append("override_reason")
            access.record_entry(purposes.OVERRIDDEN, user, prescription, basis, purposes.SIGN, request)
        prescription.save(update_fields=fields)
        access.record_entry(
            purposes.SIGNED, user, prescription, basis, purposes.SIGN, request,
            lines=len(lines),
        )  # fmt: skip
        _send_to_patient(user, prescription, request)
    return prescription
