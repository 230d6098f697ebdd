"""The only ways to reach the record: its patient, a document, a version; each read audited.

- ``access_record``: the patient of a record, through ``care.access.access_patient`` (the
  patient herself, her care team, a break-the-glass grant); the read is audited there.
- ``access_document``: a document, for whoever may open its patient; a patient reaches only the
  documents made visible to her and those she provided. A professional's read is an ``access``
  entry naming the patient: it shows in her access history.
- ``access_version``: a version of a document reached as above.

A forged id, a document of another patient and one that does not exist are the same ``Http404``
(``refuse`` audits the refusal as a security entry).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.models import Patient, User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care.access import Basis, access_patient_with_basis, actor_structures
from cordee.care.purposes import under_break_glass
from cordee.documents import purposes
from cordee.documents.models import Document, DocumentVersion
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse

DOCUMENT = "documents.document"
VERSION = "documents.documentversion"


def access_record(
    user: Any, patient_id: Any, *, purpose: str, request: HttpRequest | None = None, audit: bool = True
) -> tuple[Patient, Basis]:
    """The patient of the record and the basis of the access; audited by ``access_patient``."""
    return access_patient_with_basis(user, patient_id, purpose=purpose, request=request, audit=audit)


def may_see(user: User, document: Document, basis: Basis) -> bool:
    if basis != "self":
        return True
    return document.visible_to_patient or document.provided_by_patient


def record_read(
    user: User,
    document: Document,
    basis: Basis,
    *,
    purpose: str,
    action: str = purposes.READ,
    request: HttpRequest | None = None,
) -> None:
    """The audit entry of a read of ``document`` (an ``access`` entry: the patient sees it)."""
    record_entry(action, user, document, basis, purpose, request, version=document.last_version)


def record_entry(
    action: str, user: User, document: Document, basis: Basis, purpose: str, request: Any, **details: Any
) -> None:
    """An ``access`` entry about ``document`` (reads here, writes from the services): the patient sees
    it in her history, under the emergency purpose when the access was break-the-glass."""
    audit_trail.record(
        action,
        actor=user,
        request=request,
        target=document,
        patient_id=document.patient_id,
        purpose=under_break_glass(purpose) if basis == "break_glass" else purpose,
        category=AuditEntry.Category.ACCESS,
        details={"basis": basis, "structure": actor_structures(user), **details},
    )


def _document(user: Any, document_id: Any, *, purpose: str, request: HttpRequest | None) -> tuple[Document, Basis]:
    try:
        pk = parse_id(document_id)
    except Http404:
        refuse(user, target_type=DOCUMENT, raw_id=document_id, purpose=purpose, request=request)
    document = Document.objects.filter(pk=pk).select_related("patient").first()
    if document is None:
        refuse(user, target_type=DOCUMENT, raw_id=pk, purpose=purpose, request=request)
    try:
        _patient, basis = access_patient_with_basis(user, document.patient_id, purpose=purpose, audit=False)
    except Http404:
        refuse(user, target_type=DOCUMENT, raw_id=pk, purpose=purpose, request=request)
    if not may_see(user, document, basis):
        refuse(user, target_type=DOCUMENT, raw_id=pk, purpose=purpose, request=request)
    return document, basis


def access_document(
    user: Any,
    document_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.READ,
    audit: bool = True,
) -> tuple[Document, Basis]:
    """A document ``user`` may open and the basis of the access, else ``Http404``. ``audit=False``
    only for a ``do_*`` service that writes its own entry for the same act."""
    document, basis = _document(user, document_id, purpose=purpose, request=request)
    if audit:
        record_read(user, document, basis, purpose=purpose, action=action, request=request)
    return document, basis


def access_version(
    user: Any,
    version_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.DOWNLOADED,
) -> tuple[DocumentVersion, Basis]:
    """A version of a document ``user`` may open (its read audited as ``action``), else ``Http404``."""
    try:
        pk = parse_id(version_id)
    except Http404:
        refuse(user, target_type=VERSION, raw_id=version_id, purpose=purpose, request=request)
    version = DocumentVersion.objects.filter(pk=pk).select_related("blob", "preview_blob").first()
    if version is None:
        refuse(user, target_type=VERSION, raw_id=pk, purpose=purpose, request=request)
    # A version of a document the user may not open: refused (and audited) as that document.
    document, basis = _document(user, version.document_id, purpose=purpose, request=request)
    version.document = document
    audit_trail.record(
        action,
        actor=user,
        request=request,
        target=document,
        patient_id=document.patient_id,
        purpose=under_break_glass(purpose) if basis == "break_glass" else purpose,
        category=AuditEntry.Category.ACCESS,
        details={"basis": basis, "structure": actor_structures(user), "version": version.number},
    )
    return version, basis


# --- what a document page shows (the document already reached through access_document) ------


def versions_of(document: Document) -> list[DocumentVersion]:
    versions = list(document.versions.order_by("-number"))
    for version in versions:
        version.document = document
        version.patient = document.patient
    return versions


def documents_of(patient: Patient, basis: Basis) -> QuerySet[Document]:
    """The documents of a record the reader may see (the patient: hers and those made visible)."""
    documents = Document.objects.filter(patient=patient)
    if basis == "self":
        documents = documents.filter(visible_to_patient=True) | documents.filter(provided_by_patient=True)
    return documents.order_by("-act_date", "-pk")
