"""Messaging benchmark: Cordée's socket under uvicorn, against a bare ASGI fan-out baseline.

Run: ``.venv/bin/python bench/messaging/run.py`` (``--quick`` for small counts while developing).
For each configuration — SQLite, one process; PostgreSQL + Redis, one and two processes (skipped
with a message when PostgreSQL or Redis is unreachable) — and 3 repetitions, a fresh database is
migrated and seeded (``seed.py``: 100 users, a direct conversation per pair of neighbours, one
20-member group, signed-in sessions), uvicorn is started (``--lifespan off``, httptools/uvloop)
and clients drive it over WebSockets on loopback: (a) sequential send→ack, (b) send→receipt
direct and group, (c) concurrent senders for a fixed time with lost/duplicated counts, (d) idle
sockets: memory per connection and e2e while connected. The baseline (``baseline.py``) runs under
the same server and client in the same run. Report: bench/messaging/report.json and report.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import client as workload  # noqa: E402

REPETITIONS = 3
# The same server flags for Cordée and the baseline: those of Cordée in production (README,
# "Running several instances"), per-message compression off included. The WebSocket protocol is
# named: production leaves uvicorn's ``--ws auto``, which is this sans-I/O one since uvicorn 0.50;
# until 2026-12-07 the bench named ``websockets``, the deprecated legacy protocol that production
# no longer ran (~25 % more of the baseline's CPU a message).
UVICORN_FLAGS = [
    *("--loop", "uvloop", "--http", "httptools"),
    *("--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),
]
PG = ("127.0.0.1", 5432)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
# What a run creates on the shared servers is named after it, and only that is removed at its end:
# its own PostgreSQL database and the Redis keys under its own prefix (never a flush).
RUN_NAME = f"cordee_bench_msg_{os.getpid()}_{secrets.token_hex(3)}"
FULL = {"users": 100, "group": 20, "sequential": 300, "e2e": 100, "senders": 50, "seconds": 20.0, "idle": 1000}
QUICK = {"users": 100, "group": 20, "sequential": 30, "e2e": 10, "senders": 10, "seconds": 2.0, "idle": 100}
# The test suite's smoke run (tests/test_bench_messaging.py): nothing lost, never a timing.
SMOKE = {"users": 12, "group": 6, "sequential": 10, "e2e": 5, "senders": 5, "seconds": 1.0, "idle": 20}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn on {port} exited (log in the bench data directory)")
        if _reachable("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn on {port} did not start")


def _create_postgres_db(name: str) -> str:
    """A new database for this configuration (``createdb`` fails rather than reuse an existing one)."""
    subprocess.run(["createdb", "-h", PG[0], "-U", "postgres", name], check=True, capture_output=True)
    return f"postgres://postgres@{PG[0]}:{PG[1]}/{name}"


def _drop_postgres_db(name: str) -> None:
    subprocess.run(["dropdb", "-h", PG[0], "-U", "postgres", "--if-exists", name], check=False, capture_output=True)


def _close_django_connections() -> None:
    """Close the connections and psycopg's pools of an in-process tool (``seed_here``), so that
    the run's PostgreSQL database can be dropped."""
    if "django.db" not in sys.modules:
        return
    from django.db import connections

    connections.close_all()
    if "django.db.backends.postgresql.base" in sys.modules:
        from django.db.backends.postgresql.base import DatabaseWrapper

        for pool in list(DatabaseWrapper._connection_pools.values()):
            pool.close()


def _delete_redis_keys(prefix: str) -> None:
    """The keys this configuration wrote (cache, rate limits, channel layer), and only them."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def _production_env(data_dir: Path) -> dict[str, str]:
    """Cordée as in production (``DEBUG`` off), with its own keys made for the run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    keys = data_dir / "keys"
    keys.mkdir()
    vault, signing = keys / "vault-kek.json", keys / "audit-ed25519.pem"
    create = [sys.executable, "-m", "cordee.vault.keyset", "create", str(vault)]
    subprocess.run(create, cwd=ROOT, check=True, capture_output=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signing.write_bytes(pem)
    mac = keys / "audit-mac.key"
    mac.write_text(secrets.token_hex(32))
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "VAULT_KEYSET_FILE": str(vault),
        "AUDIT_SIGNING_KEY_FILE": str(signing),
        "AUDIT_MAC_KEY_FILE": str(mac),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "API_RATE_LIMITS": "",  # (a) over HTTP sends 300 messages as one user as fast as it can
    }


class Servers:
    """Fresh data, seeded, and ``processes`` uvicorn servers; stopped on exit."""

    def __init__(self, config: dict[str, Any], counts: dict[str, Any]) -> None:
        self.config, self.counts = config, counts
        self.data_dir = Path(tempfile.mkdtemp(prefix="cordee-bench-msg-"))
        self.processes: list[subprocess.Popen] = []
        self.env = {**os.environ, "CORDEE_DATA_DIR": str(self.data_dir), "CORDEE_PLAIN_STATIC": "1"}
        self.env.update(_production_env(self.data_dir))
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        # Background tasks (notices) stay queued in the database, as with a worker: not run inline.
        self.env.pop("TASKS_BACKEND", None)
        self.db_name = self.redis_prefix = ""
        self.here = False  # Cordée run inside this process (seed_here)
        if config["postgres"]:
            self.db_name = f"{RUN_NAME}_{config['name'].replace('-', '_')}"
            self.redis_prefix = f"{RUN_NAME}_{config['name']}"
            self.env["DATABASE_URL"] = _create_postgres_db(self.db_name)
            self.env["REDIS_URL"] = REDIS_URL
            self.env["REDIS_KEY_PREFIX"] = self.redis_prefix

    def __enter__(self) -> Servers:
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # a failed start still removes what it created
            raise

    def _start(self) -> Servers:
        if self.config["app"] == "baseline":
            users = [{"id": n, "cookie": None} for n in range(self.counts["users"])]
            self.world = {"users": users, "directs": list(range(1, 100)), "group": 1000}
            self.world["group_size"] = self.counts["group"]
            app = "bench.messaging.baseline:app"
        else:
            self.world = self._seed(self.counts["users"], self.counts["group"])
            # floor.py: Cordée's store path behind the baseline's bare socket (what Channels costs)
            app = "bench.messaging.floor:app" if self.config["app"] == "floor" else "cordee.asgi:application"
        self.ports = [_free_port() for _ in range(self.config["processes"])]
        for port in self.ports:
            command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
            command += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
            command += UVICORN_FLAGS
            log = (self.data_dir / f"uvicorn-{port}.log").open("wb")  # a pipe left unread would block the server
            self.processes.append(subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log))
        for port, process in zip(self.ports, self.processes, strict=True):
            _wait_for(port, process)
        return self

    def _seed(self, users: int, group: int) -> dict[str, Any]:
        command = [sys.executable, str(HERE / "seed.py"), str(users), str(group)]
        seeded = subprocess.run(command, cwd=ROOT, env=self.env, check=True, capture_output=True, text=True)
        return json.loads(seeded.stdout.strip().splitlines()[-1])

    def seed_here(self, users: int, group: int) -> dict[str, Any]:
        """For the in-process tools (Cordée run inside this process, no server): the world seeded,
        and this process's environment made the servers' (data directory, database, keys)."""
        world = self._seed(users, group)
        self.here = True
        os.environ.clear()
        os.environ.update(self.env)
        return world

    def log_tail(self) -> str:
        logs = sorted(self.data_dir.glob("uvicorn-*.log"))
        return "\n".join(log.read_text(errors="replace")[-3000:] for log in logs)

    def __exit__(self, *exc: object) -> None:
        if self.here:  # only then: the tests run this class inside their own Django process
            _close_django_connections()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.db_name:
            _drop_postgres_db(self.db_name)
            _delete_redis_keys(self.redis_prefix)


async def _measure(servers: Servers, counts: dict[str, Any]) -> dict[str, Any]:
    world, ports = servers.world, servers.ports
    users = world["users"]
    clients = []
    for number, user in enumerate(users):  # user i on process i % n: neighbours on different processes
        clients.append(await workload.connect(ports[number % len(ports)], user["cookie"], user=number))
    try:
        result: dict[str, Any] = {}
        result["a_sequential"] = await workload.sequential(clients, world, counts["sequential"])
        result["a_http"] = await workload.sequential_http(ports[0], users[0]["cookie"], world, counts["sequential"])
        result["b_end_to_end"] = await workload.end_to_end(clients, world, counts["e2e"])
        pids = [p.pid for p in servers.processes]
        server_cpu, client_cpu = _cpu_seconds(pids), _own_cpu_seconds()
        result["c_throughput"] = await workload.throughput(
            clients, world, counts["senders"], counts["seconds"], counts.get("window", 1)
        )
        accepted = max(1, result["c_throughput"]["accepted"])
        result["c_throughput"]["server_cpu_ms_per_message"] = (_cpu_seconds(pids) - server_cpu) / accepted * 1000
        result["c_throughput"]["client_cpu_ms_per_message"] = (_own_cpu_seconds() - client_cpu) / accepted * 1000
        result["e_busy_group"] = await workload.busy_group(clients, world, counts["seconds"])
        result["d_idle"] = await workload.idle_sockets(
            clients, world, ports, pids, idle=counts["idle"], sends=counts["e2e"]
        )
        result["errors_seen"] = sum(c.errors for c in clients)
        return result
    finally:
        await workload.close_all(clients)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the server processes so far (``/proc/<pid>/stat``)."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


CONFIGS = [
    {"name": "baseline", "app": "baseline", "postgres": False, "processes": 1},
    {"name": "sqlite-1", "app": "cordee", "postgres": False, "processes": 1},
    {"name": "postgres-redis-1", "app": "cordee", "postgres": True, "processes": 1},
    {"name": "postgres-redis-2", "app": "cordee", "postgres": True, "processes": 2},
    {"name": "floor-sqlite", "app": "floor", "postgres": False, "processes": 1},
]

# (path in a repetition's result, lower is better?) for the medians and ratios
METRICS = {
    "a_p50_ms": (("a_sequential", "p50_ms"), True),
    "a_p90_ms": (("a_sequential", "p90_ms"), True),
    "a_p99_ms": (("a_sequential", "p99_ms"), True),
    "a_http_p50_ms": (("a_http", "p50_ms"), True),
    "a_http_p99_ms": (("a_http", "p99_ms"), True),
    "b_direct_p50_ms": (("b_end_to_end", "direct", "p50_ms"), True),
    "b_direct_p99_ms": (("b_end_to_end", "direct", "p99_ms"), True),
    "b_group_p50_ms": (("b_end_to_end", "group", "p50_ms"), True),
    "b_group_p99_ms": (("b_end_to_end", "group", "p99_ms"), True),
    "c_accepted_per_s": (("c_throughput", "accepted_per_s"), False),
    "c_lost": (("c_throughput", "lost"), True),
    "c_duplicated": (("c_throughput", "duplicated"), True),
    "c_server_cpu_ms_per_message": (("c_throughput", "server_cpu_ms_per_message"), True),
    "c_client_cpu_ms_per_message": (("c_throughput", "client_cpu_ms_per_message"), True),
    "e_group_messages": (("e_busy_group", "messages"), False),
    "e_out_of_order": (("e_busy_group", "out_of_order"), True),
    "e_catch_ups_waiting": (("e_busy_group", "catch_ups_waiting"), True),
    "d_kib_per_connection": (("d_idle", "kib_per_connection"), True),
    "d_e2e_p99_ms": (("d_idle", "e2e_direct", "p99_ms"), True),
}


def _get(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        result = result[key]
    return result


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name, (path, _lower) in METRICS.items():
        values = [_get(r, path) for r in runs if _get(r, path) is not None]
        if values:
            out[name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def _skip_reason(config: dict[str, Any]) -> str | None:
    if not config["postgres"]:
        return None
    if not _reachable(*PG) or shutil.which("createdb") is None:
        return "PostgreSQL is not reachable on 127.0.0.1:5432 (or createdb is missing)"
    if not _reachable("127.0.0.1", 6379):
        return "Redis is not reachable on 127.0.0.1:6379"
    return None


def run(
    counts: dict[str, Any], *, only: list[str] | None = None, repetitions: int = REPETITIONS, out: Path | None = None
) -> dict[str, Any]:
    """Every configuration (or ``only`` those), ``repetitions`` times; the report, also written to
    ``out``.json / .md after each configuration when given (a later failure loses nothing)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "counts": counts,
        "server": ["uvicorn", *UVICORN_FLAGS],
        "configurations": {},
    }
    for config in CONFIGS:
        if only and config["name"] not in only:
            continue
        reason = _skip_reason(config)
        if reason:
            print(f"skipped {config['name']}: {reason}", file=sys.stderr)
            report["configurations"][config["name"]] = {"skipped": reason}
            continue
        runs, failures = [], []
        for repetition in range(repetitions):
            with Servers(config, counts) as servers:
                try:
                    runs.append(asyncio.run(_measure(servers, counts)))
                except Exception as error:  # recorded, with the server's log tail; the other runs go on
                    failures.append({"repetition": repetition + 1, "error": repr(error), "log": servers.log_tail()})
                    print(f"{config['name']} #{repetition + 1} failed: {error!r}", file=sys.stderr)
                    continue
            print(f"{config['name']} #{repetition + 1}: {json.dumps(_aggregate(runs[-1:]))}", file=sys.stderr)
        entry = {"runs": runs, "summary": _aggregate(runs), "failed_repetitions": failures}
        report["configurations"][config["name"]] = entry
        _ratios(report)
        if out is not None:
            _write(report, out)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for development")
    parser.add_argument("--only", action="append", help="configuration name (repeatable)")
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    parser.add_argument("--window", type=int, default=1, help="unacknowledged sends per sender in (c)")
    parser.add_argument("--out", default="report", help="report file name, without .json/.md")
    args = parser.parse_args()
    counts = {**(QUICK if args.quick else FULL), "window": args.window}
    out = HERE / args.out
    run(counts, only=args.only, repetitions=args.repetitions, out=out)
    print(out.with_suffix(".md").read_text())


def _write(report: dict[str, Any], out: Path) -> None:
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(_markdown(report))


def _ratios(report: dict[str, Any]) -> None:
    base = report["configurations"].get("baseline", {}).get("summary")
    if not base:
        return
    for name, entry in report["configurations"].items():
        if name == "baseline" or "summary" not in entry:
            continue
        ratios = {}
        for metric in METRICS:
            ours, theirs = entry["summary"].get(metric), base.get(metric)
            if not ours or not theirs or not theirs["median"] or metric in ("c_lost", "c_duplicated"):
                continue
            # ratio of Cordée to baseline: latency ×slower (>1 is slower), throughput fraction (<1 is less)
            ratios[metric] = ours["median"] / theirs["median"]
        entry["ratio_to_baseline"] = ratios


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Messaging benchmark",
        "",
        f"Run {report['when']}, Python {report['machine']['python']}, {report['machine']['cpus']} CPUs, "
        f"load average at start {report['machine']['load']}. Shared, noisy machine: medians of the "
        "repetitions with [min–max].",
        "",
        f"Counts: {json.dumps(report['counts'])}",
        "",
        f"Server: `{' '.join(report.get('server', []))}`; Cordée with `DEBUG` off.",
        "",
    ]
    names = list(report["configurations"])
    lines.append("| metric | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for metric in METRICS:
        cells = []
        for name in names:
            entry = report["configurations"][name]
            value = entry.get("summary", {}).get(metric)
            if value is None:
                cells.append("skipped" if "skipped" in entry else "–")
                continue
            cell = f"{value['median']:.3g} [{value['min']:.3g}–{value['max']:.3g}]"
            ratio = entry.get("ratio_to_baseline", {}).get(metric)
            cells.append(cell + (f" (×{ratio:.3g})" if ratio is not None else ""))
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", "Ratios (×) are Cordée's median over the baseline's median in the same run.", ""]
    for name, entry in report["configurations"].items():
        for failure in entry.get("failed_repetitions", []):
            lines.append(f"- {name}: repetition {failure['repetition']} failed: {failure['error']}")
        if "skipped" in entry:
            lines.append(f"- {name}: skipped — {entry['skipped']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
