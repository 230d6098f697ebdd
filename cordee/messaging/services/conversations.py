"""Conversations: starting them, their members, their name, closing replies. Each ``do_*`` audits.

- direct: two professionals or staff of a shared structure, one conversation per pair;
- group: named, its creator is an administrator; administrators add, remove and promote;
- care team (``c:<patient>``): its members are the users the patient's care team opens the
  patient to, kept in step by ``receivers`` on ``care_team_changed``;
- patient (``p:<professional>:<patient>``): only a verified professional of the patient's care
  team starts it; the patient answers unless a professional member closed replies; the patient
  may close it for good (the professional leaves it), also when she opposes sharing with them.

Sending is in ``sending``; events go out after the commit (``events.publish_on_commit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Patient, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care.access import access_patient, team_access_user_ids
from cordee.lib.api import is_unicode
from cordee.messaging import events
from cordee.messaging.access import (
    MANAGE,
    access_conversation,
    delegate_user_ids,
    parse_id,
    reachable_users,
)
from cordee.messaging.models import Conversation, Member

MAX_GROUP_MEMBERS = 200


def _record(
    action: str, conversation: Conversation, *, actor: Any, request: HttpRequest | None, **details: Any
) -> None:
    audit.record(
        action,
        actor=actor,
        request=request,
        target=conversation,
        patient_id=conversation.patient_id,
        purpose=MANAGE,
        category=AuditEntry.Category.ACCESS if conversation.patient_id else AuditEntry.Category.SECURITY,
        details={"kind": conversation.kind, **details},
    )


def _joined(conversation_id: int, user_ids: list[int]) -> None:
    """Sockets of the new members, and of staff reading for them, subscribe after the commit."""
    ids = sorted(set(user_ids) | set(delegate_user_ids(user_ids)))
    events.publish_on_commit(events.membership_events(conversation_id, ids, joined=True))


def _left(conversation_id: int, user_ids: list[int]) -> None:
    """Sockets of those who left unsubscribe at once; staff reading for them re-check what they see."""
    left = events.membership_events(conversation_id, user_ids, joined=False)
    events.publish_on_commit(left + [events.resync_event(uid) for uid in delegate_user_ids(user_ids)])


def _create(
    kind: str, *, by: User | None, members: Mapping[int, str], request: HttpRequest | None, **fields: Any
) -> Conversation:
    conversation = Conversation.objects.create(kind=kind, created_by=by, **fields)
    Member.objects.bulk_create(
        Member(conversation=conversation, user_id=uid, role=role) for uid, role in members.items()
    )
    _record("conversation.created", conversation, actor=by, request=request, members=sorted(members))
    _joined(conversation.pk, list(members))
    return conversation


def _get_or_create(
    pair_key: str, kind: str, *, by: User, members: Mapping[int, str], request: HttpRequest | None = None, **fields: Any
) -> tuple[Conversation, bool]:
    """The conversation of ``pair_key``, created with ``members`` if there is none yet."""
    for _attempt in range(2):
        existing = Conversation.objects.filter(pair_key=pair_key).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                return _create(kind, by=by, members=members, request=request, pair_key=pair_key, **fields), True
        except IntegrityError:  # created meanwhile by someone else: take theirs
            continue
    raise IntegrityError(pair_key)


def _colleague(user: User, other_id: Any) -> User:
    other = reachable_users(user).filter(pk=parse_id(other_id)).first()
    if other is None:
        raise Http404
    return other


def do_start_direct(user: User, other_id: Any, *, request: HttpRequest | None = None) -> Conversation:
    """The direct conversation of ``user`` and a colleague (created on first use)."""
    other = _colleague(user, other_id)
    low, high = sorted([user.pk, other.pk])
    members = {user.pk: Member.Role.MEMBER, other.pk: Member.Role.MEMBER}
    conversation, _created = _get_or_create(
        f"d:{low}:{high}", Conversation.Kind.DIRECT, by=user, members=members, request=request
    )
    return conversation


def clean_title(title: Any) -> str:
    title = " ".join(str(title or "").split())
    if not is_unicode(title):
        raise ValidationError(_("The name is not valid text."))
    if not title:
        raise ValidationError(_("Give the group a name."))
    if len(title) > 120:
        raise ValidationError(_("The name is too long (120 characters at most)."))
    return title


def do_create_group(
    user: User, title: Any, member_ids: list[Any], *, request: HttpRequest | None = None
) -> Conversation:
    if user.kind == User.Kind.PATIENT:
        raise PermissionDenied
    title = clean_title(title)
    ids = {parse_id(v) for v in member_ids} - {user.pk}
    if len(ids) > MAX_GROUP_MEMBERS:
        raise ValidationError(_("A group has at most %(n)d members.") % {"n": MAX_GROUP_MEMBERS})
    found = set(reachable_users(user).filter(pk__in=ids).values_list("pk", flat=True))
    if found != ids:
        raise ValidationError(_("Some of the people chosen cannot be added."))
    members = {user.pk: Member.Role.ADMIN} | {uid: Member.Role.MEMBER for uid in sorted(ids)}
    with transaction.atomic():
        return _create(Conversation.Kind.GROUP, by=user, members=members, request=request, title=title)


def _group_admin(user: User, conversation_id: Any, request: HttpRequest | None) -> Conversation:
    conversation = access_conversation(user, conversation_id, purpose=MANAGE, request=request, write=True)
    if conversation.kind != Conversation.Kind.GROUP or conversation.membership is None:
        raise PermissionDenied
    if conversation.membership.role != Member.Role.ADMIN:
        raise PermissionDenied
    return conversation


def do_add_member(user: User, conversation_id: Any, new_id: Any, *, request: HttpRequest | None = None) -> Member:
    with transaction.atomic():
        conversation = _group_admin(user, conversation_id, request)
        other = _colleague(user, new_id)
        member, created = Member.objects.get_or_create(conversation=conversation, user=other)
        if created:
            _record("conversation.member_added", conversation, actor=user, request=request, member=other.pk)
            _joined(conversation.pk, [other.pk])
            events.publish_on_commit([events.changed_event(conversation)])
    return member


def do_remove_member(user: User, conversation_id: Any, target_id: Any, *, request: HttpRequest | None = None) -> None:
    """An administrator removes someone from a group, or a member leaves it (``target_id`` = self)."""
    target = parse_id(target_id)
    with transaction.atomic():
        if target == user.pk:
            conversation = access_conversation(user, conversation_id, purpose=MANAGE, request=request, write=True)
            if conversation.kind != Conversation.Kind.GROUP:
                raise PermissionDenied
        else:
            conversation = _group_admin(user, conversation_id, request)
        removed, _detail = Member.objects.filter(conversation=conversation, user_id=target).delete()
        if not removed:
            raise Http404
        _keep_an_admin(conversation)
        _record("conversation.member_removed", conversation, actor=user, request=request, member=target)
        _left(conversation.pk, [target])
        events.publish_on_commit([events.changed_event(conversation)])


def _keep_an_admin(conversation: Conversation) -> None:
    members = Member.objects.filter(conversation=conversation)
    if not members.filter(role=Member.Role.ADMIN).exists():
        first = members.order_by("joined_at", "pk").first()
        if first is not None:
            first.role = Member.Role.ADMIN
            first.save(update_fields=["role"])


def do_set_admin(
    user: User, conversation_id: Any, target_id: Any, admin: bool, *, request: HttpRequest | None = None
) -> Member:
    with transaction.atomic():
        conversation = _group_admin(user, conversation_id, request)
        member = Member.objects.filter(conversation=conversation, user_id=parse_id(target_id)).first()
        if member is None:
            raise Http404
        member.role = Member.Role.ADMIN if admin else Member.Role.MEMBER
        member.save(update_fields=["role"])
        _keep_an_admin(conversation)
        member.refresh_from_db(fields=["role"])  # the only admin stays one: say what is stored
        _record(
            "conversation.role_changed",
            conversation,
            actor=user,
            request=request,
            member=member.user_id,
            role=member.role,
        )
    return member


def do_rename(user: User, conversation_id: Any, title: Any, *, request: HttpRequest | None = None) -> Conversation:
    title = clean_title(title)
    with transaction.atomic():
        conversation = _group_admin(user, conversation_id, request)
        conversation.title = title
        conversation.save(update_fields=["title"])
        _record("conversation.renamed", conversation, actor=user, request=request)
        events.publish_on_commit([events.changed_event(conversation)])
    return conversation


def do_set_replies_closed(
    user: User, conversation_id: Any, closed: bool, *, request: HttpRequest | None = None
) -> Conversation:
    """A professional member of a patient thread closes (or reopens) the patient's replies."""
    with transaction.atomic():
        conversation = access_conversation(user, conversation_id, purpose=MANAGE, request=request, write=True)
        if conversation.kind != Conversation.Kind.PATIENT or verified_professional(user) is None:
            raise PermissionDenied
        Conversation.objects.filter(pk=conversation.pk).update(replies_closed=closed)
        conversation.replies_closed = closed
        _record(
            "conversation.replies_closed" if closed else "conversation.replies_opened",
            conversation,
            actor=user,
            request=request,
        )
        events.publish_on_commit([events.changed_event(conversation)])
    return conversation


def do_close_patient_thread(user: User, conversation_id: Any, *, request: HttpRequest | None = None) -> Conversation:
    """The patient closes her thread with a professional: the professional leaves it (no more
    reading, downloading or writing, sockets unsubscribed at once) and nobody writes in it any
    more; she keeps its history. Final: the professional cannot start it again."""
    with transaction.atomic():
        conversation = access_conversation(user, conversation_id, purpose=MANAGE, request=request, write=True)
        if conversation.kind != Conversation.Kind.PATIENT or not _is_the_patient(user, conversation):
            raise PermissionDenied
        if conversation.closed_at is not None:
            raise ValidationError(_("This conversation is already closed."))
        others = sorted(
            Member.objects.filter(conversation=conversation).exclude(user=user).values_list("user_id", flat=True)
        )
        Member.objects.filter(conversation=conversation, user_id__in=others).delete()
        conversation.closed_at = timezone.now()
        conversation.replies_closed = True
        Conversation.objects.filter(pk=conversation.pk).update(closed_at=conversation.closed_at, replies_closed=True)
        _record("conversation.closed_by_patient", conversation, actor=user, request=request, members_removed=others)
        _left(conversation.pk, others)
        events.publish_on_commit([events.changed_event(conversation)])
    return conversation


def _is_the_patient(user: User, conversation: Conversation) -> bool:
    patient_id = conversation.patient_id
    return patient_id is not None and Patient.objects.filter(pk=patient_id, user=user).exists()


def close_thread_after_opposition(
    patient_id: int, professional_id: int, patient_user: User, request: HttpRequest | None = None
) -> None:
    """The patient opposed sharing with a professional and chose to close their thread too."""
    thread = Conversation.objects.filter(pair_key=f"p:{professional_id}:{patient_id}", closed_at__isnull=True).first()
    if thread is not None:
        do_close_patient_thread(patient_user, thread.pk, request=request)


# --- patient-linked conversations ---------------------------------------------------------


def do_open_care_team_thread(user: User, patient_id: Any, *, request: HttpRequest | None = None) -> Conversation:
    """The care-team thread of a patient, for a member of the team (created on first use)."""
    patient = access_patient(user, patient_id, purpose=MANAGE, request=request, break_glass=False)
    team = team_access_user_ids(patient.pk)
    if user.pk not in team:
        raise Http404
    members = {uid: Member.Role.MEMBER for uid in sorted(team)}
    conversation, created = _get_or_create(
        f"c:{patient.pk}", Conversation.Kind.CARE_TEAM, by=user, members=members, request=request, patient=patient
    )
    if not created:
        do_sync_care_team(patient.pk)
    return conversation


def do_start_patient_thread(user: User, patient_id: Any, *, request: HttpRequest | None = None) -> Conversation:
    """A professional of the patient's care team starts (or reopens) their thread with the patient."""
    if verified_professional(user) is None:
        raise PermissionDenied
    patient = access_patient(user, patient_id, purpose=MANAGE, request=request, break_glass=False)
    if user.pk not in team_access_user_ids(patient.pk):
        raise Http404
    if patient.user is None or not patient.user.is_active:
        raise ValidationError(_("This patient has no Cordée account to write to yet."))
    if Conversation.objects.filter(pair_key=f"p:{user.pk}:{patient.pk}", closed_at__isnull=False).exists():
        raise ValidationError(_("The patient closed your conversation."))
    members = {user.pk: Member.Role.ADMIN, patient.user.pk: Member.Role.MEMBER}
    conversation, _created = _get_or_create(
        f"p:{user.pk}:{patient.pk}",
        Conversation.Kind.PATIENT,
        by=user,
        members=members,
        request=request,
        patient=patient,
    )
    return conversation


def do_follow_care_team(patient_id: int, user_id: int, joined: bool) -> None:
    """A user joined or left a patient's care team: they join or leave its thread, at once."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pair_key=f"c:{patient_id}").first()
        if conversation is None:
            return
        if joined and user_id in team_access_user_ids(patient_id):
            _, created = Member.objects.get_or_create(conversation=conversation, user_id=user_id)
            if created:
                _record(
                    "conversation.member_added", conversation, actor=None, request=None, member=user_id, by="care_team"
                )
                _joined(conversation.pk, [user_id])
        elif not joined:
            removed, _detail = Member.objects.filter(conversation=conversation, user_id=user_id).delete()
            if removed:
                _record(
                    "conversation.member_removed",
                    conversation,
                    actor=None,
                    request=None,
                    member=user_id,
                    by="care_team",
                )
                _left(conversation.pk, [user_id])


def do_sync_care_team(patient_id: int) -> None:
    """Bring a care-team thread's members in line with the team (after a missed signal)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pair_key=f"c:{patient_id}").first()
        if conversation is None:
            return
        team = team_access_user_ids(patient_id)
        current = set(Member.objects.filter(conversation=conversation).values_list("user_id", flat=True))
        for uid in sorted(team - current):
            Member.objects.create(conversation=conversation, user_id=uid)
            _record("conversation.member_added", conversation, actor=None, request=None, member=uid, by="care_team")
        gone = sorted(current - team)
        if gone:
            Member.objects.filter(conversation=conversation, user_id__in=gone).delete()
            for uid in gone:
                _record(
                    "conversation.member_removed", conversation, actor=None, request=None, member=uid, by="care_team"
                )
            _left(conversation.pk, gone)
        if team - current:
            _joined(conversation.pk, sorted(team - current))
