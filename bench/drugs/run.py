"""Drug database benchmark: BDPM search latency over 500 fixed queries, and the full import time.

Run: ``.venv/bin/python bench/drugs/run.py`` (``--data DIR``: the shared data folder, default
``$CORDEE_SHARED_DATA`` or ``../shared/data``). For SQLite (a file, WAL, as in production) and
PostgreSQL (skipped with a message if unreachable), a child process migrates a fresh database and
measures, 3 times each, in the same run:

- ``import``: the whole BDPM snapshot (2026-05-26 and the 2023 HAS files) into empty tables;
  ``reimport``: the same snapshot again (everything unchanged: the in-place update path).
  Baseline: reading, decoding and splitting every line of the same files, storing nothing.
- ``search``: ``cordee.drugs.search.search()`` for 500 queries generated from the real files
  with a fixed seed (150 prefixes as typed, 100 typos, 100 substances, 100 full codes CIS/CIP7/
  CIP13, 50 code prefixes); p50 and p99 per repetition. Baselines on the same database, same
  queries: ``lookup`` a trivial indexed lookup of one speciality by CIS, and ``like`` a plain
  ``name LIKE 'query%'`` (case-insensitive) query for 20 rows.
- ``index``: building the in-process index (and its memory, by tracemalloc).

Report: median, min, max of the 3 repetitions and ratios, in bench/drugs/report.json and
bench/drugs/report.md. Aims: search p99 ≤ 20 ms, full import ≤ 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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
SEED = 20260526
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_drugs"
DEFAULT_DATA = Path(os.environ.get("CORDEE_SHARED_DATA", ROOT.parent / "shared" / "data"))


# --- the 500 queries ---------------------------------------------------------------------------
def _lines(path: Path) -> list[list[str]]:
    rows = []
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            rows.append(text.rstrip("\r").split("\t"))
    return rows


def _typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "substitute":
        return word[:position] + letter + word[position + 1 :]
    if kind == "delete":
        return word[:position] + word[position + 1 :]
    if kind == "insert":
        return word[:position] + letter + word[position:]
    return word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :]


def queries(snapshot: Path) -> list[tuple[str, str]]:
    """(kind, query): the same 500 for a given snapshot, whatever the machine or database."""
    rng = random.Random(SEED)
    names = sorted({row[1] for row in _lines(snapshot / "CIS_bdpm.txt")})
    substances = sorted({row[3] for row in _lines(snapshot / "CIS_COMPO_bdpm.txt") if row[6] == "SA"})
    boxes = sorted((row[0], row[1], row[6]) for row in _lines(snapshot / "CIS_CIP_bdpm.txt"))
    brands = sorted({n.split()[0].strip(",").lower() for n in names if len(n.split()[0]) >= 4})
    out: list[tuple[str, str]] = []
    for _ in range(150):  # prefixes as typed, sometimes into the second word
        name = rng.choice(names).lower()
        out.append(("prefix", name[: rng.randint(3, min(len(name), 14))].strip()))
    for _ in range(100):
        word = rng.choice(brands + [s.split()[0].lower() for s in substances if len(s.split()[0]) >= 5])
        out.append(("typo", _typo(word, rng) if len(word) >= 5 else word))
    for _ in range(100):
        out.append(("substance", rng.choice(substances).lower()))
    for _ in range(100):
        cis, cip7, cip13 = rng.choice(boxes)
        out.append(("code", rng.choice((cis, cip7, cip13))))
    for _ in range(50):
        code = rng.choice(boxes)[rng.choice((0, 2))]
        out.append(("code prefix", code[: rng.randint(5, len(code) - 1)]))
    return out


# --- child: one database -----------------------------------------------------------------------
def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


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


def child(data: Path) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    import tracemalloc

    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query logging while timing
    call_command("migrate", verbosity=0)
    from cordee.drugs import search_index
    from cordee.drugs.interactions import coverage
    from cordee.drugs.models import ImportRun, Product

    snapshot, has = data / "bdpm" / "2026-05-26", data / "bdpm" / "2023-11-18_HAS_only"
    result: dict[str, Any] = {"import": [], "reimport": [], "read_only": [], "index": [], "search": []}
    for _ in range(REPETITIONS):
        _wipe()
        result["read_only"].append(_read_only([snapshot, has]))
        result["import"].append(_import([snapshot, has]))
        result["reimport"].append(_import([snapshot, has]))
    from cordee.drugs import services

    thesaurus = services.create_command_run(ImportRun.Kind.INTERACTIONS, [data / "ansm_interactions"])
    services.do_run_import(thesaurus.pk)
    result["coverage"] = coverage()
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
    batch = queries(snapshot)
    rng = random.Random(SEED)
    all_cis = sorted(Product.objects.values_list("cis", flat=True))
    cis_codes = [rng.choice(all_cis) for _ in batch]
    _search_measures(batch[:50], cis_codes[:50])  # warm-up: caches, connections
    for repetition in range(REPETITIONS):
        order = batch if repetition % 2 == 0 else list(reversed(batch))
        result["search"].append(_search_measures(order, cis_codes))
    result["queries"] = {kind: sum(1 for k, _q in batch if k == kind) for kind, _q in batch}
    result["results"] = _results(batch)
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
        DEBUG="1", CORDEE_DATA_DIR=str(workdir), TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend"
    )
    if database_url:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, __file__, "--child", "--data", str(data)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _stats(values: list[float], digits: int = 2) -> dict[str, float]:
    median = statistics.median(values)
    return {
        "median": round(median, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread_pct": round(100 * (max(values) - min(values)) / median, 1) if median else 0.0,
    }


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "import_s": _stats(raw["import"]),
        "reimport_s": _stats(raw["reimport"]),
        "read_only_s": _stats(raw["read_only"]),
        "index_build_s": _stats(raw["index"]),
        "index_mib": raw["index_mib"],
        "coverage": raw["coverage"],
        "results_sha256": hashlib.sha256(json.dumps(raw["results"], sort_keys=True).encode()).hexdigest(),
        "queries": raw["queries"],
    }
    for measure in ("search", "lookup", "like"):
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            values = [_percentile(rep[measure], fraction) for rep in raw["search"]]
            summary[f"{measure}_{name}_ms"] = _stats(values, 3)

    def ratio(subject: str, baseline: str) -> float:
        return round(summary[subject]["median"] / summary[baseline]["median"], 2)

    summary["ratios"] = {
        "search_p50_vs_lookup_p50": ratio("search_p50_ms", "lookup_p50_ms"),
        "search_p99_vs_lookup_p99": ratio("search_p99_ms", "lookup_p99_ms"),
        "search_p50_vs_like_p50": ratio("search_p50_ms", "like_p50_ms"),
        "search_p99_vs_like_p99": ratio("search_p99_ms", "like_p99_ms"),
        "import_vs_read_only": ratio("import_s", "read_only_s"),
        "reimport_vs_read_only": ratio("reimport_s", "read_only_s"),
    }
    return summary


def _cell(entry: dict[str, float], unit: str = "") -> str:
    return f"{entry['median']}{unit} ({entry['min']}–{entry['max']})"


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Drug database benchmark",
        "",
        f"{report['date']} · Python {report['python']} · {report['machine']} · {REPETITIONS} repetitions, "
        "median (min–max) · 500 queries (150 prefixes, 100 typos, 100 substances, 100 codes, 50 code prefixes)",
        "",
        "| database | search p50 | search p99 | lookup by CIS p50 / p99 | LIKE 'q%' p50 / p99 | search p99 ÷ LIKE p99 "
        "| full import | re-import | read only | import ÷ read | index build | index memory |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["databases"].items():
        r = s["ratios"]
        lines.append(
            f"| {name} | {_cell(s['search_p50_ms'], ' ms')} | {_cell(s['search_p99_ms'], ' ms')} | "
            f"{s['lookup_p50_ms']['median']} / {s['lookup_p99_ms']['median']} ms | "
            f"{s['like_p50_ms']['median']} / {s['like_p99_ms']['median']} ms | {r['search_p99_vs_like_p99']} | "
            f"{_cell(s['import_s'], ' s')} | {_cell(s['reimport_s'], ' s')} | {_cell(s['read_only_s'], ' s')} | "
            f"{r['import_vs_read_only']} | {_cell(s['index_build_s'], ' s')} | {s['index_mib']} MiB |"
        )
    first = next(iter(report["databases"].values()), None)
    if first:
        c = first["coverage"]
        lines += [
            "",
            f"Interaction thesaurus: {c['substances_matched']} of {c['substances']} distinct BDPM substance names "
            f"({c['substances_not_homeopathic']} not homeopathic) match a thesaurus molecule; "
            f"{c['products_matched']} of {c['products_with_composition']} specialities have at least one.",
        ]
    if "same_results_on_both_databases" in report:
        same = report["same_results_on_both_databases"]
        lines += ["", f"Same results (total and first 20 CIS) for the 500 queries on SQLite and PostgreSQL: {same}."]
    lines += ["", report["aim"], "", report["note"], ""]
    return "\n".join(lines)


def parent(data: Path) -> None:
    if not (data / "bdpm" / "2026-05-26" / "CIS_bdpm.txt").exists():
        raise SystemExit(f"the shared data is not at {data}: pass --data or set CORDEE_SHARED_DATA")
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "repetitions": REPETITIONS,
        "seed": SEED,
        "aim": "Aims: search p99 ≤ 20 ms over the whole BDPM; full import ≤ 30 s.",
        "note": (
            "Search latency includes the per-search check of the latest import (one indexed query); the index is "
            "built before timing (its build time is the 'index build' column, paid once per process and import). "
            "'lookup' is one indexed SELECT by CIS, 'LIKE' an unindexed case-insensitive prefix scan of the names: "
            "the search does more (typos, substances, codes, ranking) in less time than the LIKE scan. The import "
            "is compared with only reading and splitting the same lines. This machine is shared and noisy: see "
            "min–max."
        ),
        "databases": {},
    }
    results = {}
    for name, url in {"sqlite": None, "postgresql": _postgres_url()}.items():
        if name == "postgresql" and url is None:
            continue
        with tempfile.TemporaryDirectory(prefix=f"cordee-bench-drugs-{name}-") as workdir:
            raw = _run_child(data, url, Path(workdir))
        results[name] = raw["results"]
        report["databases"][name] = _summary(raw)
        print(f"{name}: {json.dumps(report['databases'][name]['ratios'])}")
    if len(results) == 2:
        differing = [q for q in results["sqlite"] if results["sqlite"][q] != results["postgresql"].get(q)]
        report["same_results_on_both_databases"] = not differing
        report["queries_with_different_results"] = differing
    (HERE / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "report.md").write_text(_markdown(report), encoding="utf-8")
    print((HERE / "report.md").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    (child if arguments.child else parent)(arguments.data)


if __name__ == "__main__":
    main()
