"""Failed-login records are forgotten after 30 days, daily, by the worker's schedule; the purge is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cordee.accounts.models import LoginFailure
from cordee.accounts.services import lockout
from cordee.audit.models import AuditEntry
from cordee.worker.jobs import registered

pytestmark = pytest.mark.django_db


def test_failures_older_than_30_days_are_deleted_and_the_purge_audited():
    now = timezone.now()
    LoginFailure.objects.create(email="alice@cordee.test", ip="192.0.2.1", at=now - dt.timedelta(days=31))
    LoginFailure.objects.create(email="", ip="192.0.2.2", at=now - dt.timedelta(days=40))
    recent = LoginFailure.objects.create(email="alice@cordee.test", ip="192.0.2.1", at=now - dt.timedelta(days=29))
    assert lockout.purge_older_than() == 2
    assert list(LoginFailure.objects.values_list("pk", flat=True)) == [recent.pk]
    entry = AuditEntry.objects.get(action="login.failures_purged")
    assert (entry.actor_id, entry.category, entry.target_type, entry.patient_id) == (None, "security", "account", None)
    assert entry.details == {"deleted": 2, "older_than_days": 30}  # counts only: no address, no e-mail


def test_nothing_to_purge_writes_nothing():
    LoginFailure.objects.create(email="alice@cordee.test", ip="192.0.2.1")
    assert lockout.purge_older_than() == 0
    assert not AuditEntry.objects.filter(action="login.failures_purged").exists()


def test_the_purge_is_scheduled_daily():
    (job,) = [job for job in registered() if job.name == "accounts.purge_login_failures"]
    assert job.run is lockout.purge_older_than and job.every() == dt.timedelta(days=1) and job.shared
