"""Importing an ePrescription FHIR Bundle into a new draft (``fhir.lines_of`` reads the Bundle)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from cordee.accounts.models import User
from cordee.prescriptions.fhir import lines_of
from cordee.prescriptions.models import Prescription
from cordee.prescriptions.services import drafts
from cordee.prescriptions.services.errors import PrescriptionError


def do_import_bundle(user: User, patient_id: Any, data: Any, *, request: HttpRequest | None = None) -> Prescription:
    """A new draft for ``patient_id`` with the lines of an ePrescription Bundle (each add audited);
    ``fhir.FhirError`` for a Bundle that is not valid or not an ePrescription."""
    lines = lines_of(data)
    with transaction.atomic():
        prescription = drafts.do_create_draft(user, patient_id, request=request)
        for line in lines:
            try:
                drafts.do_add_line(user, prescription.pk, line, request=request)
            except PrescriptionError:  # a coded line the BDPM refuses: kept as written, as free text
                drafts.do_add_line(user, prescription.pk, {"kind": "free", "text": str(line)[:1000]}, request=request)
    return prescription
