"""ASGI guards in front of Django and Channels: what must be refused before any application code.

- ``SameOriginWebSockets``: a WebSocket handshake is accepted only from the page's own origin
  (scheme, host and port, as Django's CSRF check compares them for forms) or from an origin of
  ``CSRF_TRUSTED_ORIGINS``; Channels' ``AllowedHostsOriginValidator`` compared host names only.
- ``BodySizeLimit``: Django's ASGI handler reads a request's whole body (into a temporary file)
  before any middleware or authentication runs. A body announced (``Content-Length``) or found
  while streaming to be larger than ``REQUEST_MAX_BYTES`` is refused with 413 before that.
- ``SyncChainHandler``: Django's ASGI handler, with the middleware chain and the view run in one
  hand-off to a fixed pool of request threads. Django's own async chain hopped between the event
  loop and a thread at every sync middleware boundary and again around the view (three hand-offs a
  request, each copying the context); Cordée's middleware and views read the database, which is
  synchronous, so an async-capable stack would hop at each query instead. Django also started a
  thread for every request (its ``ThreadSensitiveContext``), hence a new database connection for
  every request; the pool's threads keep theirs (bench/http, issue 21).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections
from django.http import FileResponse, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.http.request import split_domain_port, validate_host
from django.urls import set_script_prefix

Scope = dict[str, Any]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope: Scope) -> bool:
    """Whether the handshake's Origin is the page's own origin, or a trusted one."""
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if not origin or not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    if origin.lower() == f"{scheme}://{host}".lower():
        return True
    trusted = {entry.lower().rstrip("/") for entry in settings.CSRF_TRUSTED_ORIGINS if "*" not in entry}
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}".lower() in trusted and parts.path in ("", "/")


class SameOriginWebSockets:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)  # HTTP 403 to the handshake
        return await self.application(scope, receive, send)


class BodySizeLimit:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = settings.REQUEST_MAX_BYTES
        announced = _header(scope, b"content-length")
        if announced is not None and (not announced.isdigit() or int(announced) > limit):
            return await _refuse(scope, send, limit)
        received = 0
        refused = False
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    return {"type": "http.disconnect"}  # Django stops reading (RequestAborted)
            return message

        async def watching_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.application(scope, counting_receive, watching_send)
        if refused and not started:
            await _refuse(scope, send, limit)


async def _refuse(scope: Scope, send: Any, limit: int) -> None:
    """413, as JSON for the API (its error shape), as text otherwise; the body is never read."""
    message = f"The request body is larger than {limit} bytes."
    if str(scope.get("path", "")).startswith("/api/"):
        body, content_type = json.dumps({"detail": message, "code": "too_large"}).encode(), b"application/json"
    else:
        body, content_type = message.encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SyncChainHandler(ASGIHandler):
    """The HTTP requests' handler (cordee/asgi.py): body read and response sent on the event loop,
    everything between — middleware, view, the error log of a 4xx/5xx — in one hand-off to one of
    ``REQUEST_THREADS`` threads, which keep their database connection from one request to the next
    (SQLite's, opened with its pragmas and functions, cost more than a light request itself; a
    PostgreSQL connection goes back to psycopg's pool at the end of each request, as before)."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(settings.REQUEST_THREADS, thread_name_prefix="cordee-request")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # Django's own __call__ opens a ThreadSensitiveContext here, which starts a thread per
        # request; the pool below replaces it.
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}")
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        """Django's ``handle`` with one hand-off a request instead of three: its ``request_started``
        signal, ``get_response`` and, for a response held in memory, ``response.close()`` (which
        sends ``request_finished``) run together in a request thread. Django sent each signal
        through asgiref's shared thread, two more hand-offs (with their copies of the context) that
        cost as much CPU as a light request's middleware (bench/http). A streaming response is
        closed after its body is sent, as Django does. A client that disconnects first cancels the
        sending, as in Django; the request thread finishes its work."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None or error_response is not None:
            body_file.close()
            if error_response is None:  # Django gives one with every missing request
                raise RuntimeError("create_request gave neither a request nor an error response")
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close, thread_sensitive=False, executor=self.executor)()
            return

        async def process_request() -> HttpResponseBase:
            response = await sync_to_async(self._serve, thread_sensitive=False, executor=self.executor)(request, scope)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client disconnected during the sending
            return response

        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        processing = asyncio.create_task(process_request())
        tasks: list[asyncio.Task[Any]] = [listening, processing]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:  # as Django: the listener first, since it raises nothing unexpected
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = processing.result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            if response.streaming:  # closed in a request thread once sent: request_finished gives its connection back
                await sync_to_async(response.close, thread_sensitive=False, executor=self.executor)()
        body_file.close()

    def _serve(self, request: HttpRequest, scope: Scope) -> HttpResponseBase:
        """In a request thread: ``request_started``, middleware and view, and the close of a
        response held in memory (its body is bytes by now; ``request_finished`` then gives this
        thread's database connection back, as Django's ``close_old_connections`` does: a broken
        one, or one past ``CONN_MAX_AGE``, is closed). After a streamed response's view, or an
        error, the connection is given back the same way."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            response = self._respond(request)
        except BaseException:
            close_old_connections()
            raise
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # Django's own handler sets it too
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # the ASGI server does the chunking
        if isinstance(response, StreamingHttpResponse) and isinstance(body := response.streaming_content, Iterator):
            response.streaming_content = self._pulled(body)  # a synchronous body (is_async false)
        if response.streaming:
            close_old_connections()  # the view is done: its connection goes back now, the body is sent later
        else:
            response.close()
        return response

    async def _pulled(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        """A synchronous body (a ``FileResponse``'s file, a generator) read one chunk at a time in a
        request thread while the chunks before it are sent. Django's ``StreamingHttpResponse``
        reads such a body whole into memory before sending any of it under ASGI (with a warning):
        a large download would sit in the server's memory."""
        pull = sync_to_async(_next_chunk, thread_sensitive=False, executor=self.executor)
        while (chunk := await pull(chunks)) is not None:
            yield chunk

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        """The middleware and the view."""
        return self.get_response(request)


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


def drop_needless_cache_closing() -> bool:
    """Disconnect Django's ``close_caches`` from ``request_finished`` when no configured cache has
    anything to close: their classes keep ``BaseCache.close``, a no-op (the local-memory, database,
    file and Redis caches; only memcached's close something). Looking each cache up in its
    context-local to call that no-op cost ~4 % of a light signed-in request's instructions
    (callgrind, bench/http). Returns whether it was disconnected."""
    from django.core.cache import caches, close_caches
    from django.core.cache.backends.base import BaseCache

    if any(type(caches[alias]).close is not BaseCache.close for alias in settings.CACHES):
        return False
    return signals.request_finished.disconnect(close_caches)


def settle_startup_objects() -> None:
    """Load what the first request would (the URLconf, hence every view and the libraries they
    import), then move every object alive to the collector's permanent generation (``gc.freeze``).

    A full collection walks every tracked object: with Cordée's libraries loaded that took ~170 ms,
    every few hundred requests, and those were the slowest requests of all (bench/referrals counted
    four such pauses in 1,200 requests, each the page's "max"). Objects made later are collected as
    usual; the frozen ones were to live as long as the process anyway. ``import_pubmed`` calls it
    too, and the worker (``manage.py worker``, a layer below this one) freezes what it has loaded
    by itself: a PubMed import's full collections were ~13 % of its time.

    The caches are made here too, in the process's root context: Django keeps them in a
    context-local (``caches``), so a cache first used inside a request was that request's own —
    with Redis, a new connection pool and TCP connection for every request and every socket
    (bench/http: 16 % of a signed-in GET). Made here, every request's context shares them; Django's
    Redis, database and local-memory caches are safe to share between threads."""
    from django.core.cache import caches
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports the root URLconf and, through it, the views
    for alias in settings.CACHES:
        caches[alias]  # noqa: B018 -- made now, in the root context (above)
    drop_needless_cache_closing()
    gc.collect()
    gc.freeze()
