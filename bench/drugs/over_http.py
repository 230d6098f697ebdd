"""The drug search over HTTP: Cordée under uvicorn as in production, a signed-in session, one
keep-alive connection, the same queries as the in-process measure.

Run from the benchmark's child process (Django set up, the database imported): ``signed_in()``
creates a professional and a session as after password and second factor (as the messaging
benchmark's seed does), ``Server`` starts uvicorn on the same database with ``DEBUG`` off and
the keys the child made, and ``measure`` times, per request (connection kept alive):

- ``api``: ``GET /api/drugs/search?q=…`` (JSON, what the prescription module will call);
- ``fragment``: ``GET /medicaments/resultats/?q=…`` (the htmx results the search page swaps in);
- ``baseline``: ``GET /api/drugs/search?q=`` — the same request path (session, user, middleware,
  Ninja) refused before any search: what a search costs over HTTP beyond the request itself.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UVICORN = ["--lifespan", "off", "--no-access-log", "--log-level", "warning", "--ws-per-message-deflate", "false"]


def signed_in() -> str:
    """The Cookie header of a fresh professional's session (password and TOTP done)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from cordee.accounts.models import Professional, User

    user = User.objects.create_user(
        "bench-drugs@cordee.test", None, first_name="Bench", last_name="Drugs", kind=User.Kind.PROFESSIONAL
    )
    Professional.objects.create(user=user, rpps="10000000008", profession_code="21")
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "cordee.accounts.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["cordee_mfa_ok"] = True
    store["account_authentication_methods_user"] = str(user.pk)
    store["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn serving Cordée on this process's database, ``DEBUG`` off; stopped on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "TASKS_BACKEND"}
        self.env.update(
            DEBUG="0", CORDEE_DATA_DIR=str(data_dir), CORDEE_PLAIN_STATIC="1", LOG_LEVEL="WARNING",
            VAULT_KEYSET_FILE=str(data_dir / "keys" / "vault-kek.json"),
            AUDIT_SIGNING_KEY_FILE=str(data_dir / "keys" / "audit-ed25519.pem"),
            AUDIT_MAC_KEY_FILE=str(data_dir / "keys" / "audit-mac.key"),
            API_RATE_LIMITS="",  # 500 searches as one user, as fast as the client goes
        )  # fmt: skip
        self.log = data_dir / "uvicorn.log"

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "uvicorn", "cordee.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *UVICORN]
        with self.log.open("wb") as log:  # a pipe left unread would block the server
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _timed(connection: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, int]:
    start = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
    response = connection.getresponse()
    response.read()
    return (time.perf_counter() - start) * 1000, response.status


def measure(port: int, cookie: str, queries: list[str], *, warm_up: int = 30) -> dict[str, Any]:
    """Milliseconds per request for each kind, and the statuses seen (all must be expected)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    paths = {
        "api": "/api/drugs/search?q={}",
        "fragment": "/medicaments/resultats/?q={}",
        "baseline": "/api/drugs/search?q=",
    }
    for query in queries[:warm_up]:
        _timed(connection, paths["api"].format(urllib.parse.quote(query)), cookie)
    timings: dict[str, list[float]] = {kind: [] for kind in paths}
    statuses: dict[str, dict[int, int]] = {kind: {} for kind in paths}
    for query in queries:
        for kind, path in paths.items():
            elapsed, status = _timed(connection, path.format(urllib.parse.quote(query)), cookie)
            timings[kind].append(elapsed)
            statuses[kind][status] = statuses[kind].get(status, 0) + 1
    connection.close()
    return {"timings": timings, "statuses": statuses}
