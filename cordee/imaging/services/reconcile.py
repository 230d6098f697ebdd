"""Attach a study of the inbox to a Cordée patient (a professional of the receiving structure).

Proposals come from the name and birth date the files carry (``find_patients_by_name_and_birth_date``),
narrowed to patients the professional may open (``care.access.access_found_patients``: each shown
patient is a read, audited). Reconciling re-encrypts every instance with the patient's key.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import Patient
from cordee.accounts.services.patients import find_patients_by_name_and_birth_date
from cordee.care.access import access_found_patients
from cordee.imaging import access, purposes
from cordee.imaging.models import Study
from cordee.vault.blobs import delete_blob, iter_blob, store_blob
from cordee.vault.errors import Erased


def proposals(user: Any, study: Study, *, request: HttpRequest | None = None) -> list[Patient]:
    name = study.dicom_patient_name.split("^")[0].strip()
    if not name or study.dicom_birth_date is None:
        return []
    found = find_patients_by_name_and_birth_date(name, study.dicom_birth_date)
    return access_found_patients(user, found, purpose=purposes.STUDY_RECONCILE, request=request)


def do_reconcile(study: Study, patient: Patient, *, by: Any, request: HttpRequest | None = None) -> Study:
    """``study`` (reached through ``access_study``, in the inbox) becomes ``patient``'s (reached
    through ``access_patient``); its files are re-encrypted with her key."""
    old_blobs = []
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if study.patient_id is not None:
            raise ValidationError(_("This study is already attached to a patient."))
        for instance in study.instances.select_related("blob"):
            old_blobs.append(instance.blob)
            try:
                instance.blob = store_blob(patient, iter_blob(instance.blob), max_bytes=instance.size + 1)
            except Erased:
                raise ValidationError(_("This patient's data were erased: nothing more can be added.")) from None
            instance.save(update_fields=["blob"])
        study.patient = patient
        study.matched_at = timezone.now()
        study.matched_by = by
        study.save(update_fields=["patient", "matched_at", "matched_by"])
        access.record_study_entry(
            purposes.RECONCILED,
            by,
            study,
            "care_team",
            purposes.STUDY_RECONCILE,
            request,
            instances=study.instance_count,
        )
        for blob in old_blobs:
            delete_blob(blob)  # the ciphertext under the study's key goes once this commits
    return study
