"""The baseline of the messaging benchmark: a minimal ASGI WebSocket fan-out app.

No database, no authentication, no encryption: the same frames as Cordée's socket (``ready``,
``open`` → ``history``, ``send`` → ``ack`` + ``message`` to the sockets that opened the
conversation), so the same client drives both. Served by the same uvicorn:
``uvicorn bench.messaging.baseline:app``. One process only (no shared layer).
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


async def _handle(frame: dict[str, Any], send: Any, opened: set[Any]) -> None:
    kind = frame.get("type")
    conversation = frame.get("conversation")
    if kind == "open":
        opened.add(conversation)
        _subscribers[conversation].add(send)
        await send({"type": "websocket.send", "text": json.dumps({"type": "history", "conversation": conversation})})
    elif kind == "send":
        _seqs[conversation] += 1
        message = {"id": next(_ids), "seq": _seqs[conversation], "conversation": conversation, "body": frame["body"]}
        ack = {"type": "ack", "key": frame.get("key"), "id": message["id"], "seq": message["seq"]}
        await send({"type": "websocket.send", "text": json.dumps(ack)})
        text = json.dumps({"type": "message", "message": message})
        for subscriber in list(_subscribers[conversation]):
            await subscriber({"type": "websocket.send", "text": text})
    elif kind == "ping":
        await send({"type": "websocket.send", "text": '{"type": "pong"}'})
