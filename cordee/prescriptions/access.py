"""The only ways to reach a prescription; each read audited with the patient named.

- ``access_prescription``: by its internal id, for whoever may open its patient through the care
  relationship (``care.access``): the prescriber and the care team (break-the-glass included), and
  the patient herself for her signed prescriptions. A draft is seen only by its prescriber.
- ``access_for_dispensing``: by its public number (typed, or read from the QR), for a verified
  pharmacist (RPPS profession 21) only, and only once signed. The pharmacist is not in the care
  team: the number is the capability, and the page shows only what dispensing needs.

A forged id, another patient's prescription, a draft of another prescriber and one that does not
exist are the same ``Http404`` (``refuse`` audits the refusal).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Patient, User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care.access import Basis, access_patient_with_basis, actor_structures
from cordee.care.purposes import under_break_glass
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.prescriptions import purposes
from cordee.prescriptions.models import Prescription

PRESCRIPTION = "prescriptions.prescription"
PHARMACIST = "21"
_NUMBER = re.compile(r"^RX-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")


def record_entry(
    action: str, user: Any, prescription: Prescription, basis: str, purpose: str, request: Any, **details: Any
) -> None:
    """An ``access`` entry about ``prescription``: the patient sees it in her history."""
    audit_trail.record(
        action,
        actor=user,
        request=request,
        target=prescription,
        patient_id=prescription.patient_id,
        purpose=under_break_glass(purpose) if basis == "break_glass" else purpose,
        category=AuditEntry.Category.ACCESS,
        details={"basis": basis, "structure": actor_structures(user), "number": prescription.number, **details},
    )


def access_prescription(
    user: Any,
    prescription_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.READ,
    audit: bool = True,
    lock: bool = False,
) -> tuple[Prescription, Basis]:
    """A prescription ``user`` may open and the basis, else ``Http404``. ``audit=False`` only for
    a ``do_*`` that writes its own entry; ``lock`` (inside its transaction) takes the row lock."""
    try:
        pk = parse_id(prescription_id)
    except Http404:
        refuse(user, target_type=PRESCRIPTION, raw_id=prescription_id, purpose=purpose, request=request)
    rows = Prescription.objects.filter(pk=pk)
    prescription = (rows.select_for_update() if lock else rows).select_related("patient").first()
    if prescription is None:
        refuse(user, target_type=PRESCRIPTION, raw_id=pk, purpose=purpose, request=request)
    try:
        _patient, basis = access_patient_with_basis(user, prescription.patient_id, purpose=purpose, audit=False)
    except Http404:
        refuse(user, target_type=PRESCRIPTION, raw_id=pk, purpose=purpose, request=request)
    if prescription.is_draft and prescription.prescriber_id != user.pk:
        refuse(user, target_type=PRESCRIPTION, raw_id=pk, purpose=purpose, request=request)
    if audit:
        record_entry(action, user, prescription, basis, purpose, request)
    return prescription, basis


def is_pharmacist(user: Any) -> bool:
    professional = verified_professional(user)
    return professional is not None and professional.profession_code == PHARMACIST


def clean_number(raw: Any) -> str:
    text = "".join(str(raw or "").upper().split())
    if text and not text.startswith("RX-") and len(text) == 12:
        text = f"RX-{text[:4]}-{text[4:8]}-{text[8:]}"
    if len(text) == 14 and text.startswith("RX") and "-" not in text[2:]:
        text = f"RX-{text[2:6]}-{text[6:10]}-{text[10:]}"
    return text


def access_for_dispensing(
    user: Any,
    number: Any,
    *,
    purpose: str = purposes.VERIFY,
    request: HttpRequest | None = None,
    action: str = purposes.VERIFIED,
    audit: bool = True,
    lock: bool = False,
) -> Prescription:
    """The signed prescription of public ``number`` for a verified pharmacist, else ``Http404``."""
    text = clean_number(number)
    if not _NUMBER.match(text) or not is_pharmacist(user):
        refuse(user, target_type=PRESCRIPTION, raw_id=text or number, purpose=purpose, request=request)
    rows = Prescription.objects.filter(number=text).exclude(status=Prescription.Status.DRAFT)
    prescription = (rows.select_for_update() if lock else rows).select_related("patient").first()
    if prescription is None:
        refuse(user, target_type=PRESCRIPTION, raw_id=text, purpose=purpose, request=request)
    if audit:
        record_entry(action, user, prescription, "pharmacist", purpose, request)
    return prescription


def prescriptions_of(patient: Patient, user: User, basis: Basis) -> QuerySet[Prescription]:
    """A patient's prescriptions the reader sees (drafts: only the reader's own)."""
    rows = Prescription.objects.filter(patient=patient)
    if basis == "self":
        rows = rows.exclude(status=Prescription.Status.DRAFT)
    else:
        rows = rows.exclude(status=Prescription.Status.DRAFT) | rows.filter(prescriber=user)
    return rows.order_by("-created_at", "-pk")
