"""What the record does on the signals of the apps below it.

- ``messaging.signals.messages_stored``: each new message of a care-team thread becomes a line of
  the patient's timeline, in the same transaction: its author and time, never its body (the
  title says only "Message in the care-team thread"). One INSERT per batch of sends.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from cordee.documents.services.record import record_items
from cordee.messaging.models import Conversation, Message
from cordee.messaging.signals import messages_stored

MESSAGE = "message"


@receiver(messages_stored, sender=Message, dispatch_uid="documents.care_team_messages")
def care_team_messages(sender: Any, stored: list[tuple[Conversation, Message]], **kwargs: Any) -> None:
    rows: list[tuple[int, Any, dict[str, Any]]] = []
    for conversation, message in stored:
        if conversation.kind != Conversation.Kind.CARE_TEAM or conversation.patient_id is None:
            continue
        fields = {
            "kind": MESSAGE,
            "occurred_at": message.created_at,
            "author": message.sender,
            "link_id": conversation.pk,
        }
        rows.append((conversation.patient_id, message, fields))
    if rows:
        record_items(rows)
