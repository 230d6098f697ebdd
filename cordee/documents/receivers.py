"""What the record does on the signals of the apps below it.

- ``messaging.signals.messages_stored``: each new message of a care-team thread becomes a line of
  the patient's timeline, in the same transaction: its author and time, never its body (the
  title says only "Message in the care-team thread"). One INSERT per batch of sends.
- ``post_save`` of a ``Message`` whose deletion is saved (``deleted_at`` among the saved fields):
  its line leaves the timeline, in the same transaction (the deletion itself is audited by the
  messaging).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from cordee.documents.models import RecordItem
from cordee.documents.services.record import record_items, target_ref
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


@receiver(post_save, sender=Message, dispatch_uid="documents.deleted_messages")
def deleted_message(sender: Any, instance: Message, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields and "deleted_at" in update_fields and instance.deleted_at is not None:
        target_type, target_id = target_ref(instance)
        RecordItem.objects.filter(target_type=target_type, target_id=target_id).delete()
