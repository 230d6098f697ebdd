"""Read marks: how far a member has read a conversation (the only state reading changes)."""

from __future__ import annotations

from typing import Any

from cordee.accounts.models import User
from cordee.messaging import events
from cordee.messaging.models import Conversation, Member


def do_mark_read(user: User, conversation: Conversation, seq: Any) -> int:
    """Move the user's read mark up to ``seq`` (never down, never past the last message)."""
    if conversation.membership is None or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return 0
    seq = min(seq, conversation.last_seq)
    updated = Member.objects.filter(pk=conversation.membership.pk, last_read_seq__lt=seq).update(last_read_seq=seq)
    if updated:
        events.publish_on_commit([events.read_event(user.pk, conversation.pk, seq)])
    return seq
