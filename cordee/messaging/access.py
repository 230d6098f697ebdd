"""The only way views, the API and the socket load conversations, messages and attachments.

Who may open a conversation:

- its members (``Member`` rows): read and write (a patient thread closed to replies refuses the
  patient's messages in ``sending``);
- staff, read-only, for the conversations of the verified professionals they act for
  (``Staff.acts_for``); for a patient-linked conversation only while the care team still opens
  that patient to them (``cordee.care``). Writing needs membership.

Anyone else gets ``Http404``, raised exactly as for a conversation that does not exist, whatever
the id looked like (forged, someone else's, not a number). A refusal writes a security entry to
the audit trail; reading a patient-linked conversation writes an ``access`` entry naming the
patient (once per opening or catch-up of the thread, see ``READS``).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, NoReturn

from django.db import connection
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.models import Professional, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care.access import granting_memberships
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.lib.users import is_active_user
from cordee.messaging.models import Attachment, Conversation, Member, Message

# Purposes written to the audit trail.
READ = "messaging.read"  # opening a thread, its history or a catch-up
DOWNLOAD = "messaging.download"  # an attachment or its preview
SEND = "messaging.send"
MANAGE = "messaging.manage"  # members, name, closing replies
READS = frozenset({READ, DOWNLOAD})


def _principals(user: User) -> QuerySet:
    """The user ids of the verified, active professionals ``user`` acts for (a subquery)."""
    return Professional.objects.filter(
        assistants__user=user, verification=Professional.Verification.VERIFIED, user__is_active=True
    ).values("user_id")


def principal_user_ids(user: User) -> list[int]:
    """Users of the verified, active professionals a staff member acts for (none for others)."""
    if user.kind != User.Kind.STAFF:
        return []
    return [row["user_id"] for row in _principals(user)]


def _care_patient_ids(user: User) -> QuerySet:
    """Patients the care team currently opens to ``user`` (a subquery)."""
    return granting_memberships().filter(member=user).values("patient_id")


def visible_conversations(user: User) -> QuerySet[Conversation]:
    """Every conversation ``user`` may read: their own, and for staff those of whom they act for."""
    if not is_active_user(user):
        return Conversation.objects.none()
    own = Exists(Member.objects.filter(conversation=OuterRef("pk"), user=user))
    if user.kind != User.Kind.STAFF:
        return Conversation.objects.filter(own)
    # whom she acts for as a subquery, not a list read first: the SQL depends on the user's fields
    # alone, so the pages keep it compiled (cordee.lib.prepared; messaging.reading)
    delegated = Exists(Member.objects.filter(conversation=OuterRef("pk"), user_id__in=_principals(user))) & (
        Q(patient__isnull=True) | Q(patient_id__in=_care_patient_ids(user))
    )
    return Conversation.objects.filter(own | delegated)


def _refuse(user: Any, raw_id: Any, purpose: str, request: HttpRequest | None, target_type: str) -> NoReturn:
    refuse(user, target_type=target_type, raw_id=raw_id, purpose=purpose, request=request, action="messaging.refused")


def record_read(
    user: User, conversation: Conversation, *, purpose: str, request: HttpRequest | None = None, **details: Any
) -> None:
    """The access entry of a read in a patient-linked conversation (nothing for the others)."""
    if conversation.patient_id is None:
        return
    audit.record(
        "conversation.read",
        actor=user,
        request=request,
        target=conversation,
        patient_id=conversation.patient_id,
        purpose=purpose,
        category=AuditEntry.Category.ACCESS,
        details={"kind": conversation.kind, "basis": "delegated" if conversation.membership is None else "member"}
        | details,
    )


# The member path of ``access_conversation`` runs on every send: one plain SELECT (the ORM's
# compilation of the equivalent select_related query cost more than the query itself). Only the
# columns the callers use are loaded; the others are deferred (loaded on access, never needed).
_MEMBER_COLUMNS = ("id", "conversation_id", "user_id", "role", "last_read_seq")
_CONVERSATION_COLUMNS = ("id", "vault_id", "kind", "patient_id", "pair_key", "last_seq", "replies_closed")


def _in_model_order(model: type[Model], wanted: tuple[str, ...]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname in wanted]


@functools.cache
def _membership_sql(vendor: str) -> tuple[str, list[str], list[str]]:
    q = connection.ops.quote_name
    member_fields = _in_model_order(Member, _MEMBER_COLUMNS)
    conversation_fields = _in_model_order(Conversation, _CONVERSATION_COLUMNS)
    columns = [f"m.{q(c)}" for c in member_fields] + [f"c.{q(c)}" for c in conversation_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {q(Member._meta.db_table)} m "  # noqa: S608  (no user input in the SQL text)
        f"INNER JOIN {q(Conversation._meta.db_table)} c ON c.{q('id')} = m.{q('conversation_id')} WHERE "
    )
    return sql, member_fields, conversation_fields


def _membership(user_id: int, conversation_id: int) -> Member | None:
    """The user's Member row with its conversation attached, or None."""
    return _memberships([(user_id, conversation_id)]).get((user_id, conversation_id))


def _memberships(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Member]:
    """The Member rows of several (user id, conversation id) pairs, conversations attached: one SELECT."""
    sql, member_fields, conversation_fields = _membership_sql(connection.vendor)
    where = "(m.conversation_id, m.user_id) IN (VALUES " + ", ".join(["(%s, %s)"] * len(pairs)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            sql + where, [value for user_id, conversation_id in pairs for value in (conversation_id, user_id)]
        )
        found = cursor.fetchall()
    members = (_member_from_row(row, member_fields, conversation_fields) for row in found)
    return {(member.user_id, member.conversation_id): member for member in members}


def _member_from_row(row: Any, member_fields: list[str], conversation_fields: list[str]) -> Member:
    split = len(member_fields)
    values = dict(zip(conversation_fields, row[split:], strict=True))
    if not isinstance(values["vault_id"], uuid.UUID):
        values["vault_id"] = uuid.UUID(str(values["vault_id"]))  # SQLite gives its text form
    values["replies_closed"] = bool(values["replies_closed"])  # SQLite gives 0 or 1
    member = Member.from_db(connection.alias, member_fields, row[:split])
    member.conversation = Conversation.from_db(connection.alias, conversation_fields, list(values.values()))
    return member


def access_conversation(
    user: Any, conversation_id: Any, *, purpose: str, request: HttpRequest | None = None, write: bool = False
) -> Conversation:
    """The conversation if ``user`` may open it (``write``: as a member), else ``Http404``.

    The result carries ``membership``: the user's ``Member`` row, or None for delegated reading.
    One query for a member. A read purpose (``READS``) in a patient-linked conversation is audited.
    """
    try:
        pk = parse_id(conversation_id)
    except Http404:
        _refuse(user, conversation_id, purpose, request, "messaging.conversation")
    if not is_active_user(user):
        raise Http404
    membership = _membership(user.pk, pk)
    if membership is not None:
        conversation = membership.conversation
        conversation.membership = membership
    else:
        found = None if write else visible_conversations(user).filter(pk=pk).first()
        if found is None:
            _refuse(user, pk, purpose, request, "messaging.conversation")
        conversation = found
        conversation.membership = None
    if purpose in READS:
        record_read(user, conversation, purpose=purpose, request=request)
    return conversation


class NotAllMembers(Exception):
    """A batch of sends holds one whose sender is not a member (``members_only``): nothing audited yet."""


def access_conversations_to_write(
    wanted: list[tuple[Any, Any, HttpRequest | None]], *, purpose: str, members_only: bool = False
) -> list[Conversation | None]:
    """``access_conversation(user, id, purpose=…, request=…, write=True)`` for each (user, id,
    request) of a batch of sends, the members found with one SELECT. None where it would raise
    ``Http404``, the refusal audited the same way.

    ``members_only``: raise ``NotAllMembers`` rather than audit anything when a sender is not a
    member. A batch holding the conversations' row locks must not have taken the audit trail's
    lock before them (a refusal's entry did, and two batches waited on each other until the
    database's deadlock timeout): such a batch is stored send by send instead."""
    parsed: list[tuple[int, int] | None] = []
    for user, conversation_id, _request in wanted:
        try:
            parsed.append((user.pk, parse_id(conversation_id)) if is_active_user(user) else None)
        except Http404:
            parsed.append(None)
    pairs = sorted({pair for pair in parsed if pair is not None})
    members = _memberships(pairs) if pairs else {}
    results: list[Conversation | None] = []
    for (user, conversation_id, request), pair in zip(wanted, parsed, strict=True):
        member = members.get(pair) if pair is not None else None
        if member is None and members_only:
            raise NotAllMembers
        if member is None:
            try:  # not a member (or junk): the single getter refuses it, with its audit entry
                results.append(access_conversation(user, conversation_id, purpose=purpose, request=request, write=True))
            except Http404:
                results.append(None)
            continue
        conversation = member.conversation  # shared by the sends of one user to one conversation
        conversation.membership = member
        results.append(conversation)
    return results


def access_message(
    user: Any, message_id: Any, *, purpose: str, request: HttpRequest | None = None, write: bool = False
) -> Message:
    """A message of a conversation ``user`` may open (``conversation`` attached), else ``Http404``."""
    try:
        pk = parse_id(message_id)
    except Http404:
        _refuse(user, message_id, purpose, request, "messaging.message")
    message = Message.objects.filter(pk=pk).first() if is_active_user(user) else None
    if message is None:
        _refuse(user, pk, purpose, request, "messaging.message")
    try:
        message.conversation = access_conversation(
            user, message.conversation_id, purpose=purpose, request=request, write=write
        )
    except Http404:
        raise Http404 from None
    return message


def access_attachment(user: Any, attachment_id: Any, *, purpose: str, request: HttpRequest | None = None) -> Attachment:
    """An attachment of a sent message ``user`` may read, or their own upload not sent yet."""
    try:
        pk = parse_id(attachment_id)
    except Http404:
        _refuse(user, attachment_id, purpose, request, "messaging.attachment")
    attachment = Attachment.objects.filter(pk=pk).first() if is_active_user(user) else None
    if attachment is None or (attachment.message_id is None and attachment.uploaded_by_id != user.pk):
        _refuse(user, pk, purpose, request, "messaging.attachment")
    attachment.conversation = access_conversation(user, attachment.conversation_id, purpose=purpose, request=request)
    return attachment


def reachable_users(user: User) -> QuerySet[User]:
    """Professionals and staff ``user`` may start a conversation with: colleagues of a shared structure."""
    if not is_active_user(user) or user.kind == User.Kind.PATIENT:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True,
            kind__in=[User.Kind.PROFESSIONAL, User.Kind.STAFF],
            memberships__structure__memberships__user=user,
        )
        .exclude(pk=user.pk)
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def delegate_user_ids(user_ids: list[int]) -> list[int]:
    """Staff who act for any of these users (they read those users' conversations)."""
    return list(
        User.objects.filter(staff__acts_for__user_id__in=user_ids, is_active=True, kind=User.Kind.STAFF)
        .values_list("pk", flat=True)
        .distinct()
    )
