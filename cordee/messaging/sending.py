"""Sending, editing and deleting messages: the hot path of Cordée.

A send is one short transaction with a fixed number of queries (pinned in the tests):

1. ``access_conversation``: the sender's membership and the conversation, one SELECT;
2. ``allocate_seq``: ``UPDATE … SET last_seq = last_seq + 1 … RETURNING last_seq`` takes the
   conversation's row lock, refuses a patient's reply to a thread closed to replies, and gives
   the number; commits of one conversation therefore happen in number order;
3. the INSERT of the message (body encrypted by the vault field);
4. one UPDATE marking the other members "e-mail notice pending" (only the first message after
   a notice flips anything: the e-mail itself is a debounced background task);
5. the audit entry, last, so that the chain's lock is held as briefly as possible.

Events are published, and notices scheduled, only after the commit. ``send_messages`` takes a
list so that the socket path can commit many sends in one transaction (``batcher``); a resend
of an already stored message (same ``client_key``) answers with the stored one, never a copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.messaging import events, notifications
from cordee.messaging.access import SEND, access_conversation, access_message
from cordee.messaging.keys import key_owner
from cordee.messaging.models import Attachment, Conversation, Member, Message
from cordee.vault.errors import Erased
from cordee.vault.services import aead_for

logger = logging.getLogger(__name__)
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_MENTIONS = 50
MAX_ATTACHMENTS = 10

ERRORS = {
    "empty": _("The message is empty."),
    "too_long": _("The message is too long."),
    "bad_request": _("The message could not be read."),
    "not_found": _("This conversation does not exist or is not open to you."),
    "closed": _("Replies are closed in this conversation."),
    "bad_attachment": _("An attachment is missing or was already sent."),
    "not_editable": _("This message can no longer be changed."),
    "conflict": _("The message could not be saved; send it again."),
}


class SendError(Exception):
    """A send refused for a reason the sender is told (``code`` is one of ``ERRORS``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(ERRORS[self.code])


class _RetryAlone(Exception):
    """Something in a batch needs each send in its own transaction (a rare race)."""


@dataclass
class SendRequest:
    user: User
    conversation_id: Any
    body: Any  # checked by clean_send: it comes straight from a socket frame
    client_key: Any
    urgent: bool = False
    mentions: list[int] = field(default_factory=list)
    attachment_ids: list[int] = field(default_factory=list)
    request: HttpRequest | None = None  # for the audit entry's address and user agent


@dataclass
class SendResult:
    message: Message
    payload: dict[str, Any]
    duplicate: bool = False  # a resend: the stored message, nothing new
    notify_user_ids: list[int] = field(default_factory=list)


def clean_body(body: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(body, str):
        raise SendError("bad_request")
    body = body.replace("\x00", "").strip()  # PostgreSQL text refuses NUL
    if not body and not allow_empty:
        raise SendError("empty")
    if len(body) > settings.MESSAGING_MAX_BODY_CHARS:
        raise SendError("too_long")
    return body


def _id_list(values: Any, limit: int) -> list[int]:
    if not isinstance(values, list) or len(values) > limit:
        raise SendError("bad_request")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in values):
        raise SendError("bad_request")
    return sorted(set(values))


def clean_send(req: SendRequest) -> None:
    """Checks that need no database; raises ``SendError``."""
    if not isinstance(req.client_key, str) or not CLIENT_KEY.match(req.client_key):
        raise SendError("bad_request")
    if not isinstance(req.urgent, bool):
        raise SendError("bad_request")
    req.attachment_ids = _id_list(req.attachment_ids, MAX_ATTACHMENTS)
    req.mentions = _id_list(req.mentions, MAX_MENTIONS)
    req.body = clean_body(req.body, allow_empty=bool(req.attachment_ids))


def allocate_seq(conversation_id: int, *, patient_reply: bool, now: dt.datetime | None) -> int | None:
    """The conversation's next number, under its row lock; None if a patient may not reply.

    ``now`` also moves ``last_message_at`` (a new message; None for an edit or a deletion).
    """
    sets = "last_seq = last_seq + 1" + (", last_message_at = %s" if now is not None else "")
    params: list[Any] = [now] if now is not None else []
    table = connection.ops.quote_name(Conversation._meta.db_table)
    sql = f"UPDATE {table} SET {sets} WHERE id = %s AND NOT (replies_closed AND %s) RETURNING last_seq"  # noqa: S608  (no user input in the SQL text)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, conversation_id, patient_reply])
        row = cursor.fetchone()
    return row[0] if row else None


def _mark_notice_pending(conversation_id: int, sender_id: int, now: dt.datetime) -> list[int]:
    """Members other than the sender with no e-mail notice pending yet: now pending. Their ids."""
    table = connection.ops.quote_name(Member._meta.db_table)
    sql = (
        f"UPDATE {table} SET email_pending_since = %s "  # noqa: S608  (no user input in the SQL text)
        "WHERE conversation_id = %s AND user_id <> %s AND email_pending_since IS NULL RETURNING user_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, conversation_id, sender_id])
        return [row[0] for row in cursor.fetchall()]


def _is_patient_reply(user: User, conversation: Conversation) -> bool:
    return conversation.kind == Conversation.Kind.PATIENT and user.kind == User.Kind.PATIENT


def _check_extras(req: SendRequest, conversation: Conversation) -> list[Attachment]:
    """Mentions must name members; attachments must be the sender's unsent uploads here."""
    if req.mentions:
        found = set(
            Member.objects.filter(conversation=conversation, user_id__in=req.mentions).values_list("user_id", flat=True)
        )
        req.mentions = [uid for uid in req.mentions if uid in found]
    if not req.attachment_ids:
        return []
    attachments = list(
        Attachment.objects.filter(
            pk__in=req.attachment_ids, conversation=conversation, uploaded_by=req.user, message__isnull=True
        ).order_by("pk")
    )
    if len(attachments) != len(req.attachment_ids):
        raise SendError("bad_attachment")
    return attachments


def audit_category(conversation: Conversation) -> str:
    return AuditEntry.Category.ACCESS if conversation.patient_id else AuditEntry.Category.SECURITY


def _send_one(req: SendRequest) -> SendResult:
    """One send inside the caller's transaction. ``SendError`` before any write; ``_RetryAlone`` after."""
    try:
        conversation = access_conversation(req.user, req.conversation_id, purpose=SEND, request=req.request, write=True)
    except Http404:
        raise SendError("not_found") from None
    attachments = _check_extras(req, conversation)
    owner = key_owner(conversation)
    try:
        aead_for(owner)  # before any write; kept on the owner for the INSERT's encryption
    except Erased:  # the conversation's keys were shredded: it is gone
        raise SendError("not_found") from None
    now = timezone.now()
    seq = allocate_seq(conversation.pk, patient_reply=_is_patient_reply(req.user, conversation), now=now)
    if seq is None:
        raise SendError("closed")
    message = Message.objects.create(
        conversation=owner,  # same id; its unwrapped key is kept (keys.py)
        seq=seq,
        rev_seq=seq,
        sender=req.user,
        body=req.body,
        urgent=req.urgent,
        mentions=req.mentions,
        client_key=req.client_key,
        created_at=now,
    )
    if attachments:
        linked = Attachment.objects.filter(pk__in=[a.pk for a in attachments], message__isnull=True).update(
            message=message
        )
        if linked != len(attachments):
            raise _RetryAlone
    notify = _mark_notice_pending(conversation.pk, req.user.pk, now)
    audit.record(
        "message.sent",
        actor=req.user,
        request=req.request,
        target=message,
        patient_id=conversation.patient_id,
        purpose=SEND,
        category=audit_category(conversation),
        details={"conversation": conversation.pk, "seq": seq, "urgent": req.urgent, "attachments": len(attachments)},
    )
    payload = events.message_payload(message, sender_name=req.user.display_name, attachments=attachments)
    return SendResult(message, payload, notify_user_ids=notify)


def _stored_resend(req: SendRequest) -> SendResult:
    """After a unique-key conflict: the message this client already stored, or a conflict error."""
    try:
        conversation_id = int(req.conversation_id)
    except (TypeError, ValueError):
        raise SendError("not_found") from None
    message = (
        Message.objects.filter(conversation_id=conversation_id, sender=req.user, client_key=req.client_key)
        .select_related("conversation")
        .prefetch_related("attachments")
        .first()
    )
    if message is None:
        raise SendError("conflict")
    payload = events.message_payload(
        message, sender_name=req.user.display_name, attachments=list(message.attachments.all())
    )
    return SendResult(message, payload, duplicate=True)


def _send_alone(req: SendRequest) -> SendResult | SendError:
    try:
        with transaction.atomic():
            try:
                return _send_one(req)
            except SendError as exc:  # refused before any write: commit the refusal's audit entry
                return exc
    except (IntegrityError, _RetryAlone):
        pass
    try:
        return _stored_resend(req)
    except SendError as exc:
        return exc


def send_messages(requests: list[SendRequest]) -> list[SendResult | SendError]:
    """Store the sends, all in one transaction when there are several; one result per request.

    A refusal (``SendError``) only concerns its own send. A unique-key conflict (a resend) or a
    race on an attachment rolls the batch back and stores each send in its own transaction.
    """
    results: list[SendResult | SendError | None] = [None] * len(requests)
    pending: list[int] = []
    for i, req in enumerate(requests):
        try:
            clean_send(req)
            pending.append(i)
        except SendError as exc:
            results[i] = exc
    if len(pending) > 1:
        batch: dict[int, SendResult | SendError] = {}
        try:
            with transaction.atomic():
                for i in pending:
                    try:
                        batch[i] = _send_one(requests[i])
                    except SendError as exc:
                        batch[i] = exc
        except (IntegrityError, _RetryAlone) as exc:
            logger.info("messaging: a batch of %d sends is retried one by one (%s)", len(pending), exc)
            batch = {}
        else:
            for i, outcome in batch.items():
                results[i] = outcome
            pending = []
    for i in pending:
        results[i] = _send_alone(requests[i])
    return [r for r in results if r is not None]


def after_send(results: list[SendResult | SendError]) -> list[events.Event]:
    """Side effects once the sends are committed: the events to publish, and the e-mail notices.

    Outside a transaction (the socket's batcher) the notices are scheduled now and the events
    returned for the caller to publish from its event loop; inside one, both wait for its commit.
    """
    stored = [r for r in results if isinstance(r, SendResult) and not r.duplicate]
    to_publish = [events.message_event(r.payload) for r in stored]
    notify = sorted({uid for r in stored for uid in r.notify_user_ids})
    if connection.in_atomic_block:
        events.publish_on_commit(to_publish)
        transaction.on_commit(lambda: notifications.schedule(notify))
        return []
    notifications.schedule(notify)
    return to_publish


def do_send_message(req: SendRequest) -> SendResult:
    """A single send (the JSON API): stored, then published after the commit. Raises ``SendError``."""
    result = send_messages([req])[0]
    if isinstance(result, SendError):
        raise result
    events.publish(after_send([result]))
    return result


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
        rev = allocate_seq(conversation.pk, patient_reply=_is_patient_reply(user, conversation), now=None)
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
            from cordee.messaging.attachments import delete_attachments

            delete_attachments(gone)
        attachments = [] if body is None else list(message.attachments.all())
        payload = events.message_payload(message, sender_name=user.display_name, attachments=attachments)
        events.publish_on_commit([events.message_event(payload)])
    return message


def do_edit_message(user: User, message_id: Any, body: Any, *, request: HttpRequest | None = None) -> Message:
    return _change(user, message_id, body=clean_body(body), request=request)


def do_delete_message(user: User, message_id: Any, *, request: HttpRequest | None = None) -> Message:
    return _change(user, message_id, body=None, request=request)
