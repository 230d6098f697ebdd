"""Frames of the messaging socket handled by apps above messaging (video's call signalling).

Messaging cannot import those apps (docs/architecture.md): they register here, from their
``AppConfig.ready()``, the client frame types they handle, what the socket's first frame
(``ready``) tells of theirs (video: the calls in progress the user may join), and what to do when a
socket closes.
A handler gets the socket (``Socket``: its user, its audit request, its channel name, its
conversations) and the decoded frame; it answers on the socket itself. The session of the socket
was checked before the handler runs, as for messaging's own frames.

Events for these frames travel as ``msg.relay`` (see ``events.relay_event``): a frame encoded
once, sent to one socket's channel or to a conversation's group (optionally to some of its
users only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from cordee.accounts.models import User


class Socket(Protocol):
    user: User
    request: HttpRequest
    channel_name: str
    conversations: set[int]

    async def send_json(self, content: Any, close: bool = False) -> None: ...

    async def close(self, code: int | None = None, reason: str | None = None) -> None: ...


FrameHandler = Callable[[Socket, dict[str, Any]], Awaitable[None]]
CloseHandler = Callable[[Socket], Awaitable[None]]
ReadyHandler = Callable[[Socket], Awaitable[dict[str, Any]]]  # fields added to the "ready" frame

_frames: dict[str, FrameHandler] = {}
_on_close: list[CloseHandler] = []
_on_ready: list[ReadyHandler] = []


def register_frame(kind: str, handler: FrameHandler) -> None:
    existing = _frames.get(kind)
    if existing is not None and existing is not handler:
        raise ImproperlyConfigured(f"messaging socket: frame {kind!r} is registered twice")
    _frames[kind] = handler


def register_close(handler: CloseHandler) -> None:
    if handler not in _on_close:
        _on_close.append(handler)


def register_ready(handler: ReadyHandler) -> None:
    if handler not in _on_ready:
        _on_ready.append(handler)


def ready_handlers() -> list[ReadyHandler]:
    return list(_on_ready)


def frame_handler(kind: str) -> FrameHandler | None:
    return _frames.get(kind)


def close_handlers() -> list[CloseHandler]:
    return list(_on_close)
