"""The worker's scheduler, on a clock the tests move: checkpoints follow entries, shared jobs run once."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from cordee.accounts.models import LoginFailure
from cordee.audit import services
from cordee.audit.models import AuditCheckpoint, AuditEntry, AuditPurge
from cordee.audit.verify import verify_chain
from cordee.worker.jobs import IDLE, Job, Scheduler, daily, registered
from cordee.worker.models import JobRun

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def clock():
    return Clock(timezone.now().replace(microsecond=0))


def _job(name: str) -> Job:
    (job,) = [job for job in registered() if job.name == name]
    return job


def test_every_app_registers_its_jobs(settings):
    settings.AUDIT_CHECKPOINT_SECONDS = 30
    jobs = {job.name: (job.every(), job.shared) for job in registered()}  # (other apps may add theirs)
    assert jobs["audit.checkpoint"] == (dt.timedelta(seconds=30), False)
    assert jobs["audit.purge"] == (dt.timedelta(days=1), True)
    assert jobs["accounts.purge_login_failures"] == (dt.timedelta(days=1), True)
    assert jobs["messaging.purge_unsent_attachments"] == (dt.timedelta(hours=1), True)
    assert jobs["database.statistics"] == (dt.timedelta(hours=1), True)


def test_a_checkpoint_seals_every_entry_within_the_period(settings, clock):
    """The worker's loop, simulated: sleep as told, entries arriving meanwhile at awkward times."""
    settings.AUDIT_CHECKPOINT_SECONDS = 30
    start, end = clock.at, clock.at + dt.timedelta(minutes=11)  # the last arrival at 10 min, sealed after
    arrivals = [start + dt.timedelta(seconds=s) for s in (0.5, 2.5, 29.9, 30.0, 31, 95, 96, 200.2, 420, 599)]
    scheduler = Scheduler([_job("audit.checkpoint")], clock=clock)
    written: dict[int, dt.datetime] = {}  # seq -> when it was appended
    delays: dict[int, dt.timedelta] = {}  # seq -> how long it waited for its checkpoint
    while clock.at < end:
        scheduler.run_due()
        sealed = AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        for seq, at in written.items():
            if seq <= sealed and seq not in delays:
                delays[seq] = clock.at - at
        wait = scheduler.seconds_to_wait()
        assert 0 < wait <= 30
        wake = clock.at + dt.timedelta(seconds=wait)
        while arrivals and arrivals[0] < wake:  # appended while the scheduler sleeps
            at = arrivals.pop(0)
            written[services.record("test.arrival", at=at).seq] = at
        clock.at = wake
    assert len(delays) == len(written) == 10
    assert max(delays.values()) <= dt.timedelta(seconds=30)
    # One checkpoint per period with something new (at 30, 60, 120, 210, 450 and 600 s), none in quiet ones.
    assert AuditCheckpoint.objects.count() == 6
    result = verify_chain()
    assert result.ok and not result.warnings


def test_several_workers_seal_without_harm(clock):
    workers = [Scheduler([_job("audit.checkpoint")], clock=clock) for _ in range(3)]
    for _ in range(4):
        services.record("test.entry")
        for worker in workers:
            worker.run_due()
        clock.advance(seconds=30)
    # Each new head sealed once: the later workers found nothing new.
    assert list(AuditCheckpoint.objects.values_list("seq", "entry_count")) == [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert verify_chain().ok


def test_a_shared_job_runs_once_a_period_across_workers_and_restarts(clock):
    runs = []
    job = Job("test.daily", daily, lambda: runs.append(clock.at))
    first, second = Scheduler([job], clock=clock), Scheduler([job], clock=clock)
    assert first.run_due() == ["test.daily"]
    assert second.run_due() == []
    clock.advance(hours=3)
    assert Scheduler([job], clock=clock).run_due() == []  # a restarted worker does not run it again
    assert second.seconds_to_wait() == IDLE.total_seconds()  # it checks back at most a minute later
    clock.advance(hours=21)
    assert second.run_due() == ["test.daily"]
    assert first.run_due() == []
    assert len(runs) == 2
    row = JobRun.objects.get(name="test.daily")
    assert (row.due_at, row.succeeded) == (clock.at + dt.timedelta(days=1), True)


def test_a_failing_job_is_logged_retried_and_does_not_stop_the_others(clock, caplog):
    def broken() -> None:
        raise RuntimeError("the chain does not verify: entry #8 was altered")

    runs = []
    scheduler = Scheduler(
        [Job("test.broken", daily, broken), Job("test.fine", daily, lambda: runs.append(1))], clock=clock
    )
    with caplog.at_level(logging.ERROR, logger="cordee.worker"):
        assert scheduler.run_due() == ["test.broken", "test.fine"]
    assert (
        "scheduled job test.broken failed: RuntimeError: the chain does not verify: entry #8 was altered" in caplog.text
    )
    assert runs == [1]
    assert JobRun.objects.get(name="test.broken").succeeded is False
    clock.advance(minutes=4)
    assert scheduler.run_due() == []
    clock.advance(minutes=1)
    assert scheduler.run_due() == ["test.broken"]  # retried five minutes later, not a day


def test_the_registered_jobs_purge_and_then_seal_what_they_audited(settings, clock):
    settings.AUDIT_CHECKPOINT_SECONDS = 30
    LoginFailure.objects.create(email="alice@cordee.test", ip="192.0.2.1", at=timezone.now() - dt.timedelta(days=45))
    services.record("test.entry")
    scheduler = Scheduler(registered(), clock=clock)
    assert scheduler.run_due() == [job.name for job in registered()]
    assert not LoginFailure.objects.exists()
    assert AuditPurge.objects.count() == 1
    assert set(JobRun.objects.values_list("name", "succeeded")) >= {
        ("audit.purge", True),
        ("accounts.purge_login_failures", True),
        ("messaging.purge_unsent_attachments", True),
        ("database.statistics", True),
    }
    audited = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"audit.purged", "login.failures_purged"} <= audited
    clock.advance(seconds=30)
    assert scheduler.run_due() == ["audit.checkpoint"]  # the jobs' own entries, sealed at the next tick
    result = verify_chain()
    assert result.ok and not result.warnings
    assert AuditCheckpoint.objects.order_by("-seq").first().seq == AuditEntry.objects.order_by("-seq").first().seq
    clock.advance(hours=1)
    ran = scheduler.run_due()
    assert "messaging.purge_unsent_attachments" in ran and "audit.purge" not in ran  # hourly; the daily ones wait
