"""Migration 0002 encrypts existing break-the-glass reasons with the patient's data key, and back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("care", "0001_care_team_oppositions_break_glass"), ("security", "0001_security_alerts")]
AFTER = [("care", "0002_break_glass_reason_encrypted")]
REASON = "Douleur thoracique, patiente inconsciente"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_reasons_are_encrypted_then_decrypted_back(personas):
    patient_id, charlie_id = personas["paula"].patient.pk, personas["charlie"].pk
    try:
        old = _migrate(BEFORE)
        grant_id = (
            old.get_model("care", "BreakGlassGrant")
            .objects.create(
                professional_id=charlie_id,
                patient_id=patient_id,
                reason=REASON,
                expires_at=timezone.now() + dt.timedelta(hours=1),
            )
            .pk
        )
        _migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reason FROM care_breakglassgrant WHERE id = %s", [grant_id])
            stored = bytes(cursor.fetchone()[0])
        assert REASON.encode() not in stored
        from cordee.care.models import BreakGlassGrant

        assert BreakGlassGrant.objects.get(pk=grant_id).reason == REASON
        back = _migrate(BEFORE)
        assert back.get_model("care", "BreakGlassGrant").objects.get(pk=grant_id).reason == REASON
    finally:
        executor = MigrationExecutor(connection)
        _migrate(executor.loader.graph.leaf_nodes())
