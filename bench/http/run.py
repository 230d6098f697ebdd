"""The request path of Cordée, measured against a bare Django view and a bare ASGI app in one run.

    .venv/bin/python bench/http/run.py [--quick] [--only sqlite|postgres-redis] [--out report]

For each configuration (SQLite; PostgreSQL + Redis, skipped when the servers are absent) Cordée
runs as in production (``DEBUG`` off, keys made for the run, uvicorn with the production flags)
next to the two baselines, all on one core's worth of the same machine, measured one after the
other with the same client:

- ``page``: a signed-in page (``GET /messagerie/``);
- ``json_get``: a signed-in JSON GET (``GET /api/messaging/conversations``);
- ``json_light``: a signed-in JSON GET whose view reads one short list (``GET /api/library/collections``,
  the person's collections, none here): the request path with the least view work;
- ``json_post``: a signed-in JSON POST that stores (a message sent through the API);
- ``refused_400``: a signed-in JSON POST refused by the schema (the request path alone);
- ``anonymous_401``: the same GET without a session;
- ``bare_django`` / ``bare_asgi``: the baselines' GET.

Sequential: ``N`` requests one at a time (p50, p99, server CPU per request read from
``/proc/<pid>/stat``); under load: ``C`` keep-alive connections for ``S`` seconds (p50, p99,
requests/s). Reports: ``report.json`` and ``report.md`` next to this file (ratios to the bare
Django view and to the bare ASGI app of the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from http_client import Connection  # noqa: E402


def _messaging_run() -> Any:
    """bench/messaging/run.py (its production environment, seed and PostgreSQL/Redis helpers)."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "bench" / "messaging"))  # its own "import client"
    spec = importlib.util.spec_from_file_location("cordee_bench_messaging_run", ROOT / "bench" / "messaging" / "run.py")
    assert spec is not None and spec.loader is not None  # noqa: S101  (a file of this repository)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


messaging_run = _messaging_run()
import profile_server  # noqa: E402  (bench/messaging, on the path since the line above: its summary of py-spy stacks)

FULL = {"sequential": 400, "warmup": 40, "connections": 8, "seconds": 5.0}
QUICK = {"sequential": 60, "warmup": 10, "connections": 4, "seconds": 1.0}
UVICORN = ["--lifespan", "off", "--no-access-log", "--log-level", "warning", *messaging_run.UVICORN_FLAGS]
CSRF = "h" * 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *UVICORN]
    handle = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=handle)  # noqa: S603
    messaging_run._wait_for(port, process)
    return process, port


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


class Target:
    """One thing measured: a server (process, port), a request and its headers."""

    def __init__(self, name: str, process: subprocess.Popen, port: int, method: str, path: str, **kw: Any) -> None:
        self.name, self.process, self.port, self.method, self.path = name, process, port, method, path
        self.headers: dict[str, str] = kw.get("headers", {})
        self.body = kw.get("body")  # callable(n) -> bytes, or None
        self.expect: int = kw.get("expect", 200)

    async def one(self, connection: Connection, n: int) -> float:
        body = self.body(n) if self.body else b""
        status, seconds = await connection.request(self.method, self.path, body)
        if status != self.expect:
            raise RuntimeError(f"{self.name}: {self.method} {self.path} answered {status}, expected {self.expect}")
        return seconds


async def _sequential(target: Target, counts: dict[str, Any]) -> dict[str, Any]:
    connection = Connection(target.port, target.headers)
    await connection.open()
    try:
        for n in range(counts["warmup"]):
            await target.one(connection, -n - 1)
        cpu = _cpu(target.process.pid)
        times = [await target.one(connection, n) for n in range(counts["sequential"])]
        cpu_ms = (_cpu(target.process.pid) - cpu) / len(times) * 1000
    finally:
        await connection.close()
    return {"n": len(times), "p50_ms": _percentile(times, 0.5), "p99_ms": _percentile(times, 0.99), "cpu_ms": cpu_ms}


async def _under_load(target: Target, counts: dict[str, Any], offset: int) -> dict[str, Any]:
    times: list[float] = []
    deadline = time.perf_counter() + counts["seconds"]

    async def worker(number: int) -> None:
        connection = Connection(target.port, target.headers)
        await connection.open()
        n = offset + number * 1_000_000
        try:
            while time.perf_counter() < deadline:
                times.append(await target.one(connection, n))
                n += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(counts["connections"])))
    elapsed = time.perf_counter() - started
    return {
        "n": len(times),
        "rps": len(times) / elapsed,
        "p50_ms": _percentile(times, 0.5),
        "p99_ms": _percentile(times, 0.99),
        "p99_over_p50": _percentile(times, 0.99) / max(_percentile(times, 0.5), 1e-9),
    }


def _targets(world: dict[str, Any], cordee: tuple[subprocess.Popen, int], bare: dict[str, Any]) -> list[Target]:
    process, port = cordee
    cookie = f"{world['users'][0]['cookie']}; cordee_csrf={CSRF}"
    signed = {"Cookie": cookie, "X-CSRFToken": CSRF, "Accept": "application/json"}
    post = {**signed, "Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"}
    direct = world["directs"][0]

    def send_body(n: int) -> bytes:
        return json.dumps({"body": f"message {n}", "key": f"bench-http-{n:+012d}".replace("+", "p")}).encode()

    return [
        Target("page", process, port, "GET", "/messagerie/", headers={**signed, "Accept": "text/html"}),
        Target("json_get", process, port, "GET", "/api/messaging/conversations", headers=signed),
        Target("json_light", process, port, "GET", "/api/library/collections", headers=signed),
        Target(
            "json_post",
            process,
            port,
            "POST",
            f"/api/messaging/conversations/{direct}/messages",
            headers=post,
            body=send_body,
            expect=201,
        ),  # fmt: skip
        Target(
            "refused_400",
            process,
            port,
            "POST",
            f"/api/messaging/conversations/{direct}/messages",
            headers=post,
            body=lambda n: b'{"body": 1}',
            expect=400,
        ),  # fmt: skip
        Target("anonymous_401", process, port, "GET", "/api/messaging/conversations", headers={}, expect=401),
        Target("bare_django", bare["django"][0], bare["django"][1], "GET", "/"),
        Target("bare_asgi", bare["asgi"][0], bare["asgi"][1], "GET", "/"),
    ]


async def _profiled(target: Target, counts: dict[str, Any], out: Path) -> None:
    """py-spy (samples where the server holds the GIL) on the Cordée server while ``target`` is
    under load; the rates of this phase are not reported (sampling slows the server)."""
    spy = str(Path(sys.executable).parent / "py-spy")
    seconds = max(3, int(counts["seconds"]) * 2)
    command = [spy, "record", "--pid", str(target.process.pid), "--duration", str(seconds), "--rate", "200"]
    command += ["--format", "raw", "--gil", "--nonblocking", "--output", str(out)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    await asyncio.sleep(1)  # py-spy attached
    await _under_load(target, {**counts, "seconds": seconds}, offset=900_000_000)
    _, error = await asyncio.to_thread(recorder.communicate)
    if recorder.returncode != 0:
        raise RuntimeError(f"py-spy failed: {error.decode(errors='replace')[-500:]}")
    summary = out.with_suffix(".md")
    summary.write_text(profile_server.summarise(out, top=40))
    print(f"profile of {target.name}: {summary}", file=sys.stderr)


def _configuration(
    config: dict[str, Any], counts: dict[str, Any], seed_users: int, profile: list[str] | None = None
) -> dict[str, Any]:
    servers = messaging_run.Servers(config, {"users": seed_users, "group": 3})
    servers.env["API_RATE_LIMITS"] = ""  # the client sends as fast as it can, as one user
    processes: list[subprocess.Popen] = []
    try:
        command = [sys.executable, str(ROOT / "bench" / "messaging" / "seed.py"), str(seed_users), "3"]
        seeded = subprocess.run(command, cwd=ROOT, env=servers.env, check=True, capture_output=True, text=True)  # noqa: S603
        world = json.loads(seeded.stdout.strip().splitlines()[-1])
        cordee = _start("cordee.asgi:application", servers.env, servers.data_dir / "cordee.log")
        bare_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.http.bare_django"}
        bare = {
            "django": _start("bench.http.bare_django:application", bare_env, servers.data_dir / "bare-django.log"),
            "asgi": _start("bench.http.bare_asgi:app", dict(os.environ), servers.data_dir / "bare-asgi.log"),
        }
        processes = [cordee[0], bare["django"][0], bare["asgi"][0]]
        result: dict[str, Any] = {}
        for number, target in enumerate(_targets(world, cordee, bare)):
            sequential = asyncio.run(_sequential(target, counts))
            load = asyncio.run(_under_load(target, counts, offset=(number + 1) * 100_000_000))
            result[target.name] = {"sequential": sequential, "load": load}
            if profile and target.name in profile:
                asyncio.run(_profiled(target, counts, HERE / f"profile-{config['name']}-{target.name}.txt"))
            print(f"{config['name']} {target.name}: {json.dumps(result[target.name])}", file=sys.stderr)
        return result
    except RuntimeError:
        log = servers.data_dir / "cordee.log"
        if log.exists():  # the server's own account of an unexpected answer
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        servers.__exit__()


CONFIGS = [
    {"name": "sqlite", "app": "cordee", "postgres": False, "processes": 1},
    {"name": "postgres-redis", "app": "cordee", "postgres": True, "processes": 1},
]


def _ratios(result: dict[str, Any]) -> dict[str, Any]:
    ratios = {}
    for name, figures in result.items():
        seq = figures["sequential"]
        ratios[name] = {
            "cpu_vs_bare_django": seq["cpu_ms"] / max(result["bare_django"]["sequential"]["cpu_ms"], 1e-9),
            "cpu_vs_bare_asgi": seq["cpu_ms"] / max(result["bare_asgi"]["sequential"]["cpu_ms"], 1e-9),
            "p50_vs_bare_django": seq["p50_ms"] / max(result["bare_django"]["sequential"]["p50_ms"], 1e-9),
        }
    return ratios


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# bench/http report ({report['started_at']})", "", f"Machine: {report['machine']}", ""]
    for name, entry in report["configurations"].items():
        lines += [f"## {name}", ""]
        if "skipped" in entry:
            lines += [f"Skipped: {entry['skipped']}", ""]
            continue
        columns = ["target", "seq p50 ms", "seq p99 ms", "server CPU ms/req", "CPU × bare Django"]
        columns += ["load rps", "load p50 ms", "load p99 ms", "p99/p50"]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for target, figures in entry["results"].items():
            s, load, r = figures["sequential"], figures["load"], entry["ratios"][target]
            lines.append(
                f"| {target} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['cpu_ms']:.2f} "
                f"| {r['cpu_vs_bare_django']:.1f} "
                f"| {load['rps']:.0f} | {load['p50_ms']:.2f} | {load['p99_ms']:.2f} | {load['p99_over_p50']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def run(
    counts: dict[str, Any], only: list[str] | None = None, out: Path | None = None, profile: list[str] | None = None
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": f"{platform.node()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}",
        "counts": counts,
        "configurations": {},
    }
    for config in CONFIGS:
        if only and config["name"] not in only:
            continue
        reason = messaging_run._skip_reason(config)
        if reason:
            report["configurations"][config["name"]] = {"skipped": reason}
            continue
        result = _configuration(config, counts, seed_users=4, profile=profile)
        report["configurations"][config["name"]] = {"results": result, "ratios": _ratios(result)}
        if out is not None:
            out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
            out.with_suffix(".md").write_text(_markdown(report))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append")
    parser.add_argument("--out", default=str(HERE / "report"))
    parser.add_argument("--profile", action="append", help="py-spy this target under load (profile-*.md)")
    args = parser.parse_args()
    run(QUICK if args.quick else FULL, only=args.only, out=Path(args.out), profile=args.profile)


if __name__ == "__main__":
    main()
