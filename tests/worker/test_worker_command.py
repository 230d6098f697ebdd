"""``manage.py worker``: django-tasks' worker with the scheduler beside it (in the demo too)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from cordee.audit import services
from cordee.audit.models import AuditCheckpoint
from cordee.worker.models import JobRun

ROOT = Path(__file__).resolve().parents[2]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


# transaction=True: the task worker closes a connection found inside a transaction (the test's).
@pytest.mark.django_db(transaction=True)
def test_batch_runs_the_due_jobs_then_the_queued_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    from cordee.messaging.tasks import purge_unsent_attachments

    queued = purge_unsent_attachments.enqueue()
    services.record("test.entry")
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*", verbosity=0)
    assert AuditCheckpoint.objects.get().seq == 1
    assert JobRun.objects.filter(name="audit.purge", succeeded=True).exists()
    queued.refresh()
    assert queued.status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_no_schedule_runs_tasks_only(settings):
    settings.TASKS = DATABASE_TASKS
    services.record("test.entry")
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", "--no-schedule", verbosity=0)
    assert not AuditCheckpoint.objects.exists() and not JobRun.objects.exists()


def _run(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", *arguments]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def _append(environment: dict[str, str]) -> int:
    """Append an entry from another process (as the web app would); its seq."""
    code = "import django; django.setup(); from cordee.audit import services; print(services.record('test.entry').seq)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, check=True)
    return int(done.stdout)


def _checkpoints(copy: Path) -> list[int]:
    return [json.loads(line)["seq"] for line in copy.read_text().splitlines()] if copy.exists() else []


def _wait_for(copy: Path, seq: int, worker: subprocess.Popen, seconds: float) -> float:
    """How long until a checkpoint in the copy seals entry ``seq``."""
    started = time.monotonic()
    while max(_checkpoints(copy), default=0) < seq:
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() - started < seconds, f"no checkpoint #{seq} after {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_the_worker_seals_new_entries_within_the_period_and_stops_cleanly(tmp_path):
    """As ``make demo`` runs it: a real process, on its own SQLite file, with the copy beside it."""
    copy = tmp_path / "data" / "audit-checkpoints.jsonl"
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TASKS_BACKEND"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="1",
        CORDEE_DATA_DIR=str(tmp_path / "data"),
        AUDIT_CHECKPOINT_SECONDS="2",
        AUDIT_CHECKPOINT_COPY=str(copy),
    )
    migrated = _run(environment, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    first = _append(environment)
    command = [sys.executable, "manage.py", "worker", "--queue-name", "*", "--no-reload", "--interval", "0.5"]
    worker = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(copy, first, worker, 30)  # at the first tick, once started
        later = _append(environment)
        # Within AUDIT_CHECKPOINT_SECONDS, give or take a busy machine (the bound itself: test_scheduler).
        assert _wait_for(copy, later, worker, 10) <= 2 + 4
        verified = _run(environment, "audit", "verify", "--strict")
        assert verified.returncode == 0, verified.stderr
        assert f"({len(_checkpoints(copy))} in the copy)" in verified.stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors.decode()
    assert b"Traceback" not in errors


@pytest.mark.django_db(transaction=True)
def test_the_worker_freezes_what_it_loaded_before_its_tasks(settings, monkeypatch):
    """Full collections skip what every task would load anyway (Django, the apps): the worker
    settles it before running anything, as the web process does."""
    import gc

    settings.TASKS = DATABASE_TASKS
    before = gc.get_freeze_count()
    try:
        call_command("worker", "--batch", "--no-startup-delay", "--no-reload", "--no-schedule", verbosity=0)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()  # the test process's objects back to the collector
