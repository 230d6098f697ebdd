"""Call frames on messaging's socket (``cordee.messaging.extensions``).

Client → server::

    {"type": "call.join", "call": 7}                 → call.joined (peers, or the waiting room)
    {"type": "call.leave", "call": 7}
    {"type": "call.end", "call": 7}                  the host: ends it for everyone
    {"type": "call.admit", "call": 7, "user": 12}    the host of a teleconsultation lets a patient in
    {"type": "call.offer" | "call.answer", "call": 7, "to": 12, "sdp": "v=0…"}
    {"type": "call.ice", "call": 7, "to": 12, "candidate": {"candidate": "…", "sdpMid": "0", "sdpMLineIndex": 0}}

Server → client: ``call.ring`` (to the conversation's members), ``call.joined``, ``call.waiting``
(to the host), ``call.admitted``, ``call.participant`` (joined / left), ``call.offer``,
``call.answer``, ``call.ice`` (with ``from``), ``call.ended``, ``call.moved``, ``error``.

Every signalling frame is checked on its own against the database: the sender is in the call
from this very socket, the call is in progress, both are still members of its conversation and
the peer is in the call (admitted). Anything else is refused with the answer a missing call gets
(``not_found``) and audited; a malformed frame gets ``bad_request`` and is audited too. A socket
that keeps sending bad frames is closed.
"""

from __future__ import annotations

import functools
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.http import Http404

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.messaging import extensions
from cordee.messaging.models import Member
from cordee.video import events, purposes, services
from cordee.video.access import access_call
from cordee.video.models import Call, Participant

MAX_CANDIDATE_CHARS = 1024
MAX_BAD_FRAMES = 20  # per socket: then it is closed
POLICY_VIOLATION = 4408


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def parse_signal(content: dict[str, Any]) -> tuple[int, int, dict[str, Any]] | None:
    """(call, to, payload) of a well-formed signalling frame, else None."""
    kind = content.get("type")
    call_id, to = _int(content.get("call")), _int(content.get("to"))
    if call_id is None or to is None:
        return None
    if kind in ("call.offer", "call.answer"):
        sdp = content.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp.encode()) > settings.VIDEO_MAX_SDP_BYTES:
            return None
        return call_id, to, {"sdp": sdp}
    if kind == "call.ice":
        candidate = content.get("candidate")
        if not isinstance(candidate, dict) or set(candidate) - {
            "candidate",
            "sdpMid",
            "sdpMLineIndex",
            "usernameFragment",
        }:
            return None
        text, mid, index = candidate.get("candidate"), candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
        fragment = candidate.get("usernameFragment")
        if not isinstance(text, str) or len(text) > MAX_CANDIDATE_CHARS:
            return None
        if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
            return None
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64):
            return None
        if fragment is not None and (not isinstance(fragment, str) or len(fragment) > 256):
            return None
        return (
            call_id,
            to,
            {
                "candidate": {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index}
                | ({"usernameFragment": fragment} if fragment is not None else {})
            },
        )
    return None


@functools.cache
def _route_sql() -> str:
    """One plain SELECT, written once: the ORM's compilation of the same query cost more than
    running it, on the path every ICE candidate takes."""
    q = connection.ops.quote_name
    participant, call, member = Participant._meta.db_table, Call._meta.db_table, Member._meta.db_table
    return (
        f"SELECT p.{q('user_id')}, p.{q('channel')} FROM {q(participant)} p "  # noqa: S608  (no user input in the SQL text)
        f"INNER JOIN {q(call)} c ON c.{q('id')} = p.{q('call_id')} "
        f"INNER JOIN {q(member)} m ON m.{q('conversation_id')} = c.{q('conversation_id')} "
        f"AND m.{q('user_id')} = p.{q('user_id')} "
        f"WHERE p.{q('call_id')} = %s AND c.{q('state')} = %s AND p.{q('state')} = %s "
        f"AND p.{q('user_id')} IN (%s, %s)"
    )


def route(sender_id: int, channel: str, call_id: int, to: int) -> str | None:
    """The channel of ``to`` if ``sender_id`` may signal them in ``call_id`` from ``channel``:
    one query (both in the call, both still members of its conversation, the call in progress)."""
    if to == sender_id:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_route_sql(), [call_id, Call.State.ACTIVE.value, Participant.State.JOINED.value, sender_id, to])
        rows = dict(cursor.fetchall())
    if rows.get(sender_id) != channel or not rows.get(to):
        return None
    return str(rows[to])


def _audit_signal(socket: extensions.Socket, action: str, content: dict[str, Any], outcome: str) -> None:
    raw_call = content.get("call")
    audit.record(
        action,
        actor=socket.user,
        request=socket.request,
        target_type="video.call",
        target_id=str(raw_call)[:64],
        purpose=purposes.CALL,
        outcome=outcome,
        details={"frame": str(content.get("type"))[:32]},
    )


async def _bad(socket: extensions.Socket, content: dict[str, Any]) -> None:
    count = getattr(socket, "video_bad_frames", 0) + 1
    socket.video_bad_frames = count  # type: ignore[attr-defined]  # a counter kept on this socket only
    await database_sync_to_async(_audit_signal)(socket, purposes.SIGNAL_MALFORMED, content, AuditEntry.Outcome.FAILURE)
    await socket.send_json({"type": "error", "code": "bad_request", "call": _int(content.get("call"))})
    if count >= MAX_BAD_FRAMES:
        await socket.close(code=POLICY_VIOLATION)


async def on_signal(socket: extensions.Socket, content: dict[str, Any]) -> None:
    parsed = parse_signal(content)
    if parsed is None:
        await _bad(socket, content)
        return
    call_id, to, payload = parsed
    target = await database_sync_to_async(route)(socket.user.pk, socket.channel_name, call_id, to)
    if target is None:
        await database_sync_to_async(_audit_signal)(socket, purposes.SIGNAL_REFUSED, content, AuditEntry.Outcome.DENIED)
        await socket.send_json({"type": "error", "code": "not_found", "call": call_id})
        return
    frame = {"type": content["type"], "call": call_id, "from": socket.user.pk} | payload
    await events.adeliver([events.to_channel(target, frame)])


def _act(socket: extensions.Socket, content: dict[str, Any]) -> dict[str, Any] | None:
    """call.join / leave / end / admit, in the database thread: the reply frame or None."""
    kind = content.get("type")
    call = access_call(socket.user, content.get("call"), request=socket.request)
    if kind == "call.join":
        return services.do_join(socket.user, call, socket.channel_name, socket.request).frame
    if kind == "call.leave":
        services.do_leave(socket.user, call, socket.request)
        return {"type": "call.left", "call": call.pk}
    if kind == "call.end":
        services.do_end(socket.user, call, socket.request)
        return None
    services.do_admit(socket.user, call, content.get("user"), socket.request)
    return None


async def on_action(socket: extensions.Socket, content: dict[str, Any]) -> None:
    call_id = _int(content.get("call"))
    try:
        reply = await database_sync_to_async(_act)(socket, content)
    except Http404:
        await socket.send_json({"type": "error", "code": "not_found", "call": call_id})
        return
    except services.CallError as error:
        await socket.send_json({"type": "error", "code": error.code, "call": call_id})
        return
    if reply is not None:
        if reply["type"] == "call.joined":
            socket.video_joined = True  # type: ignore[attr-defined]  # this socket has been in a call
        await socket.send_json(reply)


async def on_close(socket: extensions.Socket) -> None:
    """Leave the calls this socket was in (only sockets that joined one: not a query per socket)."""
    if getattr(socket, "video_joined", False):
        await database_sync_to_async(services.leave_socket_calls)(socket.user, socket.channel_name)


async def on_ready(socket: extensions.Socket) -> dict[str, Any]:
    """The calls in progress the user may join, for a page opened after they started (its
    incoming-call banner)."""
    return {"calls": await database_sync_to_async(services.ringing_for)(socket.user, set(socket.conversations))}


def register() -> None:
    for kind in ("call.offer", "call.answer", "call.ice"):
        extensions.register_frame(kind, on_signal)
    for kind in ("call.join", "call.leave", "call.end", "call.admit"):
        extensions.register_frame(kind, on_action)
    extensions.register_close(on_close)
    extensions.register_ready(on_ready)
