"""HTTP requests run in a fixed pool of threads (cordee.lib.asgi.SyncChainHandler), which keep
their SQLite connection from one request to the next and give a PostgreSQL one back to the pool.

Django's own handler started a thread per request, so every request opened a new connection:
on SQLite, with its pragmas and functions, that cost more than a light request itself (bench/http).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import connection, connections
from django.db.backends.signals import connection_created

from tests.conftest import login_as, run_fresh_interpreter


def _scope(cookie: str) -> dict:
    path = "/api/messaging/conversations"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode()), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


def _get(application, cookie: str) -> int:
    async def scenario() -> int:
        communicator = ApplicationCommunicator(application, _scope(cookie))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)
        await communicator.wait(timeout=10)
        return start["status"]

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_requests_reuse_their_threads_and_connections(client, alice):
    from cordee.asgi import application

    login_as(client, alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    handler = application.application_mapping["http"].application  # BodySizeLimit → SyncChainHandler
    # A pool as at a server's start: threads that earlier tests' requests left with a connection
    # would open none here (the executor reuses an idle thread before starting another).
    handler.executor.shutdown(wait=True)
    handler.executor = ThreadPoolExecutor(settings.REQUEST_THREADS, thread_name_prefix="cordee-request")
    opened: list[str] = []

    def note(sender, connection, **kwargs):
        opened.append(threading.current_thread().name)

    connection_created.connect(note, weak=False)
    try:
        statuses = [_get(application, cookie) for _ in range(8)]
    finally:
        connection_created.disconnect(note)
    assert statuses == [200] * 8
    in_requests = [name for name in opened if name.startswith("cordee-request")]
    # no thread of its own per request: every query of the eight ran in the pool's threads
    assert in_requests and len(opened) == len(in_requests), opened
    still_open = handler.executor.submit(lambda: connections["default"].connection is not None).result()
    if connection.vendor == "sqlite":
        # each thread opened its connection once and kept it (threads of the pool that earlier
        # tests used may take turns; before, each of the eight requests opened one)
        assert len(in_requests) == len(set(in_requests)) <= settings.REQUEST_THREADS, in_requests
        assert still_open
    else:
        # a pooled PostgreSQL connection is taken for each request and given back at its end
        assert len(in_requests) == 8
        assert not still_open


_CACHES_PROBE = """
import asyncio
import cordee.asgi
from django.core.cache import caches
from django.http import HttpResponse

handler = cordee.asgi.application.application_mapping["http"].application
seen = []

def respond(request):
    seen.append(tuple(id(caches[alias]) for alias in caches.settings))
    return HttpResponse("ok")

handler._respond = respond

async def one():
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    sent = []
    async def receive():
        if not sent:
            sent.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
    async def send(message):
        pass
    await cordee.asgi.application(scope, receive, send)

async def main():
    for _ in range(5):
        await asyncio.create_task(one())  # a task per request, as the ASGI server makes

asyncio.run(main())
print(len(seen), len(set(seen)))
"""


def test_every_request_shares_the_caches_made_at_start_up(tmp_path):
    """Django keeps its caches in a context-local: a cache first used inside a request was that
    request's own (with Redis, a new connection pool and connection per request). ``cordee.asgi``
    makes them at start-up, so every request shares them. Checked in a fresh interpreter, as the
    server starts."""
    result = run_fresh_interpreter(_CACHES_PROBE, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    requests, distinct = result.stdout.split()
    assert (requests, distinct) == ("5", "1")  # one set of caches for the five requests
