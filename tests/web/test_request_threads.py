"""HTTP requests run in a fixed pool of threads (cordee.lib.asgi.SyncChainHandler), which keep
their SQLite connection from one request to the next and give a PostgreSQL one back to the pool.

Django's own handler started a thread per request, so every request opened a new connection:
on SQLite, with its pragmas and functions, that cost more than a light request itself (bench/http).
"""

from __future__ import annotations

import asyncio
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


def _drive(application) -> list[dict]:
    """One GET through ``application``; the messages it sent."""

    async def scenario() -> list[dict]:
        communicator = ApplicationCommunicator(application, _scope(""))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        messages = []
        while True:
            try:
                messages.append(await communicator.receive_output(timeout=5))
            except Exception:  # noqa: BLE001 -- the application ended (timeout or completion)
                break
        await communicator.wait(timeout=5)
        return messages

    return async_to_sync(scenario)()


class _Signals:
    """Which thread sent request_started / request_finished, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def started(self, sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(("started", threading.current_thread().name))

    def finished(self, sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(("finished", threading.current_thread().name))


@pytest.fixture
def handler_signals():
    from django.core import signals

    from cordee.asgi import application

    handler = application.application_mapping["http"].application
    noted = _Signals()
    signals.request_started.connect(noted.started, weak=False)
    signals.request_finished.connect(noted.finished, weak=False)
    try:
        yield application, handler, noted
    finally:
        signals.request_started.disconnect(noted.started)
        signals.request_finished.disconnect(noted.finished)
        handler.__dict__.pop("_respond", None)


@pytest.mark.django_db(transaction=True)
def test_a_response_in_memory_is_served_and_closed_in_one_request_thread(handler_signals):
    from django.http import HttpResponse

    application, handler, noted = handler_signals
    responded: list[str] = []

    def respond(request):  # type: ignore[no-untyped-def]
        responded.append(threading.current_thread().name)
        return HttpResponse(b"x" * 200_000)  # more than one chunk of the handler's

    handler._respond = respond
    messages = _drive(application)
    assert messages[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in messages[1:]) == b"x" * 200_000
    thread = responded[0]
    assert thread.startswith("cordee-request")
    # both signals once, in the thread that ran the view: no hand-off of their own
    assert noted.seen == [("started", thread), ("finished", thread)]


@pytest.mark.django_db(transaction=True)
def test_a_streamed_response_is_closed_after_its_body_is_sent(handler_signals):
    from django.http import StreamingHttpResponse

    application, handler, noted = handler_signals
    sent_parts: list[int] = []

    async def parts():  # type: ignore[no-untyped-def]  # an async iterator, as ASGI streams best
        for index in range(3):
            sent_parts.append(index)
            assert not any(event == "finished" for event, _ in noted.seen)  # not closed mid-stream
            yield f"part{index};".encode()

    handler._respond = lambda request: StreamingHttpResponse(parts())
    messages = _drive(application)
    assert messages[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in messages[1:]) == b"part0;part1;part2;"
    assert sent_parts == [0, 1, 2]
    assert [event for event, _ in noted.seen] == ["started", "finished"]
    assert all(thread.startswith("cordee-request") for _, thread in noted.seen)


@pytest.mark.django_db(transaction=True)
def test_the_view_of_a_streamed_response_gives_its_connection_back(handler_signals):
    from django.http import StreamingHttpResponse

    from cordee.accounts.models import User

    application, handler, noted = handler_signals
    used: list = []

    async def parts():  # type: ignore[no-untyped-def]
        yield b"streamed"

    def respond(request):  # type: ignore[no-untyped-def]
        User.objects.exists()  # the view reads the database
        used.append(connections["default"])  # this thread's connection handler
        return StreamingHttpResponse(parts())

    handler._respond = respond
    messages = _drive(application)
    assert b"".join(m.get("body", b"") for m in messages[1:]) == b"streamed"
    if connection.vendor == "sqlite":
        assert used[0].connection is not None  # a request thread keeps its SQLite connection
    else:
        assert used[0].connection is None  # a pooled PostgreSQL connection went back at the view's end


@pytest.mark.django_db(transaction=True)
def test_a_client_that_leaves_during_the_view_still_ends_the_request(handler_signals):
    from django.http import HttpResponse

    application, handler, noted = handler_signals
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def respond(request):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(5)  # the client disconnects while the view works
        done.set()
        return HttpResponse(b"late")

    handler._respond = respond

    async def scenario() -> list[dict]:
        communicator = ApplicationCommunicator(application, _scope(""))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=5)  # the handler ends without waiting for the view
        return [message async for message in _drained(communicator)]

    messages = async_to_sync(scenario)()
    release.set()
    assert done.wait(5)
    assert messages == []  # nothing sent to a client that left
    events = [event for event, _ in noted.seen]
    assert events[0] == "started" and "finished" in events  # as Django: request_finished for a client gone


async def _drained(communicator):  # type: ignore[no-untyped-def]
    while not communicator.output_queue.empty():
        yield communicator.output_queue.get_nowait()


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_stream_is_sent_while_it_is_read(handler_signals):
    """Django reads a synchronous iterator whole before sending any of it under ASGI: a large
    download would sit in memory. Here its first chunk reaches the client while the view's
    generator still waits to make its second."""
    import warnings

    from django.http import StreamingHttpResponse

    application, handler, noted = handler_signals
    first_sent = threading.Event()
    made: list[int] = []

    def chunks():  # type: ignore[no-untyped-def]
        for index in range(5):
            if index == 1:
                first_sent.wait(5)  # only once the client holds the first chunk
            made.append(index)
            yield b"%d" % index * 70_000  # more than one chunk of the handler's each

    handler._respond = lambda request: StreamingHttpResponse(chunks())

    async def scenario() -> tuple[list[dict], list[int]]:
        communicator = ApplicationCommunicator(application, _scope(""))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        messages = [await communicator.receive_output(timeout=3), await communicator.receive_output(timeout=3)]
        made_then = list(made)
        first_sent.set()
        while messages[-1].get("more_body"):
            messages.append(await communicator.receive_output(timeout=5))
        await communicator.wait(timeout=5)
        return messages, made_then

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages, made_then = async_to_sync(scenario)()
    assert messages[0]["status"] == 200
    assert made_then == [0]  # the second chunk was not made before the first was sent
    assert b"".join(m.get("body", b"") for m in messages[1:]) == b"".join(b"%d" % i * 70_000 for i in range(5))
    assert not [w for w in caught if "synchronous iterators" in str(w.message)]
    assert [event for event, _ in noted.seen] == ["started", "finished"]


@pytest.mark.django_db(transaction=True)
def test_a_file_response_is_sent_in_chunks_and_its_file_closed(handler_signals, tmp_path):
    from django.http import FileResponse

    application, handler, noted = handler_signals
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(256)) * 1024)  # 256 KiB: four chunks of the handler's
    opened: list = []

    def respond(request):  # type: ignore[no-untyped-def]
        opened.append(path.open("rb"))
        return FileResponse(opened[0], content_type="application/octet-stream")

    handler._respond = respond
    messages = _drive(application)
    bodies = [m["body"] for m in messages[1:] if m.get("body")]
    assert b"".join(bodies) == path.read_bytes()
    assert len(bodies) == 4 and max(len(b) for b in bodies) == handler.chunk_size
    assert opened[0].closed


def test_two_request_threads_per_core_by_default(monkeypatch):
    """More threads than two per core only made requests take turns for the GIL at random (bench/http:
    a message sent by 8 clients at once had its p99 at 4.4x its median with 10 threads, 1.8x with 4)."""
    import os

    if "REQUEST_THREADS" in os.environ:
        pytest.skip("REQUEST_THREADS is set in this environment")
    assert settings.REQUEST_THREADS == max(2, 2 * len(os.sched_getaffinity(0)))
