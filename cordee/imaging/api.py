"""Imaging's JSON API (``/api/imaging/``): a patient's studies, one study with its series.

Thin like the pages: every study through ``imaging.access`` (reads audited there). Pixels and
files go through the DICOMweb endpoints (``/dicomweb/…``), not this API. Ids in paths are taken
as text, so that a forged one answers exactly like a missing or forbidden one (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema

from cordee.imaging import access, purposes
from cordee.imaging.models import Study
from cordee.lib.api import ERRORS
from cordee.lib.http import AuthedRequest

router = Router(tags=["imaging"])


class SeriesOut(Schema):
    id: int
    series_uid: str
    number: int | None
    modality: str
    description: str
    instances: int


class StudyOut(Schema):
    id: int
    study_uid: str
    study_date: dt.date | None
    modalities: list[str]
    description: str
    series_count: int
    instance_count: int
    source: str
    patient_id: int | None


class StudyDetailOut(StudyOut):
    series: list[SeriesOut]


def _study(study: Study) -> dict[str, Any]:
    return {
        "id": study.pk,
        "study_uid": study.study_uid,
        "study_date": study.study_date,
        "modalities": [m for m in study.modalities.split(",") if m],
        "description": study.description,
        "series_count": study.series_count,
        "instance_count": study.instance_count,
        "source": study.source,
        "patient_id": study.patient_id,
    }


@router.get("/patients/{patient_id}/studies", response={200: list[StudyOut], **ERRORS}, summary="A patient's studies")
def patient_studies(request: AuthedRequest, patient_id: str) -> list[dict[str, Any]]:
    _patient, _basis, studies = access.access_studies(
        request.user, patient_id, purpose=purposes.STUDIES_VIEW, request=request
    )
    return [_study(study) for study in studies[:200]]


@router.get("/studies/{study_id}", response={200: StudyDetailOut, **ERRORS}, summary="A study and its series")
def study_detail(request: AuthedRequest, study_id: str) -> dict[str, Any]:
    study, _basis = access.access_study(request.user, study_id, purpose=purposes.STUDY_VIEW, request=request)
    series = [
        {
            "id": item.pk,
            "series_uid": item.series_uid,
            "number": item.number,
            "modality": item.modality,
            "description": item.description,
            "instances": item.instance_count,
        }
        for item in access.series_of(study)
    ]
    return {**_study(study), "series": series}
