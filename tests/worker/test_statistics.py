"""``database.statistics``: SQLite's planner gets the statistics that make it pick the right index
for the intrusion detector's "these accounts' recent entries" (PostgreSQL analyses by itself)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.worker.jobs import registered
from tests.conftest import postgres_run_only, sqlite_run_only

pytestmark = pytest.mark.django_db


def _statistics_job():
    (job,) = [job for job in registered() if job.name == "database.statistics"]
    return job


def _recent_entries_of(actors: list[int], since: dt.datetime):
    # The shape of TwoPlacesRule's context query (cordee/security/detection.py)
    return AuditEntry.objects.filter(
        actor_id__in=actors, ip__isnull=False, created_at__gte=since, created_at__lte=timezone.now()
    )


def test_sqlite_planner_reads_the_recent_entries_by_time_once_analysed(django_user_model):
    sqlite_run_only("the planner's choice on SQLite")
    actors = [django_user_model.objects.create_user(f"pro{n}@stats.test", kind="professional") for n in range(3)]
    start = timezone.now() - dt.timedelta(days=30)
    audit.record_many(
        [
            {"action": "patient.read", "actor": actors[n % 3], "at": start + dt.timedelta(minutes=n * 8)}
            for n in range(5000)
        ]
    )
    query = _recent_entries_of([a.pk for a in actors], timezone.now() - dt.timedelta(minutes=10))
    before = query.explain()
    assert "actor_id" in before  # the guess: an equality looks selective without statistics

    assert _statistics_job().shared
    assert _statistics_job().run() == "SQLite statistics refreshed"

    with connection.cursor() as cursor:
        cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'audit_auditentry'")
        analysed = {row[0] for row in cursor.fetchall()}
    assert any("created_at" in name for name in analysed) and any("actor_id" in name for name in analysed)
    after = query.explain()
    assert "created_at" in after and "actor_id" not in after, after


def test_postgresql_is_left_to_autovacuum():
    postgres_run_only("the statistics job on PostgreSQL")
    assert _statistics_job().run() == ""
