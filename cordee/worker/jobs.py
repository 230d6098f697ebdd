"""Scheduled jobs: what Cordée's worker (``manage.py worker``) runs besides the queued tasks.

django-tasks queues work but has no periodic tasks, and the audit trail needs one: a checkpoint at
most ``AUDIT_CHECKPOINT_SECONDS`` after any new entry. Each app registers its jobs from its
``AppConfig.ready`` (apps only import the ones below them, and this one is below every app), and
the worker's scheduler thread runs them when due:

- a **shared** job runs at most once per period across all workers: a worker first moves the job's
  ``JobRun.due_at`` forward with a conditional UPDATE, and runs it only if that UPDATE changed the
  row (so two workers never both run the daily purge, and a restart does not run it again);
- a **per-worker** job (``shared=False``) runs in every worker once per period, for work that is
  harmless to repeat and must not wait for a claim held by a worker that died: the audit
  checkpoint, which takes a lock and does nothing when nothing is new.

A job that raises is logged (its exception's type and message: the jobs' own messages carry seqs
and counts, no personal data) and tried again after ``RETRY`` (or its period, if shorter). The
scheduler takes its clock as an argument, so that tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connections
from django.utils import timezone

from cordee.worker.models import JobRun

logger = logging.getLogger("cordee.worker")

RETRY = dt.timedelta(minutes=5)
PAUSE_AFTER_ERROR = 5.0  # seconds, when the database itself failed (e.g. SQLite busy): soon, not in a burst
IDLE = dt.timedelta(minutes=1)  # the longest the scheduler sleeps, to notice a changed row or a stop


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], dt.timedelta]  # read at each run: settings may change (tests do)
    run: Callable[[], object]
    shared: bool = True


_registry: dict[str, Job] = {}


def register(job: Job) -> None:
    """Add (or replace, by name) a job that every worker runs when due."""
    _registry[job.name] = job


def registered() -> list[Job]:
    return list(_registry.values())


def daily() -> dt.timedelta:
    return dt.timedelta(days=1)


def hourly() -> dt.timedelta:
    return dt.timedelta(hours=1)


class Scheduler:
    def __init__(self, jobs: list[Job], *, clock: Callable[[], dt.datetime] = timezone.now) -> None:
        self.jobs, self.clock = jobs, clock
        self._due: dict[str, dt.datetime] = {}  # when each job is next worth looking at

    def run_due(self) -> list[str]:
        """Run every job that is due now; the names of those run (whatever their outcome)."""
        ran = []
        for job in self.jobs:
            now = self.clock()
            if self._due.get(job.name, now) > now:
                continue
            if job.shared and not self._claim(job, now):
                continue
            if not job.shared:
                self._due[job.name] = now + job.every()
            ran.append(job.name)
            self._run(job, now)
        return ran

    def seconds_to_wait(self) -> float:
        """Until the next job is due (at most ``IDLE``)."""
        now = self.clock()
        wake = min([now + IDLE, *self._due.values()])
        return max((wake - now).total_seconds(), 0.0)

    def _claim(self, job: Job, now: dt.datetime) -> bool:
        """Move a shared job's due time forward, if it has come; whether this worker got it."""
        JobRun.objects.get_or_create(name=job.name, defaults={"due_at": now})
        claimed = JobRun.objects.filter(name=job.name, due_at__lte=now).update(
            due_at=now + job.every(), started_at=now, finished_at=None, succeeded=None
        )
        due_at = JobRun.objects.filter(name=job.name).values_list("due_at", flat=True).first()
        self._due[job.name] = due_at or now + job.every()
        return claimed == 1

    def _run(self, job: Job, now: dt.datetime) -> None:
        try:
            outcome = job.run()
        except Exception as exc:  # a job's failure must not stop the others, nor the worker
            logger.error("scheduled job %s failed: %s: %s", job.name, type(exc).__name__, exc)
            retry = now + min(RETRY, job.every())
            self._due[job.name] = retry
            if job.shared:
                JobRun.objects.filter(name=job.name).update(due_at=retry, finished_at=self.clock(), succeeded=False)
            return
        if job.shared:
            JobRun.objects.filter(name=job.name).update(finished_at=self.clock(), succeeded=True)
        if outcome:
            logger.info("scheduled job %s: %s", job.name, outcome)


class SchedulerThread(threading.Thread):
    """The scheduler beside the task worker: its own thread (and database connection), so that a
    long task (a drug database import) never delays a checkpoint."""

    def __init__(self, scheduler: Scheduler) -> None:
        super().__init__(name="cordee-scheduler", daemon=True)
        self.scheduler = scheduler
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    self.scheduler.run_due()
                except Exception as exc:  # the database went away for a while: try again later
                    logger.error("scheduler: %s: %s", type(exc).__name__, exc)
                    self.stopping.wait(PAUSE_AFTER_ERROR)
                    continue
                self.stopping.wait(self.scheduler.seconds_to_wait())
        finally:
            connections.close_all()  # this thread's connections

    def stop(self, timeout: float = 60) -> None:
        """Ask to stop after the job running now, and wait for it."""
        self.stopping.set()
        self.join(timeout)
