"""Editing and deleting a message: within the edit window, by its sender, each change audited.

An edit or a deletion takes the conversation's next number as the message's new ``rev_seq``
(``statements.allocate_seq``), so clients catching up by number see the message in its latest state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.messaging import events
from cordee.messaging.access import SEND, access_message
from cordee.messaging.models import Message
from cordee.messaging.services.attachments import delete_attachments
from cordee.messaging.services.sending import SendError, audit_category, clean_body, is_patient_reply
from cordee.messaging.statements import allocate_seq


def _editable(message: Message, user: User) -> None:
    window = dt.timedelta(seconds=settings.MESSAGING_EDIT_WINDOW_SECONDS)
    if message.sender_id != user.pk or message.deleted_at is not None or timezone.now() - message.created_at > window:
        raise SendError("not_editable")


def _change(user: User, message_id: Any, *, body: str | None, request: HttpRequest | None) -> Message:
    """Edit (``body``) or delete (``body`` None) a message of ``user`` within the edit window."""
    with transaction.atomic():
        try:
            message = access_message(user, message_id, purpose=SEND, request=request, write=True)
        except Http404:
            raise SendError("not_found") from None
        conversation = message.conversation
        _editable(message, user)
        rev = allocate_seq(conversation.pk, patient_reply=is_patient_reply(user, conversation), now=None)
        if rev is None:
            raise SendError("closed")
        now = timezone.now()
        message.rev_seq = rev
        if body is None:
            message.body, message.deleted_at = None, now
            fields = ["body", "deleted_at", "rev_seq"]
            gone = list(message.attachments.all())
        else:
            message.body, message.edited_at = body, now
            fields = ["body", "edited_at", "rev_seq"]
            gone = []
        message.save(update_fields=fields)
        audit.record(
            "message.deleted" if body is None else "message.edited",
            actor=user,
            request=request,
            target=message,
            patient_id=conversation.patient_id,
            purpose=SEND,
            category=audit_category(conversation),
            details={"conversation": conversation.pk, "seq": message.seq},
        )
        if gone:
            delete_attachments(gone)
        attachments = [] if body is None else list(message.attachments.all())
        payload = events.message_payload(message, sender_name=user.display_name, attachments=attachments)
        events.publish_on_commit([events.message_event(payload)])
    return message


def do_edit_message(user: User, message_id: Any, body: Any, *, request: HttpRequest | None = None) -> Message:
    return _change(user, message_id, body=clean_body(body), request=request)


def do_delete_message(user: User, message_id: Any, *, request: HttpRequest | None = None) -> Message:
    return _change(user, message_id, body=None, request=request)
