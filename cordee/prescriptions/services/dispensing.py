"""Dispensing a line, exactly once per unit: the conditional UPDATE is the lock.

A pharmacist dispenses ``quantity`` units of a line with the box given (CIP13): the prescribed
product, or a generic of its BDPM group unless the line is non-substitutable (an INN line: any box
of the substance). Under the prescription's row lock, the line's counters move with one ``UPDATE …
WHERE`` on the line's own columns that holds only if the round and what was given in it are still
those read: of concurrent dispensers, exactly one changes the row, the others get ``changed`` (and
nothing is written but the audit of the refusal). docs/decisions/0016-prescriptions.md says why the
WHERE must not go through a join.
The database's check constraints make "more than prescribed" impossible even for a bug here.

A round is a dispensing of the full quantity; a renewal opens the next round once the previous one
is complete. The prescription's status follows (partly dispensed, dispensed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest

from cordee.accounts.models import User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.prescriptions import access, bdpm, purposes
from cordee.prescriptions.models import Dispensation, Prescription, PrescriptionLine
from cordee.prescriptions.services.errors import PrescriptionError


@dataclass(frozen=True)
class Dispensing:
    line_id: Any
    quantity: Any
    cip13: Any = ""


def _refused(user: User, prescription: Prescription, code: str, request: HttpRequest | None) -> PrescriptionError:
    audit_trail.record(
        purposes.DISPENSE_REFUSED,
        actor=user,
        request=request,
        target=prescription,
        patient_id=prescription.patient_id,
        purpose=purposes.DISPENSE,
        category=AuditEntry.Category.ACCESS,
        outcome=AuditEntry.Outcome.DENIED,
        details={"number": prescription.number, "reason": code},
    )
    return PrescriptionError(code)


def _quantity(raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise PrescriptionError("quantity") from None
    if value < 1 or value > 999:
        raise PrescriptionError("quantity")
    return value


def _box(line: PrescriptionLine, raw: Any) -> tuple[str, bool]:
    cip13 = "".join(str(raw or "").split())
    content = line.content
    if not cip13:
        return content.get("cip13", ""), False
    if len(cip13) != 13 or not cip13.isdigit():
        raise PrescriptionError("box")
    if line.kind == PrescriptionLine.Kind.SUBSTANCE:
        if not bdpm.cis_with_substance(content["substance_code"], cip13):
            raise PrescriptionError("box")
        return cip13, False
    accepted, substituted = bdpm.same_group(content["cis"], cip13)
    if not accepted:
        raise PrescriptionError("box")
    if substituted and content.get("non_substituable"):
        raise PrescriptionError("non_substituable")
    return cip13, substituted


def _status_after(prescription: Prescription) -> str:
    lines = [x for x in prescription.lines.all() if x.kind != PrescriptionLine.Kind.FREE]
    if lines and all(x.fully_dispensed for x in lines):
        return Prescription.Status.DISPENSED
    return Prescription.Status.PARTIAL


def do_dispense(user: User, number: Any, dispensing: Dispensing, *, request: HttpRequest | None = None) -> Dispensation:
    """Record one dispensing; ``PrescriptionError`` (audited) when refused."""
    if not access.is_pharmacist(user):
        raise PrescriptionError("not_pharmacist")
    quantity = _quantity(dispensing.quantity)
    try:
        prescription = access.access_for_dispensing(
            user, number, purpose=purposes.DISPENSE, request=request, audit=False
        )
    except Http404:
        raise PrescriptionError("not_found") from None
    line = prescription.lines.filter(pk=str(dispensing.line_id) if str(dispensing.line_id).isdigit() else -1).first()
    try:
        if line is None:
            raise PrescriptionError("line")
        line.patient = prescription.patient
        if prescription.status == Prescription.Status.CANCELLED:
            raise PrescriptionError("cancelled")
        if prescription.is_expired:
            raise PrescriptionError("expired")
        if line.kind == PrescriptionLine.Kind.FREE:
            raise PrescriptionError("free_line")
        if line.fully_dispensed:
            raise PrescriptionError("dispensed")
        cip13, substituted = _box(line, dispensing.cip13)
    except PrescriptionError as error:
        raise _refused(user, prescription, error.code, request) from None
    # The round being dispensed: the current one, or the next renewal once it is complete.
    round_, given = line.dispensing_round, line.dispensed_in_round
    if given >= line.quantity:
        target_round, base = round_ + 1, 0
    else:
        target_round, base = round_, given
    if base + quantity > line.quantity:
        raise _refused(user, prescription, "too_much", request)
    try:
        with transaction.atomic():
            # The prescription's row lock orders dispensers of one prescription (and a cancel);
            # the UPDATE's own WHERE, on the line's columns only, is what makes it exact: PostgreSQL
            # re-checks it on the row as committed by the previous holder (a condition through a
            # join would become a subquery read from the statement's snapshot, and not be re-checked).
            status = (
                Prescription.objects.select_for_update()
                .filter(pk=prescription.pk)
                .values_list("status", flat=True)
                .first()
            )
            if status not in (Prescription.Status.SIGNED, Prescription.Status.PARTIAL):
                raise PrescriptionError("changed")
            changed = PrescriptionLine.objects.filter(
                pk=line.pk, dispensing_round=round_, dispensed_in_round=given
            ).update(dispensing_round=target_round, dispensed_in_round=base + quantity)
            if changed != 1:
                raise PrescriptionError("changed")
            dispensation = Dispensation.objects.create(
                line=line,
                patient_id=prescription.patient_id,
                pharmacist=user,
                pharmacist_display=audit_trail.actor_display(user),
                dispensing_round=target_round,
                quantity=quantity,
                cip13=cip13,
                substituted=substituted,
            )
            status = _status_after(prescription)
            Prescription.objects.filter(pk=prescription.pk).exclude(status=Prescription.Status.CANCELLED).update(
                status=status
            )
            access.record_entry(
                purposes.DISPENSED, user, prescription, "pharmacist", purposes.DISPENSE, request,
                line=line.pk, quantity=quantity, round=target_round, substituted=substituted,
            )  # fmt: skip
    except (PrescriptionError, IntegrityError):
        raise _refused(user, prescription, "changed", request) from None
    return dispensation
