"""The messaging socket (``/ws/messagerie/``): JSON frames, one socket per browser tab.

Client → server::

    {"type": "send", "conversation": 12, "key": "<8-64 chars>", "body": "…", "urgent": false,
     "mentions": [3], "attachments": [7]}          → {"type": "ack", "key", "id", "seq", …} after commit
    {"type": "open", "conversation": 12, "after": 41 | null}   → {"type": "history", …} (audited read)
    {"type": "close", "conversation": 12}           the pane is closed: bodies stop coming
    {"type": "read", "conversation": 12, "seq": 45}
    {"type": "ping"}                                → {"type": "pong"}

Server → client: ``message`` (full, for an open thread), ``notice`` (number and flags only, for
the others), ``conversation`` (state), ``joined`` / ``removed``, ``read``, ``error``.

The socket is subscribed to the group of each conversation its user may read and to the user's
own group; control messages there add or drop conversation groups at once (``msg.left``).
Errors never say more than the API would: a forged id, someone else's conversation and a
missing one all give ``not_found``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.http import Http404

from cordee.messaging import events, extensions, sockets
from cordee.messaging.batcher import batcher
from cordee.messaging.receivers import session_tag
from cordee.messaging.services.sending import SendError, SendRequest, SendResult

UNAUTHORISED = 4401
logger = logging.getLogger(__name__)


def ack_text(key: str | None, result: SendResult) -> str:
    """The sender's ``ack`` frame: the stored message's numbers, and the message itself."""
    message = result.message
    head = {
        "type": "ack",
        "key": key,
        "conversation": message.conversation_id,
        "id": message.pk,
        "seq": message.seq,
        "rev_seq": message.rev_seq,
        "duplicate": result.duplicate,
    }
    payload_json = result.payload_json if result.payload_json is not None else events.encode(result.payload)
    return events.with_message(head, payload_json)


class MessagingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if not await database_sync_to_async(sockets.socket_allowed)(user, session):
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        # The user itself, not Channels' lazy wrapper: every send reads it (audit, payload) and each
        # attribute read through the wrapper cost more than the read.
        self.user = getattr(user, "_wrapped", user)
        self.session = session
        self.session_tag = session_tag(session.session_key)
        self.request = sockets.socket_request(self.scope, user)
        self.checked_at = time.monotonic()
        self.conversations: set[int] = set()
        self.opened: set[int] = set()
        self.sending: set[asyncio.Task[None]] = set()
        await self.channel_layer.group_add(events.user_group(user.pk), self.channel_name)
        await self.channel_layer.group_add(events.session_group(self.session_tag), self.channel_name)
        for conversation_id in await database_sync_to_async(sockets.visible_ids)(user):
            await self._subscribe(conversation_id)
        await self.accept()
        # Channels' session wrapper only acts on HTTP responses (it saves the session and sets its
        # cookie there), yet reads the lazy session twice per frame sent: frames go straight out.
        base_send: Any = getattr(self, "base_send", None)  # set by Channels in __call__ (untyped there)
        wrapper = getattr(base_send, "__self__", None)
        if isinstance(wrapper, InstanceSessionWrapper) and wrapper.save_message_types == ["http.response.start"]:
            self.base_send = wrapper.real_send
        self.watchdog = asyncio.create_task(self._close_when_session_times_out())
        extra: dict[str, Any] = {}
        for on_ready in extensions.ready_handlers():  # e.g. the calls in progress the user may join
            try:
                extra.update(await on_ready(self))
            except Exception:
                logger.exception("messaging socket: a ready handler failed")
        ready = {"type": "ready", "user": user.pk, "conversations": sorted(self.conversations)}
        await self.send_json({**extra, **ready})

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):  # refused at connect
            return
        for task in self.sending:
            task.cancel()  # the batch still commits; the client resends with the same key
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        for on_close in extensions.close_handlers():  # e.g. leave the call this socket was in
            try:
                await on_close(self)
            except Exception:
                logger.exception("messaging socket: a close handler failed")
        await self.channel_layer.group_discard(events.user_group(self.user.pk), self.channel_name)
        await self.channel_layer.group_discard(events.session_group(self.session_tag), self.channel_name)
        for conversation_id in list(self.conversations):
            await self._unsubscribe(conversation_id)

    async def _subscribe(self, conversation_id: int) -> None:
        if conversation_id not in self.conversations:
            self.conversations.add(conversation_id)
            await self.channel_layer.group_add(events.conversation_group(conversation_id), self.channel_name)

    async def _unsubscribe(self, conversation_id: int) -> None:
        self.conversations.discard(conversation_id)
        self.opened.discard(conversation_id)
        await self.channel_layer.group_discard(events.conversation_group(conversation_id), self.channel_name)

    async def _error(self, code: str, message: str = "", **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its per-message hop to the database thread.

        ``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` before every message: a
        thread hop per event and socket, on the fan-out path. Here every database call goes
        through ``database_sync_to_async`` (or the batcher), which closes stale connections in the
        thread that uses them, so events and frames are handled directly; connect and disconnect
        keep Channels' behaviour.
        """
        kind = message.get("type", "")
        if kind.startswith("msg.") or kind == "websocket.receive":
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {kind}")
            await handler(message)
            return
        await super().dispatch(message)

    # --- client frames -----------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handler: Callable[[dict[str, Any]], Awaitable[None]] | None = {
            "send": self.on_send,
            "open": self.on_open,
            "close": self.on_close,
            "read": self.on_read,
            "ping": self.on_ping,
        }.get(kind if isinstance(kind, str) else "")
        if handler is None and isinstance(kind, str):
            extension = extensions.frame_handler(kind)  # frames of apps above messaging (calls)
            if extension is not None:
                handler = functools.partial(extension, self)
        if handler is None:
            await self._error("bad_request")
            return
        if not await self._session_ok(active=kind != "ping"):
            await self.close(code=UNAUTHORISED)
            return
        await handler(content)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """A text frame is JSON; a binary frame is not part of the protocol: an error, not a crash."""
        if text_data is None:
            await self._error("bad_request")
            return
        await self.receive_json(await self.decode_json(text_data), **kwargs)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return events.decode(text_data)
        except ValueError:  # not JSON (orjson also refuses lone surrogates): a bad request
            return None

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return events.encode(content)

    async def _close_when_session_times_out(self) -> None:
        """Close the socket when its session ends by time (idle or maximum age), not at the next frame.

        Sleeps until the deadline the session store gives, then asks it again: activity elsewhere
        (pages, this socket) may have moved the idle deadline on.
        """
        while True:
            left = await database_sync_to_async(sockets.seconds_left)(self.user, self.session)
            if left is None:
                await self.close(code=UNAUTHORISED)
                return
            await asyncio.sleep(left + 0.05)

    async def _session_ok(self, *, active: bool) -> bool:
        now = time.monotonic()
        if now - self.checked_at < sockets.SESSION_CHECK_SECONDS:
            return True
        self.checked_at = now
        return await database_sync_to_async(sockets.session_still_valid)(self.user, self.session, active=active)

    async def on_send(self, content: dict[str, Any]) -> None:
        request = SendRequest(
            user=self.user,
            conversation_id=content.get("conversation"),
            body=content.get("body"),
            client_key=content.get("key"),
            urgent=content.get("urgent", False),
            mentions=content.get("mentions") or [],
            attachment_ids=content.get("attachments") or [],
            request=self.request,
            origin=self.channel_name,
        )
        # Not awaited here: further frames (and sends, which may then share a commit) go on.
        task = asyncio.create_task(self._send_and_ack(request))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send_and_ack(self, request: SendRequest) -> None:
        key = request.client_key if isinstance(request.client_key, str) else None
        result = await batcher().send(request)
        if isinstance(result, SendError):
            await self._error(result.code, result.message, key=key, conversation=request.conversation_id)
            return
        await self.send(text_data=ack_text(key, result))

    async def on_open(self, content: dict[str, Any]) -> None:
        try:
            opened = await database_sync_to_async(sockets.open_thread)(
                self.user, content.get("conversation"), content.get("after"), self.request
            )
        except Http404:
            await self._error("not_found", conversation=content.get("conversation"))
            return
        await self._subscribe(opened.conversation_id)
        self.opened.add(opened.conversation_id)
        await self.send_json(opened.frame)

    async def on_close(self, content: dict[str, Any]) -> None:
        conversation_id = content.get("conversation")
        if isinstance(conversation_id, int):
            self.opened.discard(conversation_id)

    async def on_read(self, content: dict[str, Any]) -> None:
        try:
            await database_sync_to_async(sockets.mark_read)(
                self.user, content.get("conversation"), content.get("seq"), self.request
            )
        except Http404:
            await self._error("not_found", conversation=content.get("conversation"))

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    # --- group events ------------------------------------------------------------------

    async def msg_message(self, event: dict[str, Any]) -> None:
        """A new or changed message: in full to a socket that opened the thread, else a notice."""
        conversation_id = event["conversation"]
        if conversation_id not in self.conversations or event.get("origin") == self.channel_name:
            return  # not ours, or sent from this very socket: its ack carried the message
        if conversation_id in self.opened:
            text = event["full"]
        else:
            text = event["notice_mentioned"] if self.user.pk in event["mentions"] else event["notice"]
        await self.send(text_data=text)

    async def msg_changed(self, event: dict[str, Any]) -> None:
        if event["state"]["id"] in self.conversations:
            await self.send_json({"type": "conversation", "state": event["state"]})

    async def msg_joined(self, event: dict[str, Any]) -> None:
        conversation_id = event["conversation"]
        if conversation_id in self.conversations:
            return
        if await database_sync_to_async(sockets.still_visible)(self.user, conversation_id):
            await self._subscribe(conversation_id)
            await self.send_json({"type": "joined", "conversation": conversation_id})

    async def msg_left(self, event: dict[str, Any]) -> None:
        conversation_id = event["conversation"]
        if conversation_id not in self.conversations:
            return
        await self._unsubscribe(conversation_id)  # first: nothing more arrives from now on
        if await database_sync_to_async(sockets.still_visible)(self.user, conversation_id):
            await self._subscribe(conversation_id)  # still readable otherwise (staff reading for someone)
            return
        await self.send_json({"type": "removed", "conversation": conversation_id})

    async def msg_resync(self, event: dict[str, Any]) -> None:
        visible = await database_sync_to_async(sockets.visible_ids)(self.user)
        for conversation_id in sorted(self.conversations - visible):
            await self._unsubscribe(conversation_id)
            await self.send_json({"type": "removed", "conversation": conversation_id})
        for conversation_id in sorted(visible - self.conversations):
            await self._subscribe(conversation_id)
            await self.send_json({"type": "joined", "conversation": conversation_id})

    async def msg_read(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "read", "conversation": event["conversation"], "seq": event["seq"]})

    async def msg_relay(self, event: dict[str, Any]) -> None:
        """A frame of an app above messaging (``events.relay_event``), encoded once by its sender.

        Sent to this socket's channel, or to a conversation's group: then only while this socket
        is subscribed to it, and only to the users named when ``users`` is given."""
        conversation_id = event.get("conversation")
        if conversation_id is not None and conversation_id not in self.conversations:
            return
        users = event.get("users")
        if users is not None and self.user.pk not in users:
            return
        await self.send(text_data=event["text"])

    async def msg_session_ended(self, event: dict[str, Any]) -> None:
        if event["session"] == self.session_tag:
            await self.close(code=UNAUTHORISED)

    async def msg_sessions_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=UNAUTHORISED)
