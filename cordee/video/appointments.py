"""Planned teleconsultations: a professional of a patient's thread plans one (a date, a length),
or cancels it; each is said in the thread itself (a message from the professional: the patient is
notified as for any message, by the e-mail and push notices that carry no content) and audited
with the patient, who reads it in their access history. Starting the teleconsultation near the
planned time marks the appointment held.

Only a verified professional member of the thread plans or cancels (the same rule as starting a
teleconsultation); a patient sees the thread's appointments, and their own in "Téléconsultations".
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib import modules
from cordee.messaging.models import Conversation, Member
from cordee.messaging.services import do_send_message
from cordee.messaging.services.sending import SendError, SendRequest
from cordee.video import purposes
from cordee.video.access import access_call_conversation
from cordee.video.models import Appointment, Call

logger = logging.getLogger(__name__)

LENGTHS = (10, 15, 20, 30, 45, 60)  # minutes a professional may choose
FURTHEST = dt.timedelta(days=366)
PAST_GRACE = dt.timedelta(minutes=5)  # a time just gone (typed a minute ago) is still accepted
MAX_PLANNED = 10  # planned and still to come, per thread
# Starting a teleconsultation this close to a planned one holds it (early, or late within its length).
HOLD_BEFORE, HOLD_AFTER = dt.timedelta(minutes=30), dt.timedelta(minutes=30)
SHOWN_AFTER = dt.timedelta(minutes=30)  # a planned one stays listed this long after its start
REMINDER = dt.timedelta(minutes=15)  # the members' push notice comes this long before


def _parse_when(raw: Any) -> dt.datetime:
    """A ``datetime-local`` value (``YYYY-MM-DDTHH:MM``) in the user's time zone, made aware."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({"when": _("Give the date and time of the teleconsultation.")})
    try:
        naive = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError({"when": _("This date and time could not be read.")}) from None
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive.replace(second=0, microsecond=0))


def _parse_minutes(raw: Any) -> int:
    try:
        minutes = int(str(raw))
    except (TypeError, ValueError):
        minutes = 0
    if minutes not in LENGTHS:
        raise ValidationError({"minutes": _("Choose one of the lengths offered.")})
    return minutes


def _audit(action: str, appointment: Appointment, user: User, request: HttpRequest | None, **details: Any) -> None:
    conversation = appointment.conversation
    audit.record(
        action,
        actor=user,
        request=request,
        target_type="video.appointment",
        target_id=appointment.pk,
        patient_id=conversation.patient_id,
        purpose=action,  # the patient reads each in their history, as a teleconsultation's entries
        category=AuditEntry.Category.ACCESS,
        details={"conversation": conversation.pk, "minutes": appointment.minutes} | details,
    )


def when_text(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.starts_at)
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(local, "l j F Y"),
        "time": formats.time_format(local, "TIME_FORMAT"),
    }


def _say(user: User, conversation: Conversation, body: str, key: str, request: HttpRequest | None) -> None:
    """The appointment said in the thread, after its commit (a failure to post is logged: the
    appointment stands, and shows in the thread's call tool and the lists)."""
    try:
        do_send_message(SendRequest(user, conversation.pk, body, key, request=request))
    except SendError as error:
        logger.warning("video: appointment message not posted (%s)", error.code)


def _professional_of(user: User, conversation: Conversation) -> None:
    if conversation.kind != Conversation.Kind.PATIENT or conversation.membership is None:
        raise ValidationError(_("Teleconsultations are planned in a patient's thread."))
    if verified_professional(user) is None:
        raise ValidationError(_("Only a verified professional of the thread plans its teleconsultations."))
    if conversation.closed_at is not None:
        raise ValidationError(_("This conversation is closed."))


def check_plan(
    user: User, conversation_id: Any, when: Any, minutes: Any, *, request: HttpRequest | None = None
) -> Appointment:
    """Plan a teleconsultation in a patient's thread ``user`` is a professional member of."""
    conversation = access_call_conversation(user, conversation_id, purpose=purposes.PLANNED, request=request)
    _professional_of(user, conversation)
    starts_at, length = _parse_when(when), _parse_minutes(minutes)
    now = timezone.now()
    if starts_at < now - PAST_GRACE:
        raise ValidationError({"when": _("This time has passed: choose a time to come.")})
    if starts_at > now + FURTHEST:
        raise ValidationError({"when": _("Plan at most a year ahead.")})
    with transaction.atomic():
        # One writer at a time per thread (its row lock): the limit below holds under races.
        Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
        planned = to_come().filter(conversation=conversation).count()
        if planned >= MAX_PLANNED:
            raise ValidationError(_("This thread already has %(n)d teleconsultations to come.") % {"n": MAX_PLANNED})
        appointment = Appointment.objects.create(
            conversation=conversation, planned_by=user, starts_at=starts_at, minutes=length
        )
        appointment.conversation = conversation
        _audit(purposes.PLANNED, appointment, user, request, starts_at=starts_at.isoformat())
    body = _("Teleconsultation planned on %(when)s (%(minutes)d min). Join it from this conversation then.") % {
        "when": when_text(appointment),
        "minutes": length,
    }
    _say(user, conversation, body, f"appointment-{appointment.pk}", request)
    return appointment


def check_cancel(user: User, appointment: Appointment, *, request: HttpRequest | None = None) -> Appointment:
    """Cancel a planned teleconsultation (``access.access_appointment``'s, with its conversation)."""
    _professional_of(user, appointment.conversation)
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.state != Appointment.State.PLANNED:
            raise ValidationError(_("This teleconsultation is no longer planned."))
        current.state, current.cancelled_at = Appointment.State.CANCELLED, timezone.now()
        current.save(update_fields=["state", "cancelled_at"])
        current.conversation = appointment.conversation
        _audit(purposes.CANCELLED, current, user, request, starts_at=current.starts_at.isoformat())
    body = _("The teleconsultation of %(when)s is cancelled.") % {"when": when_text(current)}
    _say(user, current.conversation, body, f"appointment-{current.pk}-cancelled", request)
    return current


def hold_on_start(call: Call) -> None:
    """A teleconsultation just started: the planned one it meets, if any, is held (in the
    caller's transaction)."""
    now = timezone.now()
    appointment = (
        Appointment.objects.filter(
            conversation_id=call.conversation_id,
            state=Appointment.State.PLANNED,
            starts_at__lte=now + HOLD_BEFORE,
            starts_at__gte=now - HOLD_AFTER - dt.timedelta(minutes=max(LENGTHS)),
        )
        .order_by("starts_at")
        .first()
    )
    if appointment is not None and appointment.ends_at + HOLD_AFTER >= now:
        Appointment.objects.filter(pk=appointment.pk).update(state=Appointment.State.HELD, call=call)


def _planned() -> QuerySet[Appointment]:
    return Appointment.objects.filter(state=Appointment.State.PLANNED).order_by("starts_at", "pk")


def to_come() -> QuerySet[Appointment]:
    """Planned teleconsultations still to come (or under way: listed until ``SHOWN_AFTER`` past
    their start), soonest first."""
    return _planned().filter(starts_at__gte=timezone.now() - SHOWN_AFTER)


def _patient_threads(user: User) -> QuerySet[Member, Any]:
    threads = Member.objects.filter(user_id=user.pk, conversation__kind=Conversation.Kind.PATIENT)
    return threads.values("conversation_id")


def upcoming(user: User) -> QuerySet[Appointment]:
    """Those of ``user``'s patient threads."""
    return to_come().filter(conversation_id__in=_patient_threads(user))


def due_window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The starts that ``due_soon`` counts: from ``SHOWN_AFTER`` ago to 24 hours ahead, at the
    minute — the window moves once a minute, so the navigation's count compiles to the same SQL
    for a minute and the shell keeps it (``cordee.lib.prepared``; read to the microsecond, the
    count's SQL was compiled anew on every page)."""
    minute = (now or timezone.now()).replace(second=0, microsecond=0)
    return minute - SHOWN_AFTER, minute + dt.timedelta(hours=24, minutes=1)


def due_soon(user: User) -> QuerySet[Appointment]:
    """Those of the next 24 hours (``due_window``): the navigation's count."""
    return _planned().filter(conversation_id__in=_patient_threads(user), starts_at__range=due_window())


def of_thread(conversation: Conversation) -> list[Appointment]:
    """A thread's planned teleconsultations still to come (the thread's page shows them)."""
    return list(to_come().filter(conversation_id=conversation.pk)[:MAX_PLANNED])


def _announce(user_ids: list[int]) -> None:
    modules.something_waits.send_robust(sender=Appointment, entry="teleconsultations", user_ids=user_ids)


def remind_due(now: dt.datetime | None = None) -> str:
    """The worker's job (every minute): a push notice "a teleconsultation starts soon" to the
    members of each thread whose planned teleconsultation starts within ``REMINDER`` (once each:
    the conditional update claims it, so two workers never both remind). The notice names
    nothing: the entry's words and a link to the list. What was done, for the worker's log."""
    now = now or timezone.now()
    due = list(
        Appointment.objects.filter(
            state=Appointment.State.PLANNED, reminded_at__isnull=True, starts_at__gt=now, starts_at__lte=now + REMINDER
        ).values_list("pk", "conversation_id")
    )
    reminded = 0
    for pk, conversation_id in due:
        with transaction.atomic():
            if not Appointment.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                continue  # another worker took it
            members = list(Member.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True))
            transaction.on_commit(functools.partial(_announce, members))
        reminded += 1
    return f"{reminded} teleconsultation reminder(s)" if reminded else ""


def every() -> dt.timedelta:
    return dt.timedelta(minutes=1)


def listed_for(user: User, *, request: HttpRequest | None = None, limit: int = 100) -> list[Appointment]:
    """``upcoming`` as the list page shows it (thread, patient, planner loaded); a professional's
    view of each patient's appointment — her name, her date — is a read, audited per patient."""
    rows = list(upcoming(user).select_related("conversation__patient", "planned_by")[:limit])
    if user.kind != User.Kind.PATIENT and rows:
        with transaction.atomic():
            audit.record_many(
                [
                    {
                        "action": purposes.LISTED,
                        "actor": user,
                        "request": request,
                        "target_type": "video.appointment",
                        "target_id": appointment.pk,
                        "patient_id": appointment.conversation.patient_id,
                        "purpose": purposes.LISTED,
                        "category": AuditEntry.Category.ACCESS,
                    }
                    for appointment in rows
                ]
            )
    return rows
