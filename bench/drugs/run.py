"""Drug database benchmark: BDPM search latency (in process and over HTTP), imports and updates.

Run: ``.venv/bin/python bench/drugs/run.py`` (``--data DIR``: the shared data folder, default
``$CORDEE_SHARED_DATA`` or ``../shared/data``; ``BENCH_POSTGRES_DB`` names the PostgreSQL database
it drops and creates, default ``cordee_bench_drugs``). For SQLite (a file, WAL, as in production)
and PostgreSQL (skipped with a message if unreachable), a child process migrates a fresh
database and measures, 3 times each, in the same run:

- ``import``: the whole BDPM snapshot (2026-05-26 and the 2023 HAS files) into empty tables;
  ``reimport``: the same snapshot again (nothing changed); ``update``: from an older state of the
  snapshot (``snapshots.py``: 4 % of the specialities not there yet, 2 % gone since, 60 % of the
  prices and 15 % of the holders different, 3 % of the other rows) to the real one — the
  monthly import. Baselines: reading and splitting the same lines (storing nothing), and the
  unchanged re-import (aim: update ≤ 2 × re-import).
- ``search``: ``cordee.drugs.search.search()`` for 500 queries (``workload.py``); p50 and p99 per
  repetition. Baselines on the same database, same queries: ``lookup`` an indexed lookup of one
  speciality by CIS, ``like`` a ``name LIKE 'query%'`` scan for 20 rows.
- ``http``: the same 500 queries over HTTP (``over_http.py``: uvicorn, ``DEBUG`` off, a signed-in
  session, keep-alive): the JSON API and the htmx results fragment, against the same request
  path refused before any search (``baseline``).
- ``index``: building the in-process index (and its memory, by tracemalloc).

Report: median, min, max of the 3 repetitions and ratios, in bench/drugs/report.json and
report.md; the thesaurus mapping coverage (every unmapped substance) in coverage.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import report as reporting  # noqa: E402
from workload import SEED, queries  # noqa: E402

REPETITIONS = int(os.environ.get("BENCH_REPETITIONS", "3"))  # 1 for a quick look; reports use 3
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("BENCH_POSTGRES_DB", "cordee_bench_drugs")
DEFAULT_DATA = Path(os.environ.get("CORDEE_SHARED_DATA", ROOT.parent / "shared" / "data"))


# --- child: one database -----------------------------------------------------------------------
def _wipe() -> None:
    from cordee.drugs import models

    for model in (models.ImportIssue, models.ImportRun, models.Product, models.Presentation, models.Composition,
                  models.GenericMembership, models.PrescriptionCondition, models.HasOpinion, models.HasLink,
                  models.Availability, models.MitmEntry, models.SafetyInfo):  # fmt: skip
        model.objects.all().delete()


def _import(directories: list[Path]) -> float:
    from cordee.drugs import services
    from cordee.drugs.models import ImportRun

    run = services.create_command_run(ImportRun.Kind.BDPM, directories)
    start = time.perf_counter()
    run = services.do_run_import(run.pk)
    elapsed = time.perf_counter() - start
    assert run.status == "done", run.error
    return elapsed


def _read_only(directories: list[Path]) -> float:
    from cordee.drugs.bdpm.files import LineReader, discover

    start = time.perf_counter()
    for found in discover(directories)[0]:
        for line in LineReader(found.path):
            if line.text is not None:
                line.text.split("\t")
    return time.perf_counter() - start


def _latencies(function, items: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    timings = []
    for item in items:
        start = time.perf_counter()
        function(item)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _search_measures(batch: list[tuple[str, str]], cis_codes: list[str]) -> dict[str, list[float]]:
    from cordee.drugs.models import Product
    from cordee.drugs.search import QueryError, search

    def run_search(query: str) -> None:
        try:
            search(query)
        except QueryError:
            pass

    def lookup(cis: str) -> None:
        Product.objects.filter(cis=cis).values_list("name", flat=True).first()

    def like(query: str) -> None:
        list(Product.objects.filter(name__istartswith=query).values_list("cis", "name")[:20])

    texts = [q for _kind, q in batch]
    return {
        "search": _latencies(run_search, texts),
        "lookup": _latencies(lookup, cis_codes),
        "like": _latencies(like, texts),
    }


def _results(batch: list[tuple[str, str]]) -> dict[str, Any]:
    """What each query returns (total and the first 20 CIS), to compare the databases."""
    from cordee.drugs.search import QueryError, search

    out: dict[str, Any] = {}
    for _kind, query in batch:
        try:
            found = search(query)
            out[query] = [found.total, [hit.doc.cis for hit in found.hits]]
        except QueryError as exc:
            out[query] = exc.code
    return out


def _imports(data: Path, workdir: Path, result: dict[str, Any]) -> None:
    from snapshots import write_older

    snapshot, has = data / "bdpm" / "2026-05-26", data / "bdpm" / "2023-11-18_HAS_only"
    older = workdir / "older"
    result["older_snapshot"] = write_older(snapshot, older)
    for _ in range(REPETITIONS):
        _wipe()
        result["read_only"].append(_read_only([snapshot, has]))
        result["import"].append(_import([snapshot, has]))
        result["reimport"].append(_import([snapshot, has]))
        _wipe()
        _import([older, has])
        result["update"].append(_import([snapshot, has]))


def _index(result: dict[str, Any]) -> None:
    import tracemalloc

    from cordee.drugs import search_index

    for _ in range(REPETITIONS):
        search_index.invalidate()
        start = time.perf_counter()
        search_index.get_index()
        result["index"].append(time.perf_counter() - start)
    search_index.invalidate()
    tracemalloc.start()
    search_index.get_index()
    result["index_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
    tracemalloc.stop()


def _over_http(batch: list[tuple[str, str]], workdir: Path, result: dict[str, Any]) -> None:
    import over_http

    cookie = over_http.signed_in()
    texts = [q for _kind, q in batch]
    with over_http.Server(workdir) as server:
        for repetition in range(REPETITIONS):
            order = texts if repetition % 2 == 0 else list(reversed(texts))
            result["http"].append(over_http.measure(server.port, cookie, order))


def child(data: Path, workdir: Path) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query logging while timing
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from cordee.drugs import coverage, services
    from cordee.drugs.models import ImportRun, Product

    result: dict[str, Any] = {
        key: [] for key in ("import", "reimport", "update", "read_only", "index", "search", "http")
    }
    _imports(data, workdir, result)
    thesaurus = services.create_command_run(ImportRun.Kind.INTERACTIONS, [data / "ansm_interactions"])
    services.do_run_import(thesaurus.pk)
    result["coverage"] = coverage.report()
    _index(result)
    batch = queries(data / "bdpm" / "2026-05-26")
    rng = random.Random(SEED)
    all_cis = sorted(Product.objects.values_list("cis", flat=True))
    cis_codes = [rng.choice(all_cis) for _ in batch]
    _search_measures(batch[:50], cis_codes[:50])  # warm-up: caches, connections
    for repetition in range(REPETITIONS):
        order = batch if repetition % 2 == 0 else list(reversed(batch))
        result["search"].append(_search_measures(order, cis_codes))
    result["queries"] = {kind: sum(1 for k, _q in batch if k == kind) for kind, _q in batch}
    result["results"] = _results(batch)
    _over_http(batch, workdir, result)
    sys.stdout.write(json.dumps(result) + "\n")


# --- parent: databases, report -----------------------------------------------------------------
def _postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    except Exception as exc:  # noqa: BLE001  (any failure: no PostgreSQL here)
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB


def _run_child(data: Path, database_url: str | None, workdir: Path) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DEBUG="1", CORDEE_DATA_DIR=str(workdir), TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        SECRET_KEY=hashlib.sha256(os.urandom(32)).hexdigest(),  # shared with the uvicorn it starts
    )  # fmt: skip
    if database_url:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, __file__, "--child", "--data", str(data), "--workdir", str(workdir)],
        env=environment, cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def parent(data: Path) -> None:
    if not (data / "bdpm" / "2026-05-26" / "CIS_bdpm.txt").exists():
        raise SystemExit(f"the shared data is not at {data}: pass --data or set CORDEE_SHARED_DATA")
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "repetitions": REPETITIONS,
        "seed": SEED,
        "aim": reporting.AIM,
        "note": reporting.NOTE,
        "databases": {},
    }
    results = {}
    for name in DATABASES:
        url = _postgres_url() if name == "postgresql" else None
        if name == "postgresql" and url is None:
            continue
        with tempfile.TemporaryDirectory(prefix=f"cordee-bench-drugs-{name}-") as workdir:
            raw = _run_child(data, url, Path(workdir))
        results[name] = raw["results"]
        report["databases"][name] = reporting.summary(raw)
        if name == "sqlite":
            (HERE / "coverage.json").write_text(json.dumps(raw["coverage"], indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {json.dumps(report['databases'][name]['ratios'])}")
    if len(results) == 2:
        differing = [q for q in results["sqlite"] if results["sqlite"][q] != results["postgresql"].get(q)]
        report["same_results_on_both_databases"] = not differing
        report["queries_with_different_results"] = differing
    (HERE / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "report.md").write_text(reporting.markdown(report), encoding="utf-8")
    print((HERE / "report.md").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.data, arguments.workdir)
    else:
        parent(arguments.data)


if __name__ == "__main__":
    main()
