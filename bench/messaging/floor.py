"""A floor for the messaging benchmark: Cordée's store path behind the baseline's bare socket.

Not part of Cordée: a measuring instrument. The socket side is ``baseline.py``'s (no Channels, no
channel layer, no consumer; the session cookie read once at connect), the send goes through what
Cordée's socket runs for it: the batcher's group commit (``cordee.messaging.batcher``: the checks,
the transaction, the encryption, the audit entries, the events' frames), then the ack carrying the
stored message and the event's frames written to the sockets of the conversation's members in this
process. What this configuration costs a message is what Cordée would cost with a socket layer as
cheap as the bare baseline's: ``sqlite-1`` minus this is what Channels and the consumer cost.

Served like Cordée: ``uvicorn bench.messaging.floor:app``, one process, SQLite (no Redis: the
events are handed to the sockets of the process directly). HTTP goes to Cordée's own application.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from importlib import import_module
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")

import django  # noqa: E402

django.setup(set_prefix=False)  # as cordee.asgi does, before the models are imported

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402

from cordee.accounts.models import User  # noqa: E402
from cordee.asgi import application as cordee_application  # noqa: E402
from cordee.messaging import events, sockets  # noqa: E402
from cordee.messaging.batcher import batcher  # noqa: E402
from cordee.messaging.consumers import ack_text  # noqa: E402
from cordee.messaging.services.sending import SendError, SendRequest  # noqa: E402

_sockets: dict[int, set[Any]] = defaultdict(set)  # conversation id → the sockets of its members


def _who(scope: dict[str, Any]) -> tuple[User, set[int]] | None:
    """The signed-in user of the session cookie and the conversations they see (at connect only)."""
    header = next((value for name, value in scope.get("headers") or [] if name == b"cookie"), b"")
    session_key = parse_cookie(header.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)  # as Channels reads it
    if session_key is None:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = session.get("_auth_user_id")
    user = User.objects.select_related("professional").filter(pk=user_id).first() if user_id else None
    return (user, sockets.visible_ids(user)) if user is not None else None


async def _apublish(to_publish: list[events.Event]) -> None:
    """In place of the channel layer: each event's frame written to the member sockets of this
    process (the one that sent it has the message in its ack), as the baseline fans out."""
    for _group, event in to_publish:
        conversation = event.get("conversation")
        for socket in list(_sockets.get(conversation, ())):
            if socket.name == event.get("origin"):
                continue
            text = event["full"] if conversation in socket.opened else event["notice"]
            await socket.send({"type": "websocket.send", "text": text})


events.apublish = _apublish  # the batcher publishes through this module's function


class _Socket:
    def __init__(self, send: Any) -> None:
        self.send = send
        self.name = f"floor.{id(self)}"
        self.opened: set[int] = set()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        await cordee_application(scope, receive, send)
        return
    await receive()  # websocket.connect
    found = await sync_to_async(_who)(scope)
    if found is None:
        await send({"type": "websocket.close", "code": 4401})
        return
    user, visible = found
    request = sockets.socket_request(scope, user)
    socket = _Socket(send)
    for conversation in visible:
        _sockets[conversation].add(socket)
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": events.encode({"type": "ready", "conversations": sorted(visible)})})
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            frame = events.decode(event.get("text") or "{}")
            kind = frame.get("type")
            if kind == "open" and frame.get("conversation") in visible:
                socket.opened.add(frame["conversation"])  # full frames from now on, notices before
                await send({"type": "websocket.send", "text": events.encode({"type": "history", "messages": []})})
            elif kind == "send":
                _spawn(_send_and_ack(socket, user, request, frame))
    finally:
        for conversation in visible:
            _sockets[conversation].discard(socket)


_tasks: set[Any] = set()


def _spawn(coroutine: Any) -> None:
    """Not awaited, as in Cordée's consumer: the socket reads on while the send is stored."""
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _send_and_ack(socket: _Socket, user: User, request: Any, frame: dict[str, Any]) -> None:
    send_request = SendRequest(
        user=user,
        conversation_id=frame.get("conversation"),
        body=frame.get("body"),
        client_key=frame.get("key"),
        request=request,
        origin=socket.name,
    )
    result = await batcher().send(send_request)
    if isinstance(result, SendError):
        text = events.encode({"type": "error", "code": result.code, "key": frame.get("key")})
        await socket.send({"type": "websocket.send", "text": text})
        return
    key = frame.get("key") if isinstance(frame.get("key"), str) else None
    await socket.send({"type": "websocket.send", "text": ack_text(key, result)})  # the consumer's own ack
