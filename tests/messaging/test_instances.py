"""Several instances: two uvicorn processes on the same PostgreSQL database and Redis.

A message sent over a socket connected to one process arrives on a socket connected to the
other (through the Redis channel layer), and a message sent through the other's JSON API too.
The test database is visible to the processes because the test commits (``transaction=True``)
and its name is passed in ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import free_port, login_as, postgres_run_only, require
from tests.messaging.conftest import new_key

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _wait_for(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn on {port} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"uvicorn on {port} did not start")


@pytest.fixture(params=["core", "pubsub"])
def two_instances(request):
    postgres_run_only("delivery between two instances")
    require("Redis", bool(os.environ.get("REDIS_URL")), "set REDIS_URL to a Redis server")
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "VAULT_KEYSET_FILE": str(settings.VAULT_KEYSET_PATH),
        "AUDIT_SIGNING_KEY_FILE": str(settings.AUDIT_SIGNING_KEY_PATH),
        "AUDIT_MAC_KEY_FILE": str(settings.AUDIT_MAC_KEY_PATH),
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CORDEE_PLAIN_STATIC": "1",
        "CHANNEL_LAYER_REDIS": request.param,  # both Redis layers deliver across processes
    }
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            command = [sys.executable, "-m", "uvicorn", "cordee.asgi:application", "--host", "127.0.0.1"]
            command += ["--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning"]
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            )
        for port, process in zip(ports, processes, strict=True):
            _wait_for(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _session(user) -> tuple[str, str]:
    client = Client()
    login_as(client, user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value, client.cookies.get(settings.CSRF_COOKIE_NAME)


def _connect(port: int, cookie: str):
    """The messaging socket of the instance on ``port``, signed in with a session cookie."""
    import websockets

    return websockets.connect(
        f"ws://127.0.0.1:{port}/ws/messagerie/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )


async def _frame(ws, kind: str, timeout: float = 10) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == kind:
            return frame


def _api_send(port: int, cookie: str, conversation_id: int, body: str) -> dict:
    """Send through the JSON API of an instance, as an API client would (session + CSRF token)."""
    csrf = "a" * 32
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/messaging/conversations/{conversation_id}/messages",
        data=json.dumps({"body": body, "key": new_key()}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "X-CSRFToken": csrf,
            "Origin": f"http://127.0.0.1:{port}",
            "Referer": f"http://127.0.0.1:{port}/",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback, our own server)
        assert response.status == 201
        return json.load(response)


def test_a_message_sent_through_one_instance_arrives_on_the_other(two_instances, alice, bob, threads):

    port_a, port_b = two_instances
    direct = threads["direct"]
    bob_cookie, _ = _session(bob)
    alice_cookie, _ = _session(alice)

    async def scenario() -> None:
        async with _connect(port_a, bob_cookie) as bob_ws, _connect(port_b, alice_cookie) as alice_ws:
            await _frame(bob_ws, "ready")
            await _frame(alice_ws, "ready")
            await bob_ws.send(json.dumps({"type": "open", "conversation": direct.pk, "after": None}))
            await _frame(bob_ws, "history")
            key = new_key()
            await alice_ws.send(json.dumps({"type": "send", "conversation": direct.pk, "key": key, "body": "via B"}))
            ack = await _frame(alice_ws, "ack")
            arrived = await _frame(bob_ws, "message")
            assert arrived["message"]["body"] == "via B" and arrived["message"]["id"] == ack["id"]
            sent = await asyncio.to_thread(_api_send, port_b, alice_cookie, direct.pk, "par l'API de B")
            arrived = await _frame(bob_ws, "message")
            assert (arrived["message"]["id"], arrived["message"]["body"]) == (sent["id"], "par l'API de B")

    asyncio.run(scenario())


def test_a_socket_from_another_origin_is_refused_by_a_real_server(two_instances, alice):
    import websockets

    cookie, _ = _session(alice)

    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(
                f"ws://127.0.0.1:{two_instances[0]}/ws/messagerie/",
                origin="http://evil.example",
                additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
            ):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def _http(port: int, cookie: str, path: str, *, method: str = "GET") -> int:
    csrf = "b" * 32
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=b"" if method == "POST" else None,
        method=method,
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "X-CSRFToken": csrf,
            "Origin": f"http://127.0.0.1:{port}",
            "Referer": f"http://127.0.0.1:{port}/",
        },
    )

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as answered:  # a 302 is an "error" once redirects are off
        return answered.code


def test_revoking_a_session_on_one_instance_closes_its_socket_on_the_other(two_instances, alice):
    """Issue 10, finding 3: revocation reaches the socket whatever instance holds it (over Redis)."""
    import websockets

    port_a, port_b = two_instances
    revoked_cookie, _ = _session(alice)
    kept_cookie, _ = _session(alice)
    assert _http(port_a, revoked_cookie, "/") == 200  # listed among Alice's sessions from now on

    async def scenario() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{port_a}/ws/messagerie/",
            origin=f"http://127.0.0.1:{port_a}",
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={revoked_cookie}"},
        ) as socket_a:
            await _frame(socket_a, "ready")
            status = await asyncio.to_thread(
                _http, port_b, kept_cookie, "/comptes/securite/sessions/revoquer-autres/", method="POST"
            )
            assert status == 302
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await asyncio.wait_for(socket_a.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    asyncio.run(scenario())
