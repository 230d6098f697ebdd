"""The only ways to reach imaging: a patient's studies, one study, the inbox; each read audited.

- ``access_study``: a study, for whoever may open its patient (``care.access``: the patient
  herself, her care team, a break-the-glass grant); a study still in the inbox (no patient yet)
  only for the professionals of the structure that received it. The read is one ``access`` entry
  per study opened (``imaging.study.opened``, with the number of instances), not one per frame.
- ``access_study_frames``: the same check for WADO-RS fetches; the first fetch of a study in a
  session writes one ``imaging.study.frames`` entry, later ones none (the count of the batch is in
  the entry of the study opened).
- ``inbox_of``: the studies waiting in the user's structures.

A forged id, another team's study and one that does not exist are the same ``Http404``; so is a
study whose keys were destroyed (an erased patient's, come back with the restore of an older backup
before its rows could be deleted: ``services.erasure``).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.models import Membership, Patient, User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care.access import Basis, access_patient_with_basis, actor_structures
from cordee.care.purposes import under_break_glass
from cordee.imaging import purposes
from cordee.imaging.models import Instance, Study
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.lib.users import is_active_user
from cordee.vault import services as vault

STUDY = "imaging.study"
INBOX = "inbox"


def access_studies(
    user: Any, patient_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> tuple[Patient, Basis, QuerySet[Study]]:
    """A patient's studies (her own list, or her care team's), the read audited by ``access_patient``."""
    patient, basis = access_patient_with_basis(user, patient_id, purpose=purpose, request=request)
    if vault.is_shredded(patient):  # erased: her studies' rows may be back from an older backup
        return patient, basis, Study.objects.none()
    return patient, basis, Study.objects.filter(patient=patient).order_by("-study_date", "-pk")


def structure_ids(user: Any) -> list[int]:
    if not is_active_user(user) or user.kind != User.Kind.PROFESSIONAL:
        return []
    return list(Membership.objects.filter(user=user).values_list("structure_id", flat=True))


def _study(user: Any, raw: Any, *, purpose: str, request: HttpRequest | None, by_uid: bool) -> tuple[Study, str]:
    if by_uid:
        study = Study.objects.filter(study_uid=str(raw)[:64]).first() if is_active_user(user) else None
    else:
        try:
            pk = parse_id(raw)
        except Http404:
            refuse(user, target_type=STUDY, raw_id=raw, purpose=purpose, request=request)
        study = Study.objects.filter(pk=pk).first() if is_active_user(user) else None
    if study is None or vault.is_shredded(study):
        refuse(user, target_type=STUDY, raw_id=raw, purpose=purpose, request=request)
    if study.patient_id is None:
        if study.structure_id is None or study.structure_id not in structure_ids(user):
            refuse(user, target_type=STUDY, raw_id=raw, purpose=purpose, request=request)
        return study, INBOX
    try:
        _patient, basis = access_patient_with_basis(user, study.patient_id, purpose=purpose, audit=False)
    except Http404:
        refuse(user, target_type=STUDY, raw_id=raw, purpose=purpose, request=request)
    return study, basis


def record_study_entry(
    action: str, user: Any, study: Study, basis: str, purpose: str, request: Any, **details: Any
) -> None:
    """An entry about ``study``: an ``access`` entry the patient sees once it is hers."""
    audit_trail.record(
        action,
        actor=user,
        request=request,
        target=study,
        patient_id=study.patient_id,
        purpose=under_break_glass(purpose) if basis == "break_glass" else purpose,
        category=AuditEntry.Category.ACCESS if study.patient_id else AuditEntry.Category.SECURITY,
        details={"basis": basis, "structure": actor_structures(user), **details},
    )


def access_study(
    user: Any,
    study_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.OPENED,
    audit: bool = True,
    by_uid: bool = False,
) -> tuple[Study, str]:
    """A study ``user`` may open and the basis ("self", "care_team", "break_glass", "inbox"), else
    ``Http404``; audited as ``action`` with the number of instances (``audit=False`` only for a
    ``do_*`` that writes its own entry)."""
    study, basis = _study(user, study_id, purpose=purpose, request=request, by_uid=by_uid)
    if audit:
        record_study_entry(action, user, study, basis, purpose, request, instances=study.instance_count)
    return study, basis


def access_study_frames(
    user: Any, study_uid: Any, *, purpose: str = purposes.STUDY_VIEW, request: HttpRequest | None = None
) -> tuple[Study, str]:
    """A study reached by its UID for WADO-RS; audited once per study and session (see the module)."""
    study, basis = _study(user, study_uid, purpose=purpose, request=request, by_uid=True)
    session = getattr(getattr(request, "session", None), "session_key", None) or f"user{user.pk}"
    if cache.add(f"imaging:frames:{session}:{study.pk}", 1, timeout=8 * 3600):
        record_study_entry(purposes.FRAMES, user, study, basis, purpose, request, instances=study.instance_count)
    return study, basis


def instance_of(study: Study, series_uid: str, sop_uid: str) -> Instance:
    """An instance of a study already reached (the UIDs must agree), else ``Http404``."""
    instance = (
        Instance.objects.filter(
            study=study, series__series_uid=str(series_uid)[:64], sop_instance_uid=str(sop_uid)[:64]
        )
        .select_related("blob", "series")
        .first()
    )
    if instance is None:
        raise Http404
    return instance


def inbox_of(user: Any) -> QuerySet[Study]:
    """Studies waiting for a patient in the user's structures (professionals only)."""
    return Study.objects.filter(patient__isnull=True, structure_id__in=structure_ids(user)).order_by("-created_at")


def series_of(study: Study) -> list[Any]:
    """The series of a study already reached, each with its instances in order (for the viewer)."""
    series = list(study.series.order_by("number", "pk"))
    instances = Instance.objects.filter(study=study).order_by("number", "pk")
    by_series: dict[int, list[Instance]] = {}
    for instance in instances:
        by_series.setdefault(instance.series_id, []).append(instance)
    for item in series:
        item.study = study
        item.ordered = by_series.get(item.pk, [])  # type: ignore[attr-defined]  # the page's list
        item.images = sum(i.frames for i in item.ordered)  # type: ignore[attr-defined]  # frames, all instances
    return series


def views_of(patient: Patient) -> list[AuditEntry]:
    """Who opened the patient's studies (her own view of it: the access entries about imaging)."""
    return list(
        AuditEntry.objects.filter(
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
            action__in=[purposes.OPENED, purposes.FRAMES, purposes.EXPORTED, purposes.RECONCILED],
        ).order_by("-created_at")[:50]
    )
