"""Reading conversations: the list with unread counts, pages of history, catch-up, read state.

Call these with a conversation obtained from ``access.access_conversation`` (which audits the
read of a patient-linked thread: once per opening, page or catch-up, never per message pushed
over the socket to a thread already open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.lib.prepared import Prepared
from cordee.messaging import events
from cordee.messaging.access import visible_conversations
from cordee.messaging.keys import key_owner
from cordee.messaging.models import Conversation, Member, Message
from cordee.vault import services as vault

PAGE_SIZE = 50
CATCH_UP_SIZE = 200


@dataclass
class Page:
    messages: list[dict[str, Any]]
    last_seq: int  # the conversation's number before the page was read: the cursor to catch up from
    more_before: bool = False
    more_after: bool = False


def _payloads(conversation: Conversation, messages: list[Message]) -> list[dict[str, Any]]:
    """Payloads of messages of ``conversation``, decrypted with its key read once (keys.py)."""
    owner = key_owner(conversation)
    payloads = []
    for m in messages:
        m.conversation = owner  # no lazy load and no key unwrap per message
        attachments = list(m.attachments.all())  # prefetched
        for attachment in attachments:
            attachment.conversation = owner
        sender_name = m.sender.display_name if m.sender else ""
        payloads.append(events.message_payload(m, sender_name=sender_name, attachments=attachments))
    return payloads


def _messages(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation).select_related("sender").prefetch_related("attachments")


def thread_page(
    conversation: Conversation, *, after: int | None = None, before: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    """Latest messages, or those before ``before`` (by place), or changed after ``after`` (catch-up).

    Catch-up returns messages in the order of their last change (``rev_seq``), each once in its
    latest state; the cursor is then the last one's ``rev_seq`` while ``more_after`` holds.
    """
    last_seq = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).first() or 0
    if after is not None:
        limit = min(limit, CATCH_UP_SIZE)
        found = list(_messages(conversation).filter(rev_seq__gt=after).order_by("rev_seq")[: limit + 1])
        more = len(found) > limit
        found = found[:limit]
        cursor = found[-1].rev_seq if more else max(last_seq, found[-1].rev_seq if found else after)
        return Page(_payloads(conversation, found), cursor, more_after=more)
    query = _messages(conversation)
    if before is not None:
        query = query.filter(seq__lt=before)
    found = list(query.order_by("-seq")[: limit + 1])
    more = len(found) > limit
    return Page(_payloads(conversation, list(reversed(found[:limit]))), last_seq, more_before=more)


@dataclass
class Row:
    """A conversation as the list shows it to one user."""

    conversation: Conversation
    label: str
    unread: int | None  # None: read as a delegate (staff), no read state of their own
    role: str | None
    others: list[str]


def patient_name(patient: Any) -> str:
    given = patient.used_given_name or patient.first_birth_given_name
    return f"{given} {patient.used_name or patient.birth_name}".strip()


def conversation_label(conversation: Conversation, others: list[str], viewer: User) -> str:
    if conversation.kind == Conversation.Kind.GROUP:
        return conversation.title or ""
    if conversation.kind == Conversation.Kind.CARE_TEAM and conversation.patient is not None:
        return str(_("Care team of %(name)s") % {"name": patient_name(conversation.patient)})
    if conversation.kind == Conversation.Kind.PATIENT and viewer.kind != User.Kind.PATIENT and conversation.patient:
        return patient_name(conversation.patient)
    return ", ".join(others) or str(_("(no one else)"))


def _listed(user: User) -> QuerySet[Conversation]:
    """The conversations ``user`` may read, latest activity first, with unread counts and role."""
    mine = Member.objects.filter(conversation=OuterRef("pk"), user=user)
    read_mark = Member.objects.filter(conversation=OuterRef("conversation"), user=user)  # inside the message query
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"), deleted_at__isnull=True)
        .filter(seq__gt=Subquery(read_mark.values("last_read_seq")[:1]))
        .exclude(sender=user)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        visible_conversations(user)
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
            my_role=Subquery(mine.values("role")[:1]),
        )
        .order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "-pk")
    )


def _others(conversations: Any, user: User) -> QuerySet[User]:
    """The members other than ``user`` of ``conversations`` (a queryset or ids), each with
    ``listed_in`` (the conversation), in the order of the labels."""
    return (
        User.objects.filter(conversation_members__conversation__in=conversations)
        .exclude(pk=user.pk)
        .annotate(listed_in=F("conversation_members__conversation_id"))
        .order_by("last_name", "first_name", "conversation_members__pk")
    )


def _others_listed(user: User) -> QuerySet[User]:
    """The other members of every conversation ``user`` may read."""
    return _others(visible_conversations(user), user)


# The whole list's two queries, compiled once per user and kept (``cordee.lib.prepared``): the
# ORM's building and compiling of them cost more than half of the messaging page's own work.
_LIST = Prepared(_listed)
_OTHERS = Prepared(_others_listed)


def conversation_list(user: User, *, only: int | None = None) -> list[Row]:
    """The conversations ``user`` may read (or just ``only``), latest activity first, with unread counts.

    Four queries whatever the number of conversations — the conversations, their other members,
    and the data keys of the names shown (patients' and groups' names, ``vault.preload_keys``) in
    one query per kind of owner — and one for the patients of the threads listed, if any.
    """
    if only is None:
        conversations = _LIST.instances(user, Conversation)
        others = _names(_OTHERS.instances(user, User))
    else:
        conversations = list(_listed(user).filter(pk=only).select_related("patient"))
        others = _other_names([c.pk for c in conversations], user)
    prefetch_related_objects([c for c in conversations if c.patient_id], "patient")  # those not selected
    # the keys of the names shown (patients', groups'), in one query rather than one per row
    vault.preload_keys(
        c.patient if c.patient_id else c for c in conversations if c.patient_id or c.kind == Conversation.Kind.GROUP
    )
    rows = []
    for c in conversations:
        role = getattr(c, "my_role", None)
        names = others.get(c.pk, [])
        unread_count = getattr(c, "unread", 0) if role is not None else None
        rows.append(Row(c, conversation_label(c, names, user), unread_count, role, names))
    return rows


def _names(users: list[User]) -> dict[int, list[str]]:
    """Display names by conversation, from users annotated with ``listed_in`` (patients' names
    read from their encrypted identity, their keys in one query)."""
    patients = [u for u in users if u.kind == User.Kind.PATIENT]
    prefetch_related_objects(patients, "patient")  # those not selected with the users
    vault.preload_keys(getattr(u, "patient", None) for u in patients)
    names: dict[int, list[str]] = {}
    for other in users:
        names.setdefault(other.listed_in, []).append(other.display_name)  # type: ignore[attr-defined]  # annotated
    return names


def _other_names(conversation_ids: list[int], user: User) -> dict[int, list[str]]:
    """The members other than ``user``, by conversation (labels of direct and patient threads)."""
    return _names(list(_others(conversation_ids, user).select_related("patient")))


def unread_total(user: User) -> int:
    """Messages waiting for ``user`` across their conversations (for badges and e-mail notices)."""
    return (
        Message.objects.filter(
            Q(
                seq__gt=Subquery(
                    Member.objects.filter(conversation=OuterRef("conversation"), user=user).values("last_read_seq")[:1]
                )
            ),
            conversation__members__user=user,
            deleted_at__isnull=True,
        )
        .exclude(sender=user)
        .count()
    )
