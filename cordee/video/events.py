"""Call events: frames for one socket (a participant's channel) or for a conversation's members,
sent once the transaction has committed (messaging's socket carries them, see
``cordee.messaging.extensions``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse

from cordee.messaging import events as messaging_events
from cordee.video.models import Call

logger = logging.getLogger(__name__)

# (channel, frame) for one socket, or (None, event) for a group event already built.
Outgoing = tuple[str, dict[str, Any]]


def call_url(call: Call) -> str:
    return reverse("video:call", kwargs={"call_id": call.pk})


def to_channel(channel: str, frame: dict[str, Any]) -> Outgoing:
    return channel, messaging_events.relay_event(frame)


def to_members(call: Call, user_ids: Iterable[int], frame: dict[str, Any]) -> Outgoing:
    """For the sockets of ``user_ids`` subscribed to the call's conversation (its members')."""
    group = messaging_events.conversation_group(call.conversation_id)
    return "group:" + group, messaging_events.relay_event(frame, conversation=call.conversation_id, users=user_ids)


async def adeliver(outgoing: list[Outgoing]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for target, event in outgoing:
        if target.startswith("group:"):
            await layer.group_send(target.removeprefix("group:"), event)
        elif target:
            await layer.send(target, event)


def deliver(outgoing: list[Outgoing]) -> None:
    try:
        async_to_sync(adeliver)(outgoing)
    except Exception:
        logger.exception("video: %d call event(s) not delivered", len(outgoing))


def deliver_on_commit(outgoing: list[Outgoing]) -> None:
    outgoing = [item for item in outgoing if item[0]]
    if outgoing:
        transaction.on_commit(lambda: deliver(outgoing))
