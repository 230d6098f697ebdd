"""``manage.py worker``: django-tasks' database worker, plus Cordée's scheduled jobs.

It takes every option of ``manage.py db_worker`` (``--queue-name '*'``, ``--interval``, ``--batch``…)
and runs that worker unchanged in the main thread, with the scheduler (``cordee.worker.jobs``) in a
thread of its own: audit checkpoints every ``AUDIT_CHECKPOINT_SECONDS`` when entries wait, the daily
audit purge, the purge of old failed logins and of unsent attachments. Run one or several: the jobs
are made for it (see ``jobs.py``). ``--batch`` runs the due jobs once, then the queued tasks, then
exits; ``--no-schedule`` runs tasks only.
"""

from __future__ import annotations

import gc
import logging
import os
from argparse import ArgumentParser
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from cordee.worker.jobs import Scheduler, SchedulerThread, registered

logger = logging.getLogger("cordee.worker")


class Command(DbWorkerCommand):
    help = "Run the background tasks and the scheduled jobs (audit checkpoints, purges)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help="run the queued tasks only, not the scheduled jobs (another worker runs them)",
        )

    def handle(self, **options: Any) -> None:
        no_schedule = options.pop("no_schedule", False)
        # With --reload, this runs twice: in the watching parent and in the child that works;
        # only the child schedules.
        watching = options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if watching:
            super().handle(**options)
            return
        # What is loaded by now (Django, the apps and their models) is frozen out of the collector's
        # full passes, as the web process does (lib.asgi.settle_startup_objects, a layer above this
        # app): a PubMed import spent ~13 % of its time walking those objects (bench/library).
        gc.collect()
        gc.freeze()
        if no_schedule:
            super().handle(**options)
            return
        scheduler = Scheduler(registered())
        if options.get("batch"):
            scheduler.run_due()
            super().handle(**options)
            return
        thread = SchedulerThread(scheduler)
        logger.info("scheduled jobs: %s", ", ".join(job.name for job in scheduler.jobs))
        thread.start()
        try:
            super().handle(**options)
        finally:  # (also on SIGTERM / Ctrl-C, which the task worker turns into SystemExit)
            thread.stop()
