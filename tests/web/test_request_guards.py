"""What is refused or added before application code (issue 10, finding 7): WebSocket origins
compared in full, oversized bodies refused unread, per-user API rate limits, private answers,
Permissions-Policy, the demo seed refused in production, an unjustified emergency access ended."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command

from cordee.audit.models import AuditEntry
from cordee.lib.asgi import BodySizeLimit, origin_allowed
from tests.conftest import run_fresh_interpreter
from tests.messaging.conftest import communicator, session_cookie


def _scope(origin: str, host: str = "localhost", scheme: str = "ws") -> dict:
    return {"type": "websocket", "scheme": scheme, "headers": [(b"host", host.encode()), (b"origin", origin.encode())]}


@pytest.mark.parametrize(
    "origin,host,scheme,allowed",
    [
        ("http://localhost", "localhost", "ws", True),
        ("http://localhost:8000", "localhost:8000", "ws", True),
        ("https://localhost", "localhost", "wss", True),
        ("http://localhost:9999", "localhost", "ws", False),  # another port
        ("https://localhost", "localhost", "ws", False),  # another scheme
        ("http://localhost", "localhost", "wss", False),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),
        ("http://evil.example", "evil.example", "ws", False),  # not an allowed host
        ("null", "localhost", "ws", False),
    ],
)
def test_websocket_origins_are_compared_in_full(origin, host, scheme, allowed):
    assert origin_allowed(_scope(origin, host, scheme)) is allowed


def test_a_trusted_origin_may_open_sockets(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://cordee.example.fr"]
    settings.ALLOWED_HOSTS = ["cordee.internal"]
    assert origin_allowed(_scope("https://cordee.example.fr", "cordee.internal"))
    assert not origin_allowed(_scope("https://cordee.example.fr:8443", "cordee.internal"))


@pytest.mark.django_db(transaction=True)
def test_a_socket_from_the_same_host_on_another_port_is_refused(alice, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "cordee.messaging.layers.LocalChannelLayer"}}
    cookie = session_cookie(alice)

    async def scenario():
        comm = communicator(cookie, origin="http://localhost:9999")
        ok, _code = await comm.connect()
        await comm.disconnect()
        return ok

    assert async_to_sync(scenario)() is False


def _call(app, headers: list, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Drive an ASGI app; the status, body, and how much of the request body the app read."""
    sent: list[dict] = []
    read = 0

    async def inner(scope, receive, send):
        nonlocal read
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/api/messaging/conversations/1/attachments", "headers": headers}
    asyncio.run(app(inner)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), read


def test_an_announced_oversized_body_is_refused_before_it_is_read(settings):
    settings.REQUEST_MAX_BYTES = 100
    status, body, read = _call(BodySizeLimit, [(b"content-length", b"101")], [b"x" * 101])
    assert (status, read) == (413, 0)
    assert json.loads(body)["code"] == "too_large"
    assert _call(BodySizeLimit, [(b"content-length", b"1e9")], [b""])[0] == 413
    assert _call(BodySizeLimit, [(b"content-length", b"100")], [b"x" * 100])[:2] == (200, b"ok")


def test_a_streamed_body_is_cut_when_it_passes_the_limit(settings):
    settings.REQUEST_MAX_BYTES = 100
    status, _body, read = _call(BodySizeLimit, [], [b"x" * 60, b"x" * 60, b"x" * 60])
    assert status == 413 and read == 60


@pytest.mark.django_db
def test_cordees_asgi_application_refuses_an_oversized_upload_unread(settings):
    """The wiring: the real application answers 413 before Django reads the body."""
    from asgiref.testing import ApplicationCommunicator

    from cordee.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/messaging/conversations/1/attachments",
        "raw_path": b"/api/messaging/conversations/1/attachments",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-length", str(settings.REQUEST_MAX_BYTES + 1).encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }

    async def scenario():
        communicator = ApplicationCommunicator(application, scope)
        start = await communicator.receive_output(timeout=5)  # nothing of the body was ever sent
        body = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)
        return start["status"], json.loads(body["body"])

    status, answer = async_to_sync(scenario)()
    assert status == 413 and answer["code"] == "too_large"


def test_the_api_limits_each_user(client_for, alice, bob, settings):
    settings.API_RATE_LIMITS = "5/m"
    alice_client = client_for(alice)
    answers = [alice_client.get("/api/messaging/conversations").status_code for _ in range(7)]
    assert answers == [200] * 5 + [429, 429]
    refused = alice_client.get("/api/messaging/conversations")
    assert 0 < int(refused["Retry-After"]) <= 60
    from django.test import Client

    from tests.conftest import login_as

    other = Client()
    login_as(other, bob)
    assert other.get("/api/messaging/conversations").status_code == 200  # Bob has his own counter


def test_pages_and_api_answers_are_private_and_carry_a_permissions_policy(client_for, alice, paula):
    client = client_for(alice)
    for url in ["/", f"/patients/{paula.patient.pk}/", "/api/messaging/conversations", "/accounts/login/"]:
        response = client.get(url)
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
        assert "camera=()" in response["Permissions-Policy"], url


def test_the_demo_seed_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    from cordee.accounts.models import User

    assert not User.objects.filter(email="alice@cordee.test").exists()


def test_an_unjustified_emergency_access_ends_at_once(charlie, otto, paula):
    from cordee.care.access import access_patient
    from cordee.care.services import check_break_glass
    from cordee.security.models import Alert
    from cordee.security.services import do_review_alert

    _patient, grant = check_break_glass(charlie, paula.patient.ins, "Patiente inconsciente aux urgences, traitement ?")
    assert access_patient(charlie, paula.patient.pk, purpose="test") == paula.patient
    alert = do_review_alert(Alert.objects.get(break_glass=grant), "unjustified", "Aucune urgence ce jour-là.", by=otto)
    with pytest.raises(Exception) as refused:
        access_patient(charlie, paula.patient.pk, purpose="test")
    assert refused.typename == "Http404"
    entry = AuditEntry.objects.get(action="care.break_glass_ended")
    assert (entry.actor_id, entry.patient_id, entry.details["reason"]) == (
        otto.pk,
        paula.patient.pk,
        "review_unjustified",
    )
    grant.refresh_from_db()
    assert grant.expires_at <= alert.reviewed_at or not grant.is_active


def test_the_server_freezes_its_start_up_objects_out_of_the_collectors_way(tmp_path):
    """``cordee.asgi`` loads the views and freezes what is alive then (``settle_startup_objects``):
    full collections no longer walk the libraries, the slowest requests of all before. Checked in a
    fresh interpreter, as the server starts."""
    probe = (
        "import gc, sys; import cordee.asgi; "
        "print(gc.get_freeze_count(), 'cordee.referrals.views' in sys.modules, len(gc.get_objects()))"
    )
    result = run_fresh_interpreter(probe, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, views_loaded, collected = result.stdout.split()
    assert views_loaded == "True"  # the URLconf and its views were loaded before freezing
    assert int(frozen) > 100_000 and int(collected) < int(frozen) // 10, result.stdout


def test_caches_with_nothing_to_close_are_not_closed_after_every_request(tmp_path, monkeypatch):
    """Django's ``close_caches`` calls each cache's ``close`` after every request; Cordée's caches
    (local memory, database, Redis) have nothing to close, so the server disconnects it at start-up
    (``drop_needless_cache_closing``); a cache that closes something keeps it."""
    probe = (
        "import cordee.asgi; from django.core import signals; from django.core.cache import close_caches; "
        "print(any(r[1]() is close_caches for r in signals.request_finished.receivers))"
    )
    result = run_fresh_interpreter(probe, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False"]

    from django.core import signals
    from django.core.cache import caches, close_caches
    from django.core.cache.backends.base import BaseCache

    from cordee.lib.asgi import drop_needless_cache_closing

    def connected() -> bool:
        return any(receiver[1]() is close_caches for receiver in signals.request_finished.receivers)

    was_connected = connected()
    signals.request_finished.connect(close_caches)
    try:
        monkeypatch.setattr(type(caches["default"]), "close", lambda self, **kwargs: None)  # closes something
        assert drop_needless_cache_closing() is False and connected()
        monkeypatch.setattr(type(caches["default"]), "close", BaseCache.close)
        assert drop_needless_cache_closing() is True and not connected()
    finally:
        if was_connected:
            signals.request_finished.connect(close_caches)
        else:
            signals.request_finished.disconnect(close_caches)
