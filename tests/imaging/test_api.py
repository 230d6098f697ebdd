"""Imaging's JSON API: a patient's studies, a study with its series; anonymous, outsider, audit."""

from __future__ import annotations

import pytest

from cordee.audit.models import AuditEntry
from cordee.imaging.models import Source
from cordee.imaging.services.ingest import do_ingest
from tests.conftest import login_as
from tests.imaging.conftest import variant

pytestmark = pytest.mark.django_db


def test_studies_and_study(client, alice, charlie, paula):
    study = do_ingest(variant(SeriesDescription="Thorax"), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    assert client.get(f"/api/imaging/studies/{study.pk}").status_code == 401
    login_as(client, alice)
    listed = client.get(f"/api/imaging/patients/{paula.patient.pk}/studies").json()
    assert [s["id"] for s in listed] == [study.pk] and listed[0]["modalities"] == ["CT"]
    detail = client.get(f"/api/imaging/studies/{study.pk}").json()
    assert detail["series"][0]["description"] == "Thorax" and detail["instance_count"] == 1
    assert AuditEntry.objects.filter(action="imaging.study.opened", actor_id=alice.pk).count() == 1
    login_as(client, charlie)
    forbidden = client.get(f"/api/imaging/studies/{study.pk}")
    missing = client.get("/api/imaging/studies/987654321")
    assert forbidden.status_code == missing.status_code == 404 and forbidden.json() == missing.json()
    assert client.get(f"/api/imaging/patients/{paula.patient.pk}/studies").status_code == 404
