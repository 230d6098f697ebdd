"""Patients' identities (INS, the five strict traits, the identity status) and exact look-ups. Each ``do_*`` audits."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts import identifiers
from cordee.accounts.models import Patient, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.vault.blind import blind_index

_INSEE_PLACE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_ADDRESS_MAX = 500

# Which identity status may follow which (ANS "Référentiel INS"): the INS is retrieved through
# the INSi teleservice (récupérée) and/or the identity checked on a high-trust document (validée);
# both make it qualifiée. Any status may fall back to provisoire when a doubt arises.
_STATUS_NEXT = {
    Patient.IdentityStatus.PROVISOIRE: {Patient.IdentityStatus.RECUPEREE, Patient.IdentityStatus.VALIDEE},
    Patient.IdentityStatus.RECUPEREE: {Patient.IdentityStatus.QUALIFIEE, Patient.IdentityStatus.PROVISOIRE},
    Patient.IdentityStatus.VALIDEE: {Patient.IdentityStatus.QUALIFIEE, Patient.IdentityStatus.PROVISOIRE},
    Patient.IdentityStatus.QUALIFIEE: {Patient.IdentityStatus.PROVISOIRE},
}


def check_patient_traits(
    *,
    birth_name: str,
    birth_given_names: str,
    birth_date: dt.date,
    sex: str,
    birth_place_code: str,
    ins: str = "",
    address: str = "",
) -> dict[str, object]:
    """Validate and normalise the five strict traits (and the INS and address if given)."""
    errors: dict[str, str] = {}
    if not birth_name.strip():
        errors["birth_name"] = _("The birth name is required.")
    if not birth_given_names.strip():
        errors["birth_given_names"] = _("The birth given names are required.")
    if birth_date > timezone.localdate():
        errors["birth_date"] = _("The birth date cannot be in the future.")
    if sex not in Patient.Sex.values:
        errors["sex"] = _("Unknown sex.")
    if not _INSEE_PLACE.match(birth_place_code.strip().upper()):
        errors["birth_place_code"] = _("The INSEE code of the birth place has 5 characters (99xxx abroad).")
    normalised_ins = ""
    if ins:
        try:
            normalised_ins = identifiers.validate_ins(ins)
        except identifiers.IdentifierError as exc:
            errors["ins"] = exc.messages[0]
    address = "\n".join(line.strip() for line in address.strip().splitlines() if line.strip())
    if len(address) > _ADDRESS_MAX:
        errors["address"] = _("The address is too long (%(max)d characters at most).") % {"max": _ADDRESS_MAX}
    if errors:
        raise ValidationError(errors)
    return {
        "birth_name": birth_name.strip().upper(),
        "birth_given_names": " ".join(birth_given_names.split()),
        "birth_date": birth_date,
        "sex": sex,
        "birth_place_code": birth_place_code.strip().upper(),
        "ins": normalised_ins,
        "address": address,
    }


def do_register_patient(*, by: User, request: HttpRequest | None = None, **traits: Any) -> Patient:
    clean = check_patient_traits(**traits)
    with transaction.atomic():
        patient = Patient.objects.create(**clean)
        audit.record(
            "patient.registered",
            actor=by,
            request=request,
            target=patient,
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
        )
    return patient


def find_patients_by_ins(ins: str) -> QuerySet[Patient]:
    """Patients with this INS, through its blind index (identity data is stored encrypted).

    No access check here: callers reach patients through ``care.access`` before showing anything.
    """
    try:
        normalised = identifiers.validate_ins(ins)
    except identifiers.IdentifierError as exc:
        raise ValidationError({"ins": exc.messages[0]}) from None
    return Patient.objects.filter(ins_index=blind_index("patient.ins", normalised))


def find_patients_by_name_and_birth_date(birth_name: str, birth_date: dt.date) -> QuerySet[Patient]:
    """Patients with this birth name (case, accents, hyphens and spaces ignored) born on that day.

    No access check here either (see ``find_patients_by_ins``).
    """
    key = blind_index("patient.birth_name+birth_date", birth_name, birth_date)
    return Patient.objects.filter(birth_index=key) if key else Patient.objects.none()


def do_set_identity_status(
    patient: Patient, status: str, *, by: User, reason: str = "", request: HttpRequest | None = None
) -> Patient:
    current = Patient.IdentityStatus(patient.identity_status)
    wanted = Patient.IdentityStatus(status)
    if wanted not in _STATUS_NEXT[current]:
        raise ValidationError(
            _("The identity cannot go from %(a)s to %(b)s.") % {"a": current.label, "b": wanted.label}
        )
    if wanted in (Patient.IdentityStatus.RECUPEREE, Patient.IdentityStatus.QUALIFIEE) and not patient.ins:
        raise ValidationError(_("An identity is retrieved or qualified only with its INS number."))
    if wanted == Patient.IdentityStatus.PROVISOIRE and not reason.strip():
        raise ValidationError(_("Say why the identity goes back to provisional."))
    with transaction.atomic():
        patient.identity_status = wanted
        patient.save(update_fields=["identity_status"])
        audit.record(
            "patient.identity_status_changed",
            actor=by,
            request=request,
            target=patient,
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
            details={"before": current.value, "after": wanted.value, "reason": reason[:200]},
        )
    return patient
