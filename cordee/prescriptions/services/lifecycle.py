"""A signed prescription's life: cancelled by its prescriber (with a reason), renewed as a new draft.

Expiry is not a write: ``Prescription.is_expired`` compares today with ``valid_until`` (the first
dispensing, three months, three days for a stupéfiant) and ``renewals_until``; dispensing refuses an
expired prescription.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import User
from cordee.audit import services as audit_trail
from cordee.documents.services.record import do_update_record_item
from cordee.prescriptions import access, purposes
from cordee.prescriptions.models import Prescription, PrescriptionLine
from cordee.prescriptions.services.drafts import _structure_of, prescriber_of
from cordee.prescriptions.services.errors import PrescriptionError


def do_cancel(user: User, prescription_id: Any, *, reason: Any, request: HttpRequest | None = None) -> Prescription:
    """Only its prescriber, before it is fully dispensed (a partial dispensing stops there)."""
    text = " ".join(str(reason or "").split())[:1000]
    if not text:
        raise PrescriptionError("reason")
    with transaction.atomic():
        try:
            prescription, basis = access.access_prescription(
                user, prescription_id, purpose=purposes.CANCEL, request=request, audit=False, lock=True
            )
        except Http404:
            raise PrescriptionError("not_found") from None
        if prescription.prescriber_id != user.pk:
            raise PrescriptionError("not_found")
        if prescription.status not in (Prescription.Status.SIGNED, Prescription.Status.PARTIAL):
            raise PrescriptionError("not_cancellable")
        prescription.status = Prescription.Status.CANCELLED
        prescription.cancelled_at = timezone.now()
        prescription.cancel_reason = text
        prescription.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        access.record_entry(purposes.CANCELLED, user, prescription, basis, purposes.CANCEL, request)
        if prescription.document_id:
            do_update_record_item(prescription.document, title=f"Ordonnance {prescription.number} (annulée)")
    return prescription


def do_renew(user: User, prescription_id: Any, *, request: HttpRequest | None = None) -> Prescription:
    """A new draft with the lines of a past prescription (any prescriber of the care team)."""
    prescriber_of(user)
    with transaction.atomic():
        try:
            old, basis = access.access_prescription(
                user, prescription_id, purpose=purposes.RENEW, request=request, audit=False
            )
        except Http404:
            raise PrescriptionError("not_found") from None
        if basis == "self" or old.is_draft:
            raise PrescriptionError("not_found")
        new = Prescription.objects.create(
            patient=old.patient,
            prescriber=user,
            prescriber_display=audit_trail.actor_display(user),
            structure=_structure_of(user),
            bizone=old.bizone,
            weight_kg=old.weight_kg,
            renewed_from=old,
        )
        for line in old.lines.all():
            line.patient = old.patient
            copy = PrescriptionLine(
                prescription=new,
                patient=old.patient,
                position=line.position,
                kind=line.kind,
                quantity=line.quantity,
                renewals=line.renewals,
            )
            copy.set_content(line.content)
            copy.save()
        access.record_entry(purposes.RENEWED, user, new, basis, purposes.RENEW, request, renewed_from=old.number)
    return new
