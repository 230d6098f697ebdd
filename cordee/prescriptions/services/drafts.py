"""Writing a prescription: the draft, its lines (from the BDPM or free text), its options.

A draft belongs to its prescriber: only they see and change it (``access.access_prescription``).
Each line's content (codes, label, posology, instructions) is one JSON document encrypted with the
patient's key; a line is checked when it is added (unknown or withdrawn product, posology, quantity,
renewals, non-substitution reason), the prescription as a whole before signing (``checks``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest

from cordee.accounts.guards import can_prescribe
from cordee.accounts.models import Membership, User
from cordee.audit import services as audit_trail
from cordee.care.access import access_patient_with_basis
from cordee.prescriptions import access, bdpm, posology, purposes
from cordee.prescriptions.models import Prescription, PrescriptionLine
from cordee.prescriptions.services.errors import PrescriptionError

MAX_LINES = 30
MAX_RENEWALS = 11  # a year of monthly dispensings at most (CSP R.5132-21 / R.5132-22)
NON_SUBSTITUTION = {
    "MTE": "non substituable (MTE)",  # marge thérapeutique étroite
    "EFG": "non substituable (EFG)",  # enfant de moins de 6 ans, pas de générique adapté
    "CIF": "non substituable (CIF)",  # contre-indication formelle à un excipient
}


def prescriber_of(user: Any) -> None:
    if not can_prescribe(user):
        raise PrescriptionError("not_prescriber")


def _own_draft(user: User, prescription_id: Any, request: HttpRequest | None) -> tuple[Prescription, str]:
    prescriber_of(user)
    try:
        prescription, basis = access.access_prescription(
            user, prescription_id, purpose=purposes.WRITE, request=request, audit=False, lock=True
        )
    except Http404:
        raise PrescriptionError("not_found") from None
    if not prescription.is_draft:
        raise PrescriptionError("not_draft")
    return prescription, basis


def clean_weight(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).replace(",", ".").strip())
    except (InvalidOperation, ValueError):
        raise PrescriptionError("weight") from None
    if not value.is_finite() or not Decimal("0.3") <= value <= 400:
        raise PrescriptionError("weight")
    return value.quantize(Decimal("0.1"))


def _structure_of(user: User) -> Any:
    membership = Membership.objects.filter(user=user).select_related("structure").order_by("joined_at").first()
    return membership.structure if membership else None


def do_create_draft(
    user: User,
    patient_id: Any,
    *,
    bizone: bool = False,
    weight: Any = None,
    request: HttpRequest | None = None,
) -> Prescription:
    """A new, empty draft for a patient the prescriber may open (care team, break-the-glass)."""
    prescriber_of(user)
    try:
        patient, basis = access_patient_with_basis(user, patient_id, purpose=purposes.WRITE, audit=False)
    except Http404:
        raise PrescriptionError("not_found") from None
    if basis == "self":
        raise PrescriptionError("not_prescriber")
    with transaction.atomic():
        prescription = Prescription.objects.create(
            patient=patient,
            prescriber=user,
            prescriber_display=audit_trail.actor_display(user),
            structure=_structure_of(user),
            bizone=bool(bizone),
            weight_kg=clean_weight(weight),
        )
        access.record_entry(purposes.DRAFTED, user, prescription, basis, purposes.WRITE, request)
    return prescription


def _whole(raw: Any, code: str, *, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise PrescriptionError(code) from None
    if not low <= value <= high:
        raise PrescriptionError(code)
    return value


def build_line(data: dict[str, Any]) -> tuple[str, dict[str, Any], int, int]:
    """(kind, content, quantity, renewals) of a line as typed; ``PrescriptionError`` if refused."""
    kind = str(data.get("kind") or "")
    quantity = _whole(data.get("quantity", 1), "quantity", low=1, high=999)
    renewals = _whole(data.get("renewals") or 0, "renewals", low=0, high=MAX_RENEWALS)
    ald = bool(data.get("ald"))
    if kind == PrescriptionLine.Kind.FREE:
        text = " ".join(str(data.get("text") or "").split())[:1000]
        if not text:
            raise PrescriptionError("text")
        return kind, {"kind": kind, "text": text, "ald": ald}, quantity, renewals
    if kind not in (PrescriptionLine.Kind.PRODUCT, PrescriptionLine.Kind.SUBSTANCE):
        raise PrescriptionError("kind")
    reason = str(data.get("non_substituable") or "").upper()
    if reason and reason not in NON_SUBSTITUTION:
        raise PrescriptionError("non_substitution")
    content: dict[str, Any] = {"kind": kind, "ald": ald, "non_substituable": reason}
    try:
        content["posology"] = posology.clean(data)
        if kind == PrescriptionLine.Kind.PRODUCT:
            product, presentation = bdpm.resolve_product(str(data.get("code") or ""))
            content.update(cis=product.cis, label=product.name, cip13=presentation.cip13 if presentation else "")
            if presentation is not None:
                content["box"] = presentation.label
            conditions = bdpm.conditions_of(product.cis)
        else:
            code, name, cis = bdpm.resolve_substance(str(data.get("code") or ""))
            if reason:
                raise PrescriptionError("non_substitution")  # an INN line is substitutable by nature
            content.update(substance_code=code, label=name, cis_for_checks=cis)
            conditions = bdpm.conditions_of(cis)
    except (bdpm.LineError, posology.PosologyError) as error:
        raise PrescriptionError(error.code) from None
    content["conditions"] = conditions.as_dict()
    return kind, content, quantity, renewals


def do_add_line(
    user: User, prescription_id: Any, data: dict[str, Any], *, request: HttpRequest | None = None
) -> PrescriptionLine:
    kind, content, quantity, renewals = build_line(data)
    with transaction.atomic():
        prescription, basis = _own_draft(user, prescription_id, request)
        count = prescription.lines.count()
        if count >= MAX_LINES:
            raise PrescriptionError("too_many_lines")
        line = PrescriptionLine(
            prescription=prescription,
            patient_id=prescription.patient_id,
            position=count,
            kind=kind,
            quantity=quantity,
            renewals=renewals,
        )
        line.set_content(content)
        line.save()
        access.record_entry(purposes.EDITED, user, prescription, basis, purposes.WRITE, request, line=line.pk)
    return line


def do_remove_line(user: User, prescription_id: Any, line_id: Any, *, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        prescription, basis = _own_draft(user, prescription_id, request)
        deleted, _rows = prescription.lines.filter(pk=str(line_id) if str(line_id).isdigit() else -1).delete()
        if not deleted:
            raise PrescriptionError("line")
        access.record_entry(purposes.EDITED, user, prescription, basis, purposes.WRITE, request, removed=True)


def do_set_options(
    user: User, prescription_id: Any, *, bizone: bool, weight: Any, request: HttpRequest | None = None
) -> Prescription:
    kept_weight = clean_weight(weight)
    with transaction.atomic():
        prescription, basis = _own_draft(user, prescription_id, request)
        prescription.bizone = bool(bizone)
        prescription.weight_kg = kept_weight
        prescription.save(update_fields=["bizone", "weight_kg"])
        access.record_entry(purposes.EDITED, user, prescription, basis, purposes.WRITE, request)
    return prescription
