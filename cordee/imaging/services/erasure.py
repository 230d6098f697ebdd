"""A patient's erasure reaches her imaging (``vault.signals.shredding``, in the erasure's transaction).

Erasing a patient (``vault.services.do_shred`` on her) destroys her data keys, which already makes
her instances unreadable (they are encrypted with her key once matched). But each study is a vault
owner of its own: its key encrypts the header copies (description, accession number, and the name,
identifier and birth date the files carry) and, while it waited in the inbox, the instances. So,
in the same transaction, for each of her studies:

- an ``imaging.study.erased`` entry (an ``access`` entry naming her, with counts only);
- the study's own keys are destroyed (``do_shred``: audited as ``vault.shredded``, and the backups'
  receiver appends the study to the shred list, so a restore of an older backup destroys them again);
- its instances, series and the study row are deleted, and their encrypted files once this commits:
  the index (UIDs, dates, modalities) said too much to be kept about an erased patient, and a link
  to the study (shared in a conversation) now answers the 404 of a study that does not exist.

Her unfinished uploads go as well (their chunks are blobs under her key). Nothing else holds keys:
a share into a conversation is a link (no copy), and a de-identified export is built for the
request and never stored.

``sweep_erased`` (the worker's daily job) does the same for studies still there whose patient's key
is destroyed: patients erased before this existed, and rows come back with the restore of an older
backup (whose keys the shred list has destroyed again). Done by Cordée itself (no actor).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db import transaction
from django.dispatch import receiver

from cordee.accounts.models import Patient
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.imaging import purposes
from cordee.imaging.models import Instance, Series, Study, Upload, UploadChunk
from cordee.vault import services as vault
from cordee.vault.blobs import delete_blob
from cordee.vault.models import DataKey
from cordee.vault.signals import shredding

PATIENT = "accounts.patient"


def do_erase_patient_imaging(patient_id: int, *, by: Any, reason: str, request: Any = None) -> int:
    """Erase the imaging of the patient ``patient_id`` (see the module); how many studies."""
    with transaction.atomic():
        studies = list(Study.objects.select_for_update().filter(patient_id=patient_id).order_by("pk"))
        for study in studies:
            _erase_study(study, by=by, reason=reason, request=request)
        delete_uploads(Upload.objects.filter(patient_id=patient_id))
    return len(studies)


def sweep_erased(batch: int = 500) -> int:
    """Erase the imaging left of patients already erased (see the module); how many studies."""
    erased = 0
    patients = Study.objects.filter(patient__isnull=False).values_list("patient_id", "patient__vault_id").distinct()
    candidates = dict(patients)
    ids = [str(vault_id) for vault_id in candidates.values()]
    destroyed: set[str] = set()
    for start in range(0, len(ids), batch):
        destroyed.update(
            DataKey.objects.filter(
                owner_type=PATIENT, owner_id__in=ids[start : start + batch], destroyed_at__isnull=False
            ).values_list("owner_id", flat=True)
        )
    for patient_id, vault_id in candidates.items():
        if str(vault_id) in destroyed:
            erased += do_erase_patient_imaging(patient_id, by=None, reason=purposes.ERASURE_CATCH_UP)
    return erased


def _erase_study(study: Study, *, by: Any, reason: str, request: Any) -> None:
    instances = list(Instance.objects.filter(study=study).select_related("blob"))
    audit_trail.record(
        purposes.ERASED,
        actor=by,
        request=request,
        target=study,
        patient_id=study.patient_id,
        purpose=reason[:200],
        category=AuditEntry.Category.ACCESS,
        details={"instances": len(instances), "series": study.series_count},
    )
    if not vault.is_shredded(study):
        vault.do_shred(study, by=by, reason=reason, request=request)
    Instance.objects.filter(pk__in=[instance.pk for instance in instances]).delete()
    for instance in instances:
        delete_blob(instance.blob)  # the ciphertext goes once the erasure commits
    Series.objects.filter(study=study).delete()
    Study.objects.filter(pk=study.pk).delete()


def delete_uploads(uploads: Any) -> list[tuple[Upload, int]]:
    """Delete uploads with their chunks (and the chunks' files once this commits); each upload with
    the number of chunks it had."""
    deleted = []
    with transaction.atomic():
        for upload in uploads.select_for_update():
            chunks = list(UploadChunk.objects.filter(upload=upload).select_related("blob"))
            UploadChunk.objects.filter(upload=upload).delete()
            for chunk in chunks:
                delete_blob(chunk.blob)
            Upload.objects.filter(pk=upload.pk).delete()  # the instance keeps its id (for the audit)
            deleted.append((upload, len(chunks)))
    return deleted


def _patient_id(owner: Any, owner_ref: vault.OwnerRef) -> int | None:
    if owner_ref.owner_type != PATIENT:
        return None
    pk = getattr(owner, "pk", None)
    if pk is not None:
        return int(pk)
    # An OwnerRef (a script erasing by vault id): find the row.
    return Patient.objects.filter(vault_id=owner_ref.owner_id).values_list("pk", flat=True).first()


@receiver(shredding, dispatch_uid="imaging.erase_patient_imaging")
def _patient_shredding(sender: Any, owner: Any, owner_ref: vault.OwnerRef, by: Any, reason: str, **kwargs: Any) -> None:
    if owner_ref.apps is not global_apps:
        return  # a migration's historical models: the imaging tables may not be there
    patient_id = _patient_id(owner, owner_ref)
    if patient_id is not None:
        do_erase_patient_imaging(patient_id, by=by, reason=reason, request=kwargs.get("request"))
