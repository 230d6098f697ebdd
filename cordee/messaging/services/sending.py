"""Sending messages: the hot path of Cordée.

``send_messages`` stores a batch of sends (one from the API, as many as queued from the sockets:
``batcher``) in one short transaction with a fixed number of statements, whatever the number of
sends (pinned in the tests):

1. ``access_conversations_to_write``: the senders' memberships with their conversations, one SELECT;
2. ``statements.allocate_seqs``: one ``UPDATE … SET last_seq = last_seq + n … RETURNING`` takes
   the conversations' row locks (on PostgreSQL first in id order), refuses a patient's reply to
   a thread closed to replies and gives the numbers; commits of one conversation therefore
   happen in number order;
3. one INSERT of the messages (bodies encrypted by the vault field, each with its
   conversation's key);
4. one UPDATE marking the other members "e-mail notice pending" (only the first message after
   a notice flips anything: the e-mail itself is a debounced background task);
5. the audit entries, last, so that the chain's lock is held as briefly as possible: the head
   read and one batched INSERT (on PostgreSQL the chain's advisory lock before).

A mention list or attachments add their own check (and the attachments' link) per send.
Events are published, and notices scheduled, only after the commit. A resend of an already
stored message (same ``client_key``) answers with the stored one, never a copy.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.db.inserts import inserts
from cordee.lib.api import is_unicode
from cordee.messaging import events, notifications, shell, signals, statements
from cordee.messaging.access import SEND, NotAllMembers, access_conversations_to_write
from cordee.messaging.keys import key_owner
from cordee.messaging.models import Attachment, Conversation, Member, Message
from cordee.vault.errors import Erased
from cordee.vault.services import aead_for

logger = logging.getLogger(__name__)
CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")  # matched whole (fullmatch): "$" let a final newline in
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
    card: dict[str, str] | None = None  # built by the server (cards.clean_card), never from a socket frame
    request: HttpRequest | None = None  # for the audit entry's address and user agent
    origin: str | None = None  # the sending socket's channel: its ack carries the message instead


@dataclass
class SendResult:
    message: Message
    payload: dict[str, Any]
    duplicate: bool = False  # a resend: the stored message, nothing new
    notify_user_ids: list[int] = field(default_factory=list)
    origin: str | None = None
    payload_json: str | None = None  # the payload encoded once for the event, reused by the socket's ack


CARD_KINDS = ("reference",)
_CARD_FIELDS = {"kind": 20, "title": 500, "detail": 300, "url": 300, "label": 100}


def clean_card(card: Any) -> dict[str, str]:
    """A card as the messaging keeps it: known kind, short texts, a path inside Cordée."""
    if not isinstance(card, dict) or set(card) - set(_CARD_FIELDS) or card.get("kind") not in CARD_KINDS:
        raise SendError("bad_request")
    clean = {}
    for name, limit in _CARD_FIELDS.items():
        value = card.get(name, "")
        if not isinstance(value, str) or not is_unicode(value):
            raise SendError("bad_request")
        clean[name] = " ".join(value.replace("\x00", "").split())[:limit]
    url = clean["url"]
    if not url.startswith("/") or url.startswith("//") or "\\" in url or not clean["title"]:
        raise SendError("bad_request")
    return clean


def clean_body(body: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(body, str) or not is_unicode(body):  # the socket's JSON as the API's
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
    if not isinstance(req.client_key, str) or not CLIENT_KEY.fullmatch(req.client_key):
        raise SendError("bad_request")
    if not isinstance(req.urgent, bool):
        raise SendError("bad_request")
    req.attachment_ids = _id_list(req.attachment_ids, MAX_ATTACHMENTS)
    req.mentions = _id_list(req.mentions, MAX_MENTIONS)
    if req.card is not None:
        req.card = clean_card(req.card)
    req.body = clean_body(req.body, allow_empty=bool(req.attachment_ids or req.card))


def is_patient_reply(user: User, conversation: Conversation) -> bool:
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


@dataclass
class _Accepted:
    """A send that passed every check before the writes."""

    index: int
    req: SendRequest
    conversation: Conversation
    owner: Conversation  # same id; carries the unwrapped key (keys.py)
    attachments: list[Attachment]


def _admit(index: int, req: SendRequest, conversation: Conversation | None) -> _Accepted:
    """The checks of one send before any write; ``SendError`` for a refusal."""
    if conversation is None:
        raise SendError("not_found")
    if conversation.replies_closed and is_patient_reply(req.user, conversation):
        raise SendError("closed")
    attachments = _check_extras(req, conversation)
    owner = key_owner(conversation)
    try:
        aead_for(owner)  # kept on the owner for the INSERT's encryption
    except Erased:  # the conversation's keys were shredded: it is gone
        raise SendError("not_found") from None
    return _Accepted(index, req, conversation, owner, attachments)


def _store(reqs: list[SendRequest]) -> list[SendResult | SendError]:
    """The cleaned sends ``reqs``, in the caller's transaction; one outcome per send.

    A ``SendError`` stands for a send refused before anything was written for it.
    ``_RetryAlone`` or ``IntegrityError`` (a resend of a stored message) means that the
    transaction must be rolled back and each send redone in its own.
    """
    outcomes: list[SendResult | SendError | None] = [None] * len(reqs)
    wanted = [(r.user, r.conversation_id, r.request) for r in reqs]
    try:
        found = access_conversations_to_write(wanted, purpose=SEND, members_only=len(reqs) > 1)
    except NotAllMembers:  # a refusal's audit entry would lock the trail before the batch's rows
        raise _RetryAlone from None
    accepted: list[_Accepted] = []
    for index, (req, conversation) in enumerate(zip(reqs, found, strict=True)):
        try:
            accepted.append(_admit(index, req, conversation))
        except SendError as exc:
            outcomes[index] = exc
    if accepted:
        for index, result in _write(accepted, alone=len(reqs) == 1):
            outcomes[index] = result
    return [outcome for outcome in outcomes if outcome is not None]


def _write(accepted: list[_Accepted], *, alone: bool) -> list[tuple[int, SendResult | SendError]]:
    """Number, insert, mark and audit the accepted sends: the statements of the module docstring."""
    now = timezone.now()
    counts = Counter(a.conversation.id for a in accepted)
    replies = {a.conversation.id for a in accepted if is_patient_reply(a.req.user, a.conversation)}
    last = statements.allocate_seqs(counts, patient_reply_ids=replies, now=now)
    if len(last) != len(counts):  # closed to replies (or removed) since it was read
        if not alone:
            raise _RetryAlone
        only = accepted[0]
        return [(only.index, SendError("closed" if replies else "not_found"))]
    next_seq = {pk: last[pk] - count + 1 for pk, count in counts.items()}
    messages = []
    for a in accepted:
        conversation_id = a.conversation.id
        seq = next_seq[conversation_id]
        next_seq[conversation_id] = seq + 1
        messages.append(
            _new_message(
                a.owner,
                a.req.user,
                seq=seq,
                rev_seq=seq,
                body=a.req.body,
                urgent=a.req.urgent,
                mentions=a.req.mentions,
                client_key=a.req.client_key,
                card=json.dumps(a.req.card, ensure_ascii=False) if a.req.card else None,
                created_at=now,
            )
        )
    inserts(Message).create(messages)  # the statement built once: see cordee/db/inserts.py
    for a, message in zip(accepted, messages, strict=True):
        if a.attachments:
            pks = [attachment.pk for attachment in a.attachments]
            if Attachment.objects.filter(pk__in=pks, message__isnull=True).update(message=message) != len(pks):
                raise _RetryAlone
    senders: dict[int, set[int]] = {}
    for a in accepted:
        senders.setdefault(a.conversation.id, set()).add(a.req.user.id)
    marked = statements.mark_notice_pending(senders, now)
    audit.record_many([_audit_entry(a, message) for a, message in zip(accepted, messages, strict=True)])
    if signals.messages_stored.has_listeners(Message):
        stored = [(a.conversation, message) for a, message in zip(accepted, messages, strict=True)]
        signals.messages_stored.send(sender=Message, stored=stored)
    results: list[tuple[int, SendResult | SendError]] = []
    for a, message in zip(accepted, messages, strict=True):
        payload = events.message_payload(message, sender_name=a.req.user.display_name, attachments=a.attachments)
        notify = marked.pop(a.conversation.id, [])
        results.append((a.index, SendResult(message, payload, notify_user_ids=notify, origin=a.req.origin)))
    return results


_MESSAGE_ATTNAMES = [field.attname for field in Message._meta.concrete_fields]
_MESSAGE_CONVERSATION = Message._meta.get_field("conversation")
_MESSAGE_SENDER = Message._meta.get_field("sender")


def _new_message(conversation: Conversation, sender: User, **values: Any) -> Message:
    """An unsaved message built by Django's positional path (quicker than keyword arguments, which
    try every field against them), its conversation and sender cached as the descriptors cache them.
    ``values`` by attribute name; the fields not given are None."""
    values["conversation_id"], values["sender_id"] = conversation.id, sender.id
    message = Message(*[values.get(name) for name in _MESSAGE_ATTNAMES])  # type: ignore[misc]  # django-stubs: keywords only
    _MESSAGE_CONVERSATION.set_cached_value(message, conversation)
    _MESSAGE_SENDER.set_cached_value(message, sender)
    return message


def _audit_entry(a: _Accepted, message: Message) -> dict[str, Any]:
    conversation = a.conversation
    return {
        "action": "message.sent",
        "actor": a.req.user,
        "request": a.req.request,
        "target": message,
        "patient_id": conversation.patient_id,
        "purpose": SEND,
        "category": audit_category(conversation),
        "details": {
            "conversation": conversation.pk,
            "seq": message.seq,
            "urgent": a.req.urgent,
            "attachments": len(a.attachments),
            **({"card": a.req.card["kind"]} if a.req.card else {}),
        },
    }


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
            return _store([req])[0]  # a refusal's own audit entry (if any) is committed with it
    except (IntegrityError, _RetryAlone):
        pass
    try:
        return _stored_resend(req)
    except SendError as exc:
        return exc


def send_messages(requests: list[SendRequest]) -> list[SendResult | SendError]:
    """Store the sends, all in one transaction when there are several; one result per request.

    A refusal (``SendError``) only concerns its own send. A unique-key conflict (a resend), a
    race on an attachment or on a thread closing, or a lock conflict, rolls the batch back and
    stores each send in its own transaction.
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
        try:
            with transaction.atomic():
                stored = _store([requests[i] for i in pending])
        except (IntegrityError, OperationalError, _RetryAlone) as exc:
            logger.info("messaging: a batch of %d sends is retried one by one (%s)", len(pending), type(exc).__name__)
        else:
            for i, outcome in zip(pending, stored, strict=True):
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
    for r in stored:
        r.payload_json = events.encode(r.payload)
    to_publish = [events.message_event(r.payload, origin=r.origin, payload_json=r.payload_json) for r in stored]
    notify = sorted({uid for r in stored for uid in r.notify_user_ids})
    senders: dict[int, set[int]] = {}
    for r in stored:
        if r.message.sender_id is not None:
            senders.setdefault(r.message.conversation_id, set()).add(r.message.sender_id)
    if connection.in_atomic_block:
        events.publish_on_commit(to_publish)
        transaction.on_commit(lambda: notifications.schedule(notify))
        transaction.on_commit(lambda: shell.announce_messages(senders))
        return []
    notifications.schedule(notify)
    shell.announce_messages(senders)
    return to_publish


def do_send_message(req: SendRequest) -> SendResult:
    """A single send (the JSON API): stored, then published after the commit. Raises ``SendError``."""
    result = send_messages([req])[0]
    if isinstance(result, SendError):
        raise result
    events.publish(after_send([result]))
    return result
