"""One request of bench/http driven through ``cordee.asgi`` inside this process, without a server.

    .venv/bin/python bench/http/inprocess.py [--postgres] [--target page|json_get|json_light|json_post|home]
        [-n 300] [--profile]

The same world as ``run.py`` (bench/messaging's seed and production environment); each request
is an ASGI call on the application, so what is measured is the request path and the view, not
uvicorn or the client. Prints the CPU per request (this process's, best and median of 7 rounds of
``n``); ``--profile`` adds cProfile's top functions by cumulative and own time, across every thread
(the request threads included). A tool for finding where a request's time goes; the figures to
report are ``run.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from run import CSRF, messaging_run  # noqa: E402

TARGETS = {
    "page": ("GET", "/messagerie/", "text/html", 200),
    "json_get": ("GET", "/api/messaging/conversations", "application/json", 200),
    "json_light": ("GET", "/api/library/collections", "application/json", 200),
    "home": ("GET", "/", "text/html", 200),
    "json_post": ("POST", "/api/messaging/conversations/{direct}/messages", "application/json", 201),
}
_sends = iter(range(10**9))


def _body(method: str) -> bytes:
    """A message to send (POST: a new client key each time, as run.py's json_post), else nothing."""
    if method != "POST":
        return b""
    n = next(_sends)
    return json.dumps({"body": f"message {n}", "key": f"bench-inproc-{n:012d}"}).encode()


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": _body(method), "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis (default: SQLite)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="page")
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    name = "postgres-redis" if args.postgres else "sqlite"
    servers = messaging_run.Servers({"name": f"{name}-inproc", "postgres": args.postgres, "app": "cordee"}, {})
    try:
        world = servers.seed_here(4, 3)
        from cordee.asgi import application

        method, path, accept, expected = TARGETS[args.target]
        path = path.format(direct=world["directs"][0])
        cookie = f"{world['users'][0]['cookie']}; cordee_csrf={CSRF}"
        headers = [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode()), (b"accept", accept.encode())]
        if method == "POST":
            headers += [(b"content-type", b"application/json"), (b"origin", b"http://127.0.0.1:8000")]
        headers.append((b"x-csrftoken", CSRF.encode()))

        async def rounds() -> list[float]:
            for _ in range(20):  # warm: caches, pools, templates
                status = await _call(application, method, path, headers)
                if status != expected:
                    raise SystemExit(f"{path}: {status}, expected {expected}")
            found = []
            for _ in range(7 if args.n else 0):  # -n 0: the warm-up alone (a baseline for callgrind)
                start = time.process_time()
                for _ in range(args.n):
                    await _call(application, method, path, headers)
                found.append((time.process_time() - start) * 1000 / args.n)
            return found

        loop = asyncio.new_event_loop()
        cpu = loop.run_until_complete(rounds())
        if cpu:
            print(f"{name} {args.target}: CPU ms/request best {min(cpu):.2f} median {statistics.median(cpu):.2f}")
        if args.profile:
            from cordee.lib.asgi import SyncChainHandler

            profiles: list[cProfile.Profile] = []
            respond = SyncChainHandler._respond

            def profiled_respond(self: Any, request: Any) -> Any:  # in the request's thread
                profiler = cProfile.Profile()
                profiles.append(profiler)
                return profiler.runcall(respond, self, request)

            SyncChainHandler._respond = profiled_respond  # type: ignore[method-assign]

            async def profiled() -> None:
                for _ in range(args.n):
                    await _call(application, method, path, headers)

            loop.run_until_complete(profiled())
            out = io.StringIO()
            stats = pstats.Stats(profiles[0], stream=out)
            for profiler in profiles[1:]:
                stats.add(profiler)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
        loop.close()
    finally:
        servers.__exit__()


if __name__ == "__main__":
    main()
