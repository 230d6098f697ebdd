"""The export of a whole record (ZIP: documents and a PDF index), audited as an export."""

from __future__ import annotations

from typing import IO, Any

from django.http import Http404, HttpRequest

from cordee.accounts.models import User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care.access import actor_structures
from cordee.care.purposes import under_break_glass
from cordee.documents import access, export, purposes
from cordee.documents.services.files import DocumentError


def do_export_record(user: User, patient_id: Any, *, request: HttpRequest | None = None) -> tuple[IO[bytes], int, int]:
    """The patient's record as a ZIP for the patient herself or a professional who may open her."""
    try:
        patient, basis = access.access_record(
            user, patient_id, purpose=purposes.RECORD_EXPORT, request=request, audit=False
        )
    except Http404:
        raise DocumentError("not_found") from None
    if basis != "self" and user.kind != User.Kind.PROFESSIONAL:
        raise DocumentError("not_found")
    spool, size, count = export.write_zip(patient, basis)
    audit_trail.record(
        purposes.EXPORTED,
        actor=user,
        request=request,
        target=patient,
        patient_id=patient.pk,
        purpose=under_break_glass(purposes.RECORD_EXPORT) if basis == "break_glass" else purposes.RECORD_EXPORT,
        category=AuditEntry.Category.ACCESS,
        details={"basis": basis, "structure": actor_structures(user), "documents": count, "size": size},
    )
    return spool, size, count
