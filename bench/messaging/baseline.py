"""The baseline of the messaging benchmark: a minimal ASGI WebSocket fan-out app.

No database, no authentication, no encryption: the same frames as Cordée's socket (``ready``,
``open`` → ``history``, ``send`` → ``ack`` + ``message`` to the sockets that opened the
conversation), and the same JSON API send (``POST /api/messaging/conversations/<id>/messages`` →
201 and the message to those sockets), so the same client drives both. Served by the same
uvicorn: ``uvicorn bench.messaging.baseline:app``. One process only (no shared layer).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

_ids = itertools.count(1)
_seqs: dict[Any, int] = defaultdict(int)
_subscribers: dict[Any, set[Any]] = defaultdict(set)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
        return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps({"type": "ready", "conversations": []})})
    opened: set[Any] = set()
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            frame = json.loads(event.get("text") or "{}")
            await _handle(frame, send, opened)
    finally:
        for conversation in opened:
            _subscribers[conversation].discard(send)


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    parts = scope["path"].strip("/").split("/")  # api/messaging/conversations/<id>/messages
    if scope["method"] != "POST" or len(parts) != 5 or parts[:3] != ["api", "messaging", "conversations"]:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    conversation = int(parts[3])
    message = await _store_and_fan_out(conversation, json.loads(body)["body"])
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(message).encode()})


async def _store_and_fan_out(conversation: Any, body: str) -> dict[str, Any]:
    _seqs[conversation] += 1
    message = {"id": next(_ids), "seq": _seqs[conversation], "conversation": conversation, "body": body}
    text = json.dumps({"type": "message", "message": message})
    for subscriber in list(_subscribers[conversation]):
        await subscriber({"type": "websocket.send", "text": text})
    return message


async def _handle(frame: dict[str, Any], send: Any, opened: set[Any]) -> None:
    kind = frame.get("type")
    conversation = frame.get("conversation")
    if kind == "open":
        opened.add(conversation)
        _subscribers[conversation].add(send)
        await send({"type": "websocket.send", "text": json.dumps({"type": "history", "conversation": conversation})})
    elif kind == "send":
        message = await _store_and_fan_out(conversation, frame["body"])
        ack = {"type": "ack", "key": frame.get("key"), "id": message["id"], "seq": message["seq"]}
        await send({"type": "websocket.send", "text": json.dumps(ack)})
    elif kind == "ping":
        await send({"type": "websocket.send", "text": '{"type": "pong"}'})
