"""Several OS processes append at once: the chain has no fork, no gap, and every entry is there."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import verify_chain
from tests.conftest import sqlite_run_only

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4

# One appender: waits for the starting gun, then appends, each entry in its own transaction.
WORKER = """
import os, sys, time
import django
django.setup()
from django.db import transaction
from cordee.audit import services
worker, count, gate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
open(f"{gate}.ready{worker}", "w").close()
while not os.path.exists(gate):
    time.sleep(0.002)
for number in range(count):
    with transaction.atomic():
        services.record("test.concurrent", target_type="worker", target_id=worker, details={"n": number})
"""


def _run_workers(environment: dict[str, str], gate: Path, per_worker: int) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(number), str(per_worker), str(gate)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(WORKERS)
    ]
    deadline = time.monotonic() + 120
    while not all(Path(f"{gate}.ready{number}").exists() for number in range(WORKERS)):
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(worker.poll() is None for worker in workers), [w.communicate() for w in workers if w.poll()]
        time.sleep(0.01)
    gate.touch()  # all at once
    for worker in workers:
        _, errors = worker.communicate(timeout=240)
        assert worker.returncode == 0, errors


def _environment(tmp_path: Path, signing_key: Path, mac_key: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="1",
        CORDEE_DATA_DIR=str(tmp_path / "data"),
        AUDIT_SIGNING_KEY_FILE=str(signing_key),
        AUDIT_MAC_KEY_FILE=str(mac_key),
        AUDIT_CHECKPOINT_EVERY="100",  # checkpoints are signed concurrently with the appends, too
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        **extra,
    )
    return environment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_processes_append_to_one_chain_on_postgresql(tmp_path, signing_key, mac_key):
    if connection.vendor != "postgresql":
        pytest.skip("this run uses SQLite: the PostgreSQL run (DATABASE_URL, as in CI) tests this")
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    environment = _environment(tmp_path, signing_key, mac_key, DATABASE_URL=url)
    # One start first, so that the DEBUG keys of the data directory exist before the race.
    started = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True)
    assert started.returncode == 0, started.stderr
    per_worker = 200
    _run_workers(environment, tmp_path / "go", per_worker)

    total = WORKERS * per_worker
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    for worker in range(WORKERS):
        numbers = AuditEntry.objects.filter(target_id=str(worker)).values_list("details__n", flat=True)
        assert sorted(numbers) == list(range(per_worker))
    result = verify_chain()
    assert result.ok, result.problems
    assert result.entries == total
    assert result.checkpoints == AuditCheckpoint.objects.count() >= 1


def test_four_processes_append_to_one_chain_on_a_sqlite_file(tmp_path, signing_key, mac_key):
    sqlite_run_only("four processes appending to a SQLite file")
    environment = _environment(tmp_path, signing_key, mac_key)
    manage = [sys.executable, "manage.py"]
    migrated = subprocess.run(
        [*manage, "migrate", "audit", "--noinput"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    per_worker = 150
    _run_workers(environment, tmp_path / "go", per_worker)
    verified = subprocess.run([*manage, "audit", "verify"], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"OK: audit chain verified: {WORKERS * per_worker} entries (#1..#600, 0 purged)")


# Rotates the signing key while the appenders (and the checkpoints they trigger) run.
ROTATOR = """
import os, sys, time
import django
django.setup()
from cordee.audit import rotation
gate, times = sys.argv[1], int(sys.argv[2])
open(f"{gate}.ready-rotator", "w").close()
while not os.path.exists(gate):
    time.sleep(0.002)
for _ in range(times):
    time.sleep(0.3)
    rotation.rotate()
"""


def test_the_signing_key_rotates_while_processes_append_and_seal(tmp_path, signing_key, mac_key):
    """No checkpoint is signed by a key on its way out, nor dated before the key that signs it."""
    environment = {**_environment(tmp_path, signing_key, mac_key), "AUDIT_CHECKPOINT_EVERY": "20"}
    manage = [sys.executable, "manage.py"]
    migrated = subprocess.run(
        [*manage, "migrate", "audit", "--noinput"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    gate = tmp_path / "go"
    rotator = subprocess.Popen(
        [sys.executable, "-c", ROTATOR, str(gate), "2"], cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not Path(f"{gate}.ready-rotator").exists():
        assert time.monotonic() < deadline and rotator.poll() is None, rotator.communicate()
        time.sleep(0.01)
    _run_workers(environment, gate, 150)
    _, errors = rotator.communicate(timeout=240)
    assert rotator.returncode == 0, errors
    sealed = subprocess.run([*manage, "audit", "checkpoint"], cwd=ROOT, env=environment, capture_output=True)
    assert sealed.returncode == 0, sealed.stderr
    verified = subprocess.run([*manage, "audit", "verify"], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"OK: audit chain verified: {WORKERS * 150 + 2} entries")
    listed = subprocess.run([*manage, "audit", "public-key"], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert listed.stdout.count("retired key id") == 2
    database = sqlite3.connect(tmp_path / "data" / "cordee.sqlite3")
    try:  # each of the three keys sealed part of the trail
        ((keys,),) = database.execute("SELECT count(DISTINCT key_id) FROM audit_auditcheckpoint").fetchall()
    finally:
        database.close()
    assert keys == 3
