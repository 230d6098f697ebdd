"""Intrusion detection benchmark: audit entries per second the detector sustains, against the rate
the same run writes the trail at (issue 17, item 4: aim ≥ 10× the write rate of messaging).

Run: ``.venv/bin/python bench/security/run.py`` (``--entries N`` per repetition). For each database
(a SQLite file with the production pragmas, and PostgreSQL if reachable, else skipped with a
message) a child process migrates a fresh database, creates 40 professionals of one structure and
their direct conversations (each writes to the next), writes a past trail of ``--history``
entries (batched; the detector's cursor starts after it, but the rules look into it for their
context and the accounts' known addresses), analyses it (as the worker's hourly
``database.statistics`` job does on SQLite, autovacuum on PostgreSQL), and 3 times:

- ``messages``: N messages through the messaging service (``send_messages``), each alone in its
  own transaction, each writing its ``message.sent`` audit entry: the rate at which messaging,
  the busiest writer, adds to the trail (the messaging bench measures the same path behind the
  server's sockets: 572 messages/s on SQLite, 385–520 on PostgreSQL + Redis, 2026-12-01);
- ``write``: appends N entries of a demo-like day (sign-ins, patients opened, documents read and
  downloaded, patient lists, a few failed sign-ins) through ``audit.record``, each in its own
  transaction: bare appends, the fastest any single writer adds entries;
- ``detect``: runs the worker's job (``do_detect``) over those 2 × N entries, from the cursor,
  once after the messages and once after the day (each run then reads a batch in time order, as
  the worker's periodic job does): every rule, and the verification of the trail's tail since the
  last checkpoint (one is signed after the past trail, as the worker's ``audit.checkpoint`` job
  would have).

Ratios: detection / messages (the aim: ≥ 10×) and detection / bare appends. The report goes to
bench/security/report.json and report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
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
USERS = 40
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_security"


def _setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query logging while timing
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _requests(users: list[Any]) -> dict[int, Any]:
    """Each professional's request (address, browser), the same every day."""
    from django.test import RequestFactory

    factory = RequestFactory()
    return {
        user.pk: factory.get("/", REMOTE_ADDR=f"192.0.2.{i + 1}", HTTP_USER_AGENT=f"Mozilla/5.0 bench {i % 3}")
        for i, user in enumerate(users)
    }


def _professionals() -> list[Any]:
    """``USERS`` professionals of one structure (so that they may write to each other)."""
    from cordee.accounts.models import Membership, Professional, Structure, User

    structure = Structure.objects.create(name="Centre du banc d'essai", kind=Structure.Kind.MAISON_SANTE)
    users = []
    for i in range(USERS):
        user = User.objects.create_user(f"pro{i}@bench.test", kind=User.Kind.PROFESSIONAL, last_name=f"Pro{i}")
        Professional.objects.create(user=user, rpps=f"1{i:010d}", profession_code="10")
        Membership.objects.create(user=user, structure=structure)
        users.append(user)
    return users


def _send(count: int, users: list[Any], directs: list[int], requests: dict[int, Any], label: str) -> None:
    """``count`` messages through the messaging service, each sent alone (its own transaction, one
    ``message.sent`` audit entry), as a socket's send is stored when no other waits beside it."""
    from cordee.messaging.services.sending import SendError, SendRequest, send_messages

    for n in range(count):
        user = users[n % USERS]
        request = SendRequest(
            user, directs[n % USERS], f"Message {n} du banc d'essai", f"{label}-{n:07d}", request=requests[user.pk]
        )
        (result,) = send_messages([request])
        assert not isinstance(result, SendError), result


def _day(entries: int, users: list[Any], rng: random.Random, start: dt.datetime) -> list[tuple[str, dict]]:
    """``entries`` (action, arguments) of ordinary traffic, spread over a working day."""
    requests = _requests(users)
    step = dt.timedelta(hours=10) / max(entries, 1)
    out: list[tuple[str, dict]] = []
    for n in range(entries):
        user = users[n % len(users)]
        at = start + step * n
        common = {"actor": user, "request": requests[user.pk], "at": at}
        roll = rng.random()
        patient = rng.randrange(10_000, 14_000)
        if roll < 0.01:
            out.append(("login.success", {**common, "target": user}))
        elif roll < 0.012:
            out.append(
                (
                    "login.failed",
                    {
                        "request": requests[user.pk],
                        "at": at,
                        "target_type": "account",
                        "target_id": user.email,
                        "outcome": "failure",
                    },
                )
            )
        elif roll < 0.55:
            out.append(("patient.read", {**common, "patient_id": patient, "purpose": "patient.view"}))
        elif roll < 0.75:
            out.append(("patient.read", {**common, "patient_id": patient, "purpose": "patient.list"}))
        elif roll < 0.95:
            out.append(("document.read", {**common, "patient_id": patient, "purpose": "record.view"}))
        else:
            out.append(("document.downloaded", {**common, "patient_id": patient}))
    return out


def child(entries: int, history: int) -> dict[str, Any]:
    _setup_django()
    from django.db import connection, transaction
    from django.db.models import Max

    from cordee.audit import services as audit
    from cordee.audit.models import AuditEntry
    from cordee.messaging.services import do_start_direct
    from cordee.security.models import DetectionCursor
    from cordee.security.services import do_detect

    users = _professionals()
    requests = _requests(users)
    # user i writes to user i + 1 (the last to the first)
    directs = [do_start_direct(user, users[(i + 1) % USERS].pk).pk for i, user in enumerate(users)]
    rng = random.Random(17)
    runs: dict[str, list[float]] = {"messages": [], "write": [], "detect": []}
    raised = []
    start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    past = _day(history, users, rng, start - dt.timedelta(days=30))
    for chunk in range(0, len(past), 1000):
        with transaction.atomic():
            audit.record_many([{"action": action, **arguments} for action, arguments in past[chunk : chunk + 1000]])
    # A trail that grew to this size has been analysed long before: hourly by the worker's
    # database.statistics job on SQLite, by autovacuum on PostgreSQL. Measure that steady state.
    from cordee.worker.statistics import refresh

    refresh()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditentry")
    head = AuditEntry.objects.aggregate(head=Max("seq"))["head"] or 0
    DetectionCursor.objects.update_or_create(name="audit", defaults={"seq": head})
    # The worker seals the trail every AUDIT_CHECKPOINT_SECONDS: the detection's verification of
    # the tail (do_verify_tail) starts from the last checkpoint, as in production.
    from cordee.audit import checkpoints

    checkpoints.make_checkpoint()
    for repetition in range(REPETITIONS):
        # The worker's job runs every few seconds over what was written since: here once after
        # the messages (written now) and once after the day's entries (dated within their day),
        # so that each run reads a batch in time order, as in production.
        scanned, spent, alerts = 0, 0.0, 0
        began = time.perf_counter()
        _send(entries, users, directs, requests, f"r{repetition}")
        runs["messages"].append(entries / (time.perf_counter() - began))
        began = time.perf_counter()
        outcome = do_detect()
        spent += time.perf_counter() - began
        scanned, alerts = scanned + outcome.scanned, alerts + outcome.raised
        day = _day(entries, users, rng, start + dt.timedelta(days=repetition))
        began = time.perf_counter()
        for action, arguments in day:
            with transaction.atomic():
                audit.record(action, **arguments)
        runs["write"].append(entries / (time.perf_counter() - began))
        began = time.perf_counter()
        outcome = do_detect()
        spent += time.perf_counter() - began
        scanned, alerts = scanned + outcome.scanned, alerts + outcome.raised
        runs["detect"].append(scanned / spent)
        raised.append(alerts)
    return {"runs": runs, "alerts_raised": raised, "vendor": connection.vendor, "history": history}


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _run_child(environment: dict[str, str], entries: int, history: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--entries", str(entries), "--history", str(history)]
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


def _postgres(entries: int, history: int, data_dir: str) -> dict[str, Any]:
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
            return _run_child({**_base_environment(data_dir), "DATABASE_URL": url}, entries, history)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Intrusion detection benchmark",
        "",
        f"{report['generated_at']} · Python {report['python']} · {report['machine']} · "
        f"{report['entries_per_repetition']} entries × {REPETITIONS} repetitions after a past trail of "
        f"{report['history']} entries · entries/s, median (min–max)",
        "",
        "| database | messages sent (audit entries/s) | trail written by `audit.record` | detection "
        "| detection / messages | detection / `audit.record` | alerts raised |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, backend in report["databases"].items():
        if "skipped" in backend:
            lines.append(f"| {name} | skipped: {backend['skipped']} | | | | | |")
            continue
        s = backend["summary"]

        def cell(key: str, s: dict = s) -> str:
            return f"{s[key]['median']:.0f} ({s[key]['min']:.0f}–{s[key]['max']:.0f})"

        lines.append(
            f"| {name} | {cell('messages')} | {cell('write')} | {cell('detect')} "
            f"| **{backend['ratio_messages_median']:.1f}×** | {backend['ratio_write_median']:.1f}× "
            f"| {sum(backend['alerts_raised'])} |"
        )
    lines += [
        "",
        "Aim (issue 17): detection ≥ 10× the rate messaging writes the trail at (one `message.sent` entry",
        "per message, each sent in its own transaction); a normal day raises no alert. The last column",
        "compares with bare `audit.record` appends, the fastest any one writer can add entries.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000, help="entries written and scanned per repetition")
    parser.add_argument("--history", type=int, default=100_000, help="entries of past trail written first")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments.entries, arguments.history)))
        return 0
    databases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cordee-bench-security-") as data_dir:
        print("SQLite (file, WAL, synchronous=FULL)…", flush=True)
        databases["sqlite"] = _run_child(_base_environment(data_dir + "/sqlite"), arguments.entries, arguments.history)
        print("PostgreSQL…", flush=True)
        databases["postgresql"] = _postgres(arguments.entries, arguments.history, data_dir + "/postgres")
    for backend in databases.values():
        if "runs" in backend:
            runs = backend["runs"]
            backend["summary"] = {key: _summary(values) for key, values in runs.items()}
            for reference in ("messages", "write"):
                ratios = [d / w for d, w in zip(runs["detect"], runs[reference], strict=True)]
                backend[f"ratios_{reference}"] = ratios
                backend[f"ratio_{reference}_median"] = statistics.median(ratios)
    report = {
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "entries_per_repetition": arguments.entries,
        "history": arguments.history,
        "databases": databases,
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
