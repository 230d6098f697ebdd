"""Real-time events: group names, payloads, and publishing once the transaction has committed.

Groups are per conversation (``msg.c.<id>``: every socket allowed to read it), per user
(``msg.u.<id>``: control messages such as "you left this conversation") and per session
(``msg.s.<hash>``: "this session has ended"); there is no global group. The channel layer is
the in-memory one on one process, Redis with several (its traffic encrypted, see settings
``CHANNEL_LAYER_KEY``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse

from cordee.messaging.models import Attachment, Conversation, Message

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


def conversation_group(conversation_id: int) -> str:
    return f"msg.c.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"msg.u.{user_id}"


def session_group(tag: str) -> str:
    """The sockets opened with one session (``tag``: a hash of its key, never the key itself)."""
    return f"msg.s.{tag}"


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "preview": attachment.preview or None,
        "url": reverse("api:messaging_attachment", kwargs={"attachment_id": attachment.pk}),
        "preview_url": (
            reverse("api:messaging_attachment_preview", kwargs={"attachment_id": attachment.pk})
            if attachment.preview
            else None
        ),
    }


def message_payload(message: Message, *, sender_name: str, attachments: Iterable[Attachment] = ()) -> dict[str, Any]:
    deleted = message.deleted_at is not None
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "rev_seq": message.rev_seq,
        "sender": message.sender_id,
        "sender_name": sender_name,
        "key": message.client_key,
        "body": "" if deleted else message.body,
        "urgent": message.urgent,
        "mentions": list(message.mentions),
        "created_at": message.created_at.isoformat(),
        "edited": message.edited_at is not None,
        "deleted": deleted,
        "attachments": [] if deleted else [attachment_payload(a) for a in attachments],
        "card": None if deleted or not message.card else json.loads(message.card),
    }


def conversation_state(conversation: Conversation) -> dict[str, Any]:
    """What changes about a conversation while it is open (never health data beyond its name)."""
    return {
        "id": conversation.pk,
        "kind": conversation.kind,
        "title": conversation.title,
        "replies_closed": conversation.replies_closed,
        "last_seq": conversation.last_seq,
    }


def encode(frame: Any) -> str:
    """A frame's JSON text (orjson: compact, UTF-8 as is, several times quicker than ``json``).
    Integer keys become strings as ``json`` would make them."""
    return orjson.dumps(frame, option=orjson.OPT_NON_STR_KEYS).decode()


def decode(text: str | bytes) -> Any:
    """A client frame; ``ValueError`` (orjson's error is one) for text that is not JSON."""
    return orjson.loads(text)


def with_message(head: dict[str, Any], payload_json: str) -> str:
    """The frame ``head`` with the message's already encoded payload as its last member, ``message``
    (the full frame of the event and the sender's ack carry the same text)."""
    return f'{encode(head)[:-1]},"message":{payload_json}}}'


def message_event(payload: dict[str, Any], *, origin: str | None = None, payload_json: str | None = None) -> Event:
    """A message for the conversation's sockets, its frames encoded once here rather than per socket:
    the full message for sockets that opened the thread, a notice without the text for the others.
    ``origin`` is the channel of the socket that sent it, which has it in its ack already;
    ``payload_json``, the payload already encoded (the sender's ack carries the same text)."""
    if payload_json is None:
        payload_json = encode(payload)
    notice = {k: payload[k] for k in ("conversation", "id", "seq", "rev_seq", "sender", "sender_name", "urgent")}
    notice |= {"type": "notice", "edited": payload["edited"], "deleted": payload["deleted"]}
    event = {
        "type": "msg.message",
        "origin": origin,
        "conversation": payload["conversation"],
        "mentions": payload["mentions"],
        "full": with_message({"type": "message"}, payload_json),
        "notice": encode(notice | {"mentioned": False}),
        "notice_mentioned": encode(notice | {"mentioned": True}),
    }
    return conversation_group(payload["conversation"]), event


def changed_event(conversation: Conversation) -> Event:
    return conversation_group(conversation.pk), {"type": "msg.changed", "state": conversation_state(conversation)}


def membership_events(conversation_id: int, user_ids: Iterable[int], *, joined: bool) -> list[Event]:
    kind = "msg.joined" if joined else "msg.left"
    return [(user_group(uid), {"type": kind, "conversation": conversation_id}) for uid in user_ids]


def read_event(user_id: int, conversation_id: int, seq: int) -> Event:
    return user_group(user_id), {"type": "msg.read", "conversation": conversation_id, "seq": seq}


def relay_event(
    frame: dict[str, Any], *, conversation: int | None = None, users: Iterable[int] | None = None
) -> dict[str, Any]:
    """A frame of an app above messaging (``extensions``), for ``channel_send`` to one socket or for a
    conversation's group (``conversation``; ``users``: only those users' sockets there)."""
    return {
        "type": "msg.relay",
        "text": encode(frame),
        "conversation": conversation,
        "users": None if users is None else sorted(set(users)),
    }


def resync_event(user_id: int) -> Event:
    return user_group(user_id), {"type": "msg.resync"}


async def apublish(events: Iterable[Event]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    many = getattr(layer, "group_send_many", None)  # Redis: one round trip for the whole batch
    if many is not None:
        await many(list(events))
        return
    for group, payload in events:
        await layer.group_send(group, payload)


def publish(events: Iterable[Event]) -> None:
    """Send now (outside any transaction). A failure is logged: clients catch up by number."""
    events = list(events)
    if not events:
        return
    try:
        async_to_sync(apublish)(events)
    except Exception:
        logger.exception("messaging: %d real-time event(s) not delivered", len(events))


def publish_on_commit(events: Iterable[Event]) -> None:
    events = list(events)
    if events:
        transaction.on_commit(lambda: publish(events))
