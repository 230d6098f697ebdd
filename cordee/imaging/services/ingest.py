"""One ingest for every way in (browser upload, ZIP, STOW-RS, C-STORE).

``do_ingest(data, …)`` parses and validates the file (``dicom.parse``: refused with a clear code),
stores it once per SOP Instance UID, encrypted (the patient's key when the study is matched, the
study's own while it waits in the inbox), indexes study/series/instance, and writes the audit
entry in the same transaction. A file whose transfer syntax Cordée cannot decode is stored and
flagged "no preview" (``previewable=False``), never an error. A file for an erased patient (named by
the upload, or matched by the INS it carries) is refused (``erased``): nothing new is kept for her.

Matching: an upload names its patient (a file that carries another patient's INS is refused); a
file from a device or another system is matched by the INS it carries (one Cordée patient exactly),
else its study waits in the receiving structure's inbox (``services.reconcile``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.accounts import identifiers
from cordee.accounts.models import Patient, Structure
from cordee.accounts.services.patients import find_patients_by_ins
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.imaging import dicom, purposes
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Instance, Series, Source, Study
from cordee.vault.blobs import delete_blob, store_blob
from cordee.vault.errors import Erased

log = logging.getLogger(__name__)
INS_ISSUERS = frozenset({identifiers.OID_INS_NIR, identifiers.OID_INS_NIA, "INS-NIR", "INS-NIA", "INS"})


@dataclass
class Stored:
    instance: Instance
    study: Study
    duplicate: bool


def ins_of(dataset: Any) -> str:
    """The INS a file carries: Patient ID or Other Patient IDs issued by the INS OIDs, if valid."""
    candidates = [(dataset.get("PatientID"), dataset.get("IssuerOfPatientID"))]
    qualifiers = dataset.get("IssuerOfPatientIDQualifiersSequence") or []
    for item in qualifiers:
        candidates.append((dataset.get("PatientID"), item.get("UniversalEntityID")))
    for item in dataset.get("OtherPatientIDsSequence") or []:
        candidates.append((item.get("PatientID"), item.get("IssuerOfPatientID")))
    for value, issuer in candidates:
        if value and str(issuer or "").strip() in INS_ISSUERS:
            try:
                return identifiers.validate_ins(str(value).strip())
            except identifiers.IdentifierError:
                continue
    return ""


def _match(ins: str) -> Patient | None:
    if not ins:
        return None
    found = list(find_patients_by_ins(ins)[:2])
    return found[0] if len(found) == 1 else None


def _new_study(
    dataset: Any, *, patient: Patient | None, structure: Structure | None, source: str, by: Any, calling_ae: str
) -> Study:
    study = Study(
        study_uid=str(dataset.StudyInstanceUID),
        patient=patient,
        structure=structure,
        source=source,
        calling_ae=calling_ae[:16],
        study_date=dicom.dicom_date(dataset.get("StudyDate")),
        description=dicom.text(dataset, "StudyDescription"),
        accession_number=dicom.text(dataset, "AccessionNumber", 64),
        dicom_patient_name=dicom.text(dataset, "PatientName"),
        dicom_patient_id=dicom.text(dataset, "PatientID", 64),
        dicom_birth_date=dicom.dicom_date(dataset.get("PatientBirthDate")),
        created_by=by if getattr(by, "is_authenticated", False) else None,
        matched_at=timezone.now() if patient else None,
    )
    study.save(force_insert=True)
    return study


def _series(study: Study, dataset: Any) -> Series:
    series = Series.objects.filter(series_uid=str(dataset.SeriesInstanceUID)).first()
    if series is not None:
        if series.study_id != study.pk:
            raise DicomRefused("series_conflict", "This series belongs to another study.")
        return series
    try:
        number = int(dataset.get("SeriesNumber")) if dataset.get("SeriesNumber") not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    series = Series(
        study=study,
        series_uid=str(dataset.SeriesInstanceUID),
        number=number,
        modality=dicom.text(dataset, "Modality", 16),
        description=dicom.text(dataset, "SeriesDescription"),
    )
    series.save(force_insert=True)
    study.series_count += 1
    modalities = [m for m in study.modalities.split(",") if m]
    if series.modality and series.modality not in modalities:
        study.modalities = ",".join([*modalities, series.modality])[:64]
    return series


def _number(dataset: Any, keyword: str) -> int | None:
    try:
        value = dataset.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def check_size(size: int) -> None:
    if size > settings.IMAGING_MAX_FILE_BYTES:
        raise DicomRefused(
            "too_large", f"This file is larger than the limit of {settings.IMAGING_MAX_FILE_BYTES} bytes."
        )


def do_ingest(
    data: bytes,
    *,
    by: Any,
    source: str,
    patient: Patient | None = None,
    structure: Structure | None = None,
    calling_ae: str = "",
    request: HttpRequest | None = None,
) -> Stored:
    """Store one DICOM file (see the module); ``DicomRefused`` says why a file is not stored."""
    check_size(len(data))
    parsed = dicom.parse(data)
    if dicom.is_dicomdir(parsed):
        raise DicomRefused("dicomdir", "A DICOMDIR is the index of a CD: its images are the other files.")
    ds = parsed.dataset
    sop_uid = str(ds.SOPInstanceUID)
    existing = Instance.objects.filter(sop_instance_uid=sop_uid).select_related("study").first()
    if existing is not None:
        _check_same_patient(existing.study, patient)
        return Stored(existing, existing.study, duplicate=True)
    ins = ins_of(ds)
    if patient is not None and ins and patient.ins and identifiers.validate_ins(patient.ins) != ins:
        raise DicomRefused("other_patient", "This file carries the INS of another patient.")
    if patient is None:
        patient = _match(ins)
    with transaction.atomic():
        study = Study.objects.select_for_update().filter(study_uid=str(ds.StudyInstanceUID)).first()
        if study is None:
            study = _new_study(ds, patient=patient, structure=structure, source=source, by=by, calling_ae=calling_ae)
        else:
            _check_same_patient(study, patient)
        series = _series(study, ds)
        owner = study.patient if study.patient_id else study
        try:
            blob = store_blob(owner, [data], max_bytes=settings.IMAGING_MAX_FILE_BYTES)
        except Erased:  # her data were erased: nothing new is stored for her (the new study rolls back)
            raise DicomRefused("erased", "This patient's data were erased: nothing more is stored for them.") from None
        instance = Instance(
            study=study,
            series=series,
            sop_instance_uid=sop_uid,
            sop_class_uid=str(ds.SOPClassUID),
            transfer_syntax_uid=parsed.transfer_syntax,
            number=_number(ds, "InstanceNumber"),
            rows=_number(ds, "Rows") or 0,
            columns=_number(ds, "Columns") or 0,
            frames=dicom.number_of_frames(ds),
            previewable=parsed.decodable and "PixelData" in ds,
            burned_in_annotation=str(ds.get("BurnedInAnnotation", "")).upper() == "YES",
            blob=blob,
            size=len(data),
        )
        try:
            with transaction.atomic():
                instance.save(force_insert=True)
        except IntegrityError:  # the same instance stored meanwhile by another process
            delete_blob(blob)
            existing = Instance.objects.select_related("study").get(sop_instance_uid=sop_uid)
            return Stored(existing, existing.study, duplicate=True)
        series.instance_count += 1
        series.save(update_fields=["instance_count"])
        study.instance_count += 1
        study.save(update_fields=["instance_count", "series_count", "modalities"])
        audit_trail.record(
            purposes.STORED,
            actor=by,
            request=request,
            target=study,
            patient_id=study.patient_id,
            purpose=_purpose(source),
            category=AuditEntry.Category.ACCESS if study.patient_id else AuditEntry.Category.SECURITY,
            details={"instance": instance.pk, "source": source, "calling_ae": calling_ae[:16]},
        )
    return Stored(instance, study, duplicate=False)


def _purpose(source: str) -> str:
    return {Source.UPLOAD: purposes.STUDY_UPLOAD, Source.STOW: purposes.DICOMWEB_STORE}.get(
        Source(source), "imaging.cstore"
    )


def _check_same_patient(study: Study, patient: Patient | None) -> None:
    if patient is None:
        return
    if study.patient_id is None:
        raise DicomRefused("in_inbox", "This study waits in the imaging inbox: attach it to the patient there.")
    if study.patient_id != patient.pk:
        raise DicomRefused("other_patient", "This study is already stored for another patient.")
