"""The demo's imaging: Paula's synthetic CT, stored through the ingest, idempotent."""

from __future__ import annotations

import pytest

from cordee.imaging.demo import SLICES, seed_imaging
from cordee.imaging.models import Instance, Study

pytestmark = pytest.mark.django_db


def test_seed_imaging_is_idempotent(personas, paula):
    seed_imaging(personas)
    seed_imaging(personas)
    study = Study.objects.get()
    assert study.patient_id == paula.patient.pk and study.instance_count == SLICES
    assert Instance.objects.filter(previewable=True).count() == SLICES
