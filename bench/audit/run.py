"""Audit trail benchmark: append rate through ``record()`` and verify rate, against plain inserts.

Run: ``.venv/bin/python bench/audit/run.py`` (``--entries N`` per repetition). For each database
(a SQLite file with the production pragmas — WAL, synchronous=FULL, BEGIN IMMEDIATE — and PostgreSQL
if reachable, else skipped with a message) a child process migrates a fresh database and measures,
3 times, in the same run:

- ``append``: ``record()`` with each entry in its own transaction (as in real use), against
  ``plain``: an ORM insert of the same values into a table of the same shape (same columns, same
  indexes, created by the bench), each in its own transaction, and against ``plain_raw``: the same
  single pre-built INSERT that ``record()`` uses, without the lock, the head read and the hashing;
- ``append_batched`` vs ``plain_batched``: the same with 100 entries per transaction (CPU cost
  without the commit's fsync);
- ``verify``: ``verify_chain()`` over the entries appended, against ``scan``: a plain streaming
  read of the same rows.

The report (median, min, max of the 3 repetitions, and ratios) goes to bench/audit/report.json and
bench/audit/report.md. Aim: append ≥ 50 % of plain inserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REPETITIONS = 3
BATCH = 100
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_audit"


# --- child: one database ---------------------------------------------------------------------
def _setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # DEBUG=1 only created the data directory's keys; no query logging while timing
    from django.core.management import call_command

    call_command("migrate", "audit", verbosity=0)
    call_command("migrate", "django_tasks_database", verbosity=0)


def _plain_model() -> Any:
    """An unchained model with the audit table's columns and indexes, in its own table."""
    from django.db import connection, models

    from cordee.audit.models import AuditEntry

    fields = {field.name: field.clone() for field in AuditEntry._meta.local_fields}
    meta = type("Meta", (), {"app_label": "audit", "db_table": "bench_plain_entry"})
    model = type("BenchPlainEntry", (models.Model,), {**fields, "__module__": __name__, "Meta": meta})
    with connection.schema_editor() as editor:
        editor.create_model(model)
    return model


def _values(number: int) -> dict[str, Any]:
    return {
        "action": "bench.patient_viewed",
        "category": "access",
        "target_type": "care.patient",
        "target_id": str(number),
        "target_display": "Patient",
        "patient_id": number,
        "purpose": "care",
        "details": {"n": number, "page": "summary"},
    }


def _timed(count: int, body: Any) -> float:
    started = time.perf_counter()
    body()
    return count / (time.perf_counter() - started)


def _append(count: int, batch: int) -> float:
    from django.db import transaction

    from cordee.audit.services import record

    def body() -> None:
        for start in range(0, count, batch):
            with transaction.atomic():
                for number in range(start, min(start + batch, count)):
                    record(**_values(number))

    return _timed(count, body)


def _plain(model: Any, count: int, batch: int, offset: int) -> float:
    import hashlib

    from django.db import transaction
    from django.utils import timezone

    def body() -> None:
        for start in range(0, count, batch):
            with transaction.atomic():
                for number in range(start, min(start + batch, count)):
                    values = _values(number)
                    unique = hashlib.sha256(f"{offset + number}".encode()).hexdigest()
                    model.objects.create(
                        seq=offset + number,
                        created_at=timezone.now(),
                        prev_hash="0" * 64,
                        content_hash=unique,
                        entry_hash=unique,
                        outcome="success",
                        actor_display={},
                        **values,
                    )

    return _timed(count, body)


def _plain_raw(model: Any, count: int, offset: int) -> float:
    """The strictest baseline: the same single pre-built INSERT as ``record()``, minus the chain."""
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from cordee.audit.services import _insert, _Statements

    statements = _Statements(model)

    def body() -> None:
        for number in range(count):
            unique = hashlib.sha256(f"raw{offset + number}".encode()).hexdigest()
            values = {"seq": offset + number, "created_at": timezone.now(), "prev_hash": "0" * 64}
            values.update(content_hash=unique, entry_hash=unique, outcome="success", actor_display={})
            values.update(actor_id=None, ip=None, user_agent="", purged_at=None, **_values(number))
            with transaction.atomic(), connection.cursor() as cursor:
                _insert(cursor, values, statements)

    return _timed(count, body)


def _verify_and_scan() -> tuple[float, float]:
    from cordee.audit.models import AuditEntry
    from cordee.audit.verify import _FIELDS, verify_chain

    total = AuditEntry.objects.count()
    started = time.perf_counter()
    for _ in AuditEntry.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=2000):
        pass
    scan = total / (time.perf_counter() - started)
    started = time.perf_counter()
    result = verify_chain(check_checkpoints=True)
    verify = total / (time.perf_counter() - started)
    assert result.ok, result.problems
    return verify, scan


def profile(entries: int) -> None:
    """Where ``record()`` spends its time (pyinstrument, a dev dependency): bench/audit/profile-append.txt."""
    from pyinstrument import Profiler

    _setup_django()
    _append(200, 1)  # warm up
    profiler = Profiler(interval=0.0005)
    with profiler:
        _append(entries, 1)
    (HERE / "profile-append.txt").write_text(profiler.output_text(unicode=False, color=False))


def child(entries: int) -> dict[str, Any]:
    _setup_django()
    from django.db import connection

    model = _plain_model()
    names = ("append", "plain", "plain_raw", "append_batched", "plain_batched")
    runs: dict[str, list[float]] = {name: [] for name in names}
    runs.update(verify=[], scan=[])
    # Warm-up (not measured): first statements, page cache, the WAL file.
    _append(200, 1)
    _plain(model, 200, 1, 10**9)
    _plain_raw(model, 200, 10**9 + 1000)
    offset = 0
    for repetition in range(REPETITIONS):
        order = ("audit", "plain") if repetition % 2 == 0 else ("plain", "audit")  # no systematic warm-up bias
        for which in order:
            if which == "audit":
                runs["append"].append(_append(entries, 1))
                runs["append_batched"].append(_append(entries, BATCH))
            else:
                runs["plain"].append(_plain(model, entries, 1, offset))
                runs["plain_batched"].append(_plain(model, entries, BATCH, offset + entries))
                runs["plain_raw"].append(_plain_raw(model, entries, offset + 2 * entries))
                offset += 3 * entries
        verify, scan = _verify_and_scan()
        runs["verify"].append(verify)
        runs["scan"].append(scan)
    return {"vendor": connection.vendor, "entries_per_repetition": entries, "runs": runs}


# --- parent: both databases, report ---------------------------------------------------------
def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def _ratios(runs: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    pairs = {"append/plain": ("append", "plain"), "append/plain_raw": ("append", "plain_raw")}
    pairs["append_batched/plain_batched"] = ("append_batched", "plain_batched")
    pairs["verify/scan"] = ("verify", "scan")
    ratios = {}
    for name, (top, bottom) in pairs.items():
        each = [a / b for a, b in zip(runs[top], runs[bottom], strict=True)]
        ratios[name] = {
            "median_of_medians": round(statistics.median(runs[top]) / statistics.median(runs[bottom]), 3),
            "per_repetition": [round(value, 3) for value in each],
        }
    return ratios


def _run_child(environment: dict[str, str], entries: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--entries", str(entries)]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _base_environment(data_dir: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="1",
        CORDEE_DATA_DIR=data_dir,
        TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        LOG_LEVEL="WARNING",
    )
    return environment


def _postgres(entries: int, data_dir: str) -> dict[str, Any]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 (any failure to connect means: skip PostgreSQL)
        return {"skipped": f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"}
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
        admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        try:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
            return _run_child({**_base_environment(data_dir), "DATABASE_URL": url}, entries)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Audit trail benchmark",
        "",
        f"{report['generated_at']} · Python {report['python']} · {report['machine']} · "
        f"{report['entries_per_repetition']} entries × {REPETITIONS} repetitions · entries/s, median (min–max)",
        "",
        "| database | append (own tx) | plain ORM insert (own tx) | ratio | plain raw INSERT (own tx) | ratio "
        "| append (100/tx) | plain ORM (100/tx) | ratio | verify | plain scan | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, backend in report["databases"].items():
        if "skipped" in backend:
            lines.append(f"| {name} | skipped: {backend['skipped']} |" + " |" * 10)
            continue
        r = backend["ratios"]

        def cell(key: str, summary: dict = backend["summary"]) -> str:
            return f"{summary[key]['median']:.0f} ({summary[key]['min']:.0f}–{summary[key]['max']:.0f})"

        lines.append(
            f"| {name} | {cell('append')} | {cell('plain')} | {r['append/plain']['median_of_medians']:.0%} "
            f"| {cell('plain_raw')} | {r['append/plain_raw']['median_of_medians']:.0%} "
            f"| {cell('append_batched')} | {cell('plain_batched')} "
            f"| {r['append_batched/plain_batched']['median_of_medians']:.0%} "
            f"| {cell('verify')} | {cell('scan')} | {r['verify/scan']['median_of_medians']:.0%} |"
        )
    lines += ["", "Aim: append ≥ 50 % of plain inserts (each in its own transaction, as in real use)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000, help="entries per measurement and repetition")
    parser.add_argument("--profile", action="store_true", help="profile record() on SQLite instead (pyinstrument)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments.entries)))
        return 0
    if arguments.profile:
        with tempfile.TemporaryDirectory(prefix="cordee-bench-audit-") as data_dir:
            os.environ.update(_base_environment(data_dir))
            profile(arguments.entries)
        print(f"profile written to {HERE / 'profile-append.txt'}")
        return 0
    databases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cordee-bench-audit-") as data_dir:
        print("SQLite (file, WAL, synchronous=FULL)…", flush=True)
        databases["sqlite"] = _run_child(_base_environment(data_dir + "/sqlite"), arguments.entries)
        print("PostgreSQL…", flush=True)
        databases["postgresql"] = _postgres(arguments.entries, data_dir + "/postgres")
    for name, backend in databases.items():
        if "runs" in backend:
            backend["summary"] = {key: _summary(values) for key, values in backend["runs"].items()}
            backend["ratios"] = _ratios(backend["runs"])
        else:
            print(f"{name}: {backend['skipped']}")
    report = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "entries_per_repetition": arguments.entries,
        "repetitions": REPETITIONS,
        "databases": databases,
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
