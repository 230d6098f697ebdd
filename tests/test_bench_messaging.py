"""The messaging benchmark's smoke run: Cordée started as the benchmark starts it (uvicorn, DEBUG off,
real sockets), with small counts. It checks that nothing is lost, duplicated or refused; it never
checks a timing (timings are measured in bench/messaging/, with their baseline)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import postgres_run_only, require, sqlite_run_only

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "messaging"


def _bench():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("cordee_bench_messaging_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(entry: dict, smoke: dict) -> None:
    assert "skipped" not in entry, entry.get("skipped")
    assert not entry["failed_repetitions"], entry["failed_repetitions"]
    (result,) = entry["runs"]
    throughput = result["c_throughput"]
    assert throughput["accepted"] > 0
    assert (throughput["lost"], throughput["duplicated"], throughput["send_errors"]) == (0, 0, {})
    assert result["errors_seen"] == 0
    assert result["a_sequential"]["n"] == smoke["sequential"]
    assert result["b_end_to_end"]["direct"]["n"] == smoke["e2e"]
    assert result["b_end_to_end"]["group"]["n"] == smoke["e2e"] * (smoke["group"] - 1)  # every member got each
    busy = result["e_busy_group"]
    assert busy["messages"] > 0 and busy["send_errors"] == 0
    assert 0 <= busy["catch_ups_waiting"] <= busy["catch_ups_at_once"] == busy["out_of_order"]
    assert result["d_idle"]["idle_sockets"] == smoke["idle"]
    assert result["d_idle"]["e2e_direct"]["n"] == smoke["e2e"]


def test_smoke_embedded_default_and_baseline():
    """The baseline, Cordée, and the floor (Cordée's store behind the baseline's socket, floor.py)."""
    sqlite_run_only("the benchmark on the embedded default")
    bench = _bench()
    report = bench.run(bench.SMOKE, only=["baseline", "sqlite-1", "floor-sqlite"], repetitions=1)
    for name in ("baseline", "sqlite-1", "floor-sqlite"):
        _check(report["configurations"][name], bench.SMOKE)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db
def test_smoke_postgres_and_redis_with_two_processes():
    postgres_run_only("the benchmark on PostgreSQL + Redis")
    require("Redis", bool(os.environ.get("REDIS_URL")), "set REDIS_URL to a Redis server")
    bench = _bench()
    report = bench.run(bench.SMOKE, only=["postgres-redis-2"], repetitions=1)
    _check(report["configurations"]["postgres-redis-2"], bench.SMOKE)
