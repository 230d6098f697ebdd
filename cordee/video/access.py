"""The only way views and the socket load calls, and planned teleconsultations.

A call (a planned teleconsultation too) belongs to a conversation; only the conversation's
**members** reach it (staff reading for a professional do not: a call is not a thread one
reads). Anyone else, and one that does not exist, get the same ``Http404``, the refusal audited
(``video.refused``). Leaving the conversation ends call access at once: every access goes through
the membership.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import Http404, HttpRequest

from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.lib.users import is_active_user
from cordee.messaging.access import access_conversation
from cordee.messaging.models import Conversation
from cordee.video import purposes
from cordee.video.models import Appointment, Call, Participant


def _refuse(
    user: Any, raw_id: Any, purpose: str, request: HttpRequest | None, target_type: str = "video.call"
) -> NoReturn:
    refuse(user, target_type=target_type, raw_id=raw_id, purpose=purpose, request=request, action=purposes.REFUSED)


def access_call_conversation(
    user: Any, conversation_id: Any, *, purpose: str = purposes.CALL, request: HttpRequest | None = None
) -> Conversation:
    """A conversation ``user`` is a member of (where they may start or see calls), else ``Http404``."""
    return access_conversation(user, conversation_id, purpose=purpose, request=request, write=True)


def access_call(user: Any, call_id: Any, *, purpose: str = purposes.CALL, request: HttpRequest | None = None) -> Call:
    """The call if ``user`` is a member of its conversation (``conversation`` attached, with the
    user's ``membership``), else ``Http404`` exactly as for a call that does not exist."""
    try:
        pk = parse_id(call_id)
    except Http404:
        _refuse(user, call_id, purpose, request)
    call = Call.objects.filter(pk=pk).first() if is_active_user(user) else None
    if call is None:
        _refuse(user, pk, purpose, request)
    try:
        call.conversation = access_conversation(
            user, call.conversation_id, purpose=purpose, request=request, write=True
        )
    except Http404:
        raise Http404 from None  # refused and audited by messaging's getter, as for any conversation
    return call


def access_appointment(
    user: Any, appointment_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> Appointment:
    """A planned teleconsultation of a thread ``user`` is a member of (``conversation`` attached),
    else ``Http404`` exactly as for one that does not exist (refusals audited)."""
    try:
        pk = parse_id(appointment_id)
    except Http404:
        _refuse(user, appointment_id, purpose, request, "video.appointment")
    appointment = Appointment.objects.filter(pk=pk).first() if is_active_user(user) else None
    if appointment is None:
        _refuse(user, pk, purpose, request, "video.appointment")
    appointment.conversation = access_conversation(
        user, appointment.conversation_id, purpose=purpose, request=request, write=True
    )
    return appointment


def calls_of(user: Any, conversation: Conversation) -> Call | None:
    """The call in progress in a conversation already accessed by ``user`` (None if none)."""
    return Call.objects.filter(conversation=conversation, state=Call.State.ACTIVE).first()


def joined_participants(call: Call) -> list[Participant]:
    return list(
        Participant.objects.filter(call=call, state=Participant.State.JOINED)
        .select_related("user")
        .order_by("joined_at")
    )
