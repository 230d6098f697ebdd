"""The referral and tele-expertise list pages with 10,000 requests of each (issue 15), on SQLite
and on PostgreSQL, against a baseline page measured in the same run.

Run: ``.venv/bin/python bench/referrals/run.py`` (``--requests N`` per page, ``--rows N``,
``--only sqlite|postgres``). Each database runs in a child process with a fresh data directory:
SQLite in a temporary folder; PostgreSQL in a new database (``createdb`` on 127.0.0.1:5432, user
``postgres``, named after the run, dropped at the end; skipped when no server answers). The
child migrates, seeds the demo personas, inserts ``--rows`` referrals (Alice → Charlie, Paula)
and as many tele-expertise requests (bulk, encrypted as in production), then times through
Django's test client (the whole middleware stack, session and MFA checks included), the pages
interleaved (each round times one request of each):

- ``baseline``: Charlie's patient list (``/patients/``, empty: he is in no care team): the request
  path of an authenticated page in the shell (session, MFA, navigation and its waiting counts,
  base template), nothing of the lists;
- ``received``: Charlie's ``/adressages/`` and ``sent``: Alice's ``/adressages/envoyes/``, pages
  drawn at random among the 400, with a filter (state, urgency, overdue) one time in three;
- ``expertise``: Charlie's ``/avis/`` (named to him), same drawing.

Report: bench/referrals/report.json and report.md (p50, p99, max in ms; p99 / baseline p99).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PG = ("127.0.0.1", 5432)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _fill(alice, charlie, patient, rows: int) -> None:
    from django.utils import timezone

    from cordee.audit.services import actor_display
    from cordee.expertise.models import Expertise
    from cordee.referrals.models import Referral

    now = timezone.now()
    states = ["sent", "accepted", "appointment", "reported", "closed", "declined"]
    a, c = actor_display(alice), actor_display(charlie)
    Referral.objects.bulk_create(
        (
            Referral(
                patient=patient,
                requester=alice,
                requester_display=a,
                receiver=charlie,
                receiver_display=c,
                state=states[n % len(states)],
                urgency=("routine", "week", "urgent")[n % 3],
                reason=f"Motif {n}",
                sent_at=now - dt.timedelta(minutes=n),
                due_at=now + dt.timedelta(days=(n % 9) - 4),
                updated_at=now - dt.timedelta(minutes=n),
            )
            for n in range(rows)
        ),
        batch_size=500,
    )
    Expertise.objects.bulk_create(
        (
            Expertise(
                patient=patient,
                requester=alice,
                requester_display=a,
                expert=charlie,
                expert_display=c,
                state=("sent", "accepted", "answered", "closed")[n % 4],
                question=f"Question {n}",
                consent_how="oral",
                consent_at=now.date(),
                sent_at=now - dt.timedelta(minutes=n),
                updated_at=now - dt.timedelta(minutes=n),
            )
            for n in range(rows)
        ),
        batch_size=500,
    )


def child(args: argparse.Namespace) -> None:
    os.environ.update(DEBUG="1", CORDEE_PLAIN_STATIC="1", API_RATE_LIMITS="")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from cordee import demo
    from cordee.lib.asgi import settle_startup_objects
    from tests.conftest import login_as

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    users = demo.seed(with_mfa=False)
    alice, charlie, patient = users["alice"], users["charlie"], users["paula"].patient
    _fill(alice, charlie, patient, args.rows)
    if connection.vendor == "postgresql":
        # A table that grew to 10,000 rows over months has been vacuumed and analysed by autovacuum;
        # one bulk-loaded a second ago has neither statistics (the planner guesses 33 rows) nor a
        # visibility map (index-only scans read the heap). Measure the steady state, not that second.
        with connection.cursor() as cursor:
            for table in ("referrals_referral", "expertise_expertise"):
                cursor.execute(f"VACUUM ANALYZE {table}")  # noqa: S608 -- fixed table names
    clients = {}
    for name, user in (("alice", alice), ("charlie", charlie)):
        clients[name] = Client()
        login_as(clients[name], user)
    pages = max(1, args.rows // 25)
    settle_startup_objects()  # as cordee/asgi.py does once the server has started
    chooser = random.Random(15)

    def params() -> dict[str, object]:
        if chooser.random() < 1 / 3:
            return chooser.choice([{"etat": "sent"}, {"urgence": "urgent"}, {"retard": "1"}, {"etat": "accepted"}])
        return {"page": chooser.randint(1, pages)}

    plan = {
        "baseline": ("charlie", "/patients/", lambda: {}),
        "received": ("charlie", "/adressages/", params),
        "sent": ("alice", "/adressages/envoyes/", params),
        "expertise": ("charlie", "/avis/", lambda: {"page": chooser.randint(1, pages)}),
    }
    # Interleaved: each round times one request of every page, so that a noisy moment of a shared
    # machine falls on all of them alike, not on whichever page was being timed then.
    for who, url, make in plan.values():
        for _warm in range(5):
            clients[who].get(url, make())
    timings: dict[str, list[float]] = {name: [] for name in plan}
    pauses: list[float] = []  # the garbage collector's full (generation 2) collections while timing
    started: list[float] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started.append(time.perf_counter())
            elif started:
                pauses.append((time.perf_counter() - started.pop()) * 1000)

    gc.callbacks.append(watch)
    for _round in range(args.requests):
        for name, (who, url, make) in plan.items():
            query = make()
            start = time.perf_counter()
            response = clients[who].get(url, query)
            timings[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    results = {
        name: {
            "url": url,
            "p50_ms": _percentile(timings[name], 0.5),
            "p99_ms": _percentile(timings[name], 0.99),
            "max_ms": max(timings[name]),
        }
        for name, (_who, url, _make) in plan.items()
    }
    base = results["baseline"]["p99_ms"]
    for row in results.values():
        row["p99_vs_baseline"] = row["p99_ms"] / base
    gc.callbacks.remove(watch)
    collections = {"count": len(pauses), "max_ms": max(pauses, default=0.0), "total_ms": sum(pauses)}
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(json.dumps({"database": database, "pages": results, "gc_full_collections": collections}))


def _run(database: str, args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"cordee-bench-referrals-{database}-"))
    env = dict(os.environ, CORDEE_DATA_DIR=str(folder))
    env.pop("DATABASE_URL", None)
    db_name = f"cordee_bench_referrals_{os.getpid()}"
    if database == "postgres":
        if not _reachable(*PG) or shutil.which("createdb") is None:
            return {"database": "postgresql", "skipped": "no PostgreSQL server on 127.0.0.1:5432"}
        subprocess.run(["createdb", "-h", PG[0], "-U", "postgres", db_name], check=True, capture_output=True)
        env["DATABASE_URL"] = f"postgres://postgres@{PG[0]}:{PG[1]}/{db_name}"
    command = [
        sys.executable,
        str(Path(__file__)),
        "--child",
        "--rows",
        str(args.rows),
        "--requests",
        str(args.requests),
    ]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=3600)  # noqa: S603
    finally:
        if database == "postgres":
            subprocess.run(
                ["dropdb", "-h", PG[0], "-U", "postgres", "--if-exists", db_name], capture_output=True, check=False
            )
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _markdown(report: dict) -> str:
    lines = [
        "# bench/referrals",
        "",
        f"{report['when']} · {report['machine']} · {report['rows']} referrals and {report['rows']} "
        f"tele-expertise requests · {report['requests']} requests per page",
        "",
        "| database | page | p50 ms | p99 ms | max ms | p99 / baseline p99 |",
        "|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        if "skipped" in run:
            lines.append(f"| {run['database']} | skipped: {run['skipped']} | | | | |")
            continue
        for name, row in run["pages"].items():
            lines.append(
                f"| {run['database']} | {name} (`{row['url']}`) | {row['p50_ms']:.1f} | **{row['p99_ms']:.1f}** "
                f"| {row['max_ms']:.1f} | {row['p99_vs_baseline']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--only", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="report")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "rows": args.rows,
        "requests": args.requests,
        "runs": [_run(database, args) for database in (args.only or ["sqlite", "postgres"])],
    }
    (HERE / f"{args.out}.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / f"{args.out}.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
