"""State changes of referrals: ``do_*`` each in one ``transaction.atomic`` with its audit entry.

The state machine (``TRANSITIONS``)::

    draft ─send→ sent ─accept→ accepted ─appointment→ appointment ─seen→ seen ─report→ reported ─close→ closed
                  │  └decline→ declined ─close→ closed                │ (report also from accepted
                  └redirect→ redirected (another receiver: accept, decline, redirect again)   and appointment)

The requester sends and closes; the receiver does the rest. Each step locks the row, checks the
role and the state (``workflow.step``), writes its timeline line and audit entry, and notifies the
other side after the commit. On acceptance the receiver joins the patient's care team through
``care.services`` (added by the requester, audited there), unless the patient opposed sharing with
them: then the referral says so and they see only what it carries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Structure, User
from cordee.audit import services as audit_trail
from cordee.care.access import access_patient, is_opposed_to, team_membership
from cordee.care.services import do_add_to_care_team
from cordee.referrals import directory, purposes, workflow
from cordee.referrals.access import access_referral
from cordee.referrals.models import ANSWER_DELAY, REFERRAL, Referral, Urgency
from cordee.referrals.workflow import CANDIDATE, RECEIVER, REQUESTER, Step

State = Referral.State
MAX_TEXT = 10_000
RECORD_KIND = "referral"

REPORTABLE = frozenset({State.ACCEPTED, State.APPOINTMENT, State.SEEN})
TRANSITIONS: dict[str, Step] = {
    "send": Step(frozenset({State.DRAFT}), REQUESTER, State.SENT),
    "accept": Step(frozenset({State.SENT, State.REDIRECTED}), RECEIVER, State.ACCEPTED),
    "decline": Step(frozenset({State.SENT, State.REDIRECTED}), RECEIVER, State.DECLINED),
    "redirect": Step(frozenset({State.SENT, State.REDIRECTED}), RECEIVER, State.REDIRECTED),
    "appointment": Step(frozenset({State.ACCEPTED, State.APPOINTMENT}), RECEIVER, State.APPOINTMENT),
    "seen": Step(frozenset({State.APPOINTMENT}), RECEIVER, State.SEEN),
    "report": Step(REPORTABLE, RECEIVER, State.REPORTED),
    "close": Step(frozenset({State.SENT, State.REDIRECTED, State.DECLINED, State.REPORTED}), REQUESTER, State.CLOSED),
}


def _text(value: Any, *, required: bool = False, field: str = "", label: str = "") -> str:
    text = str(value or "").strip()
    if required and not text:
        message = _("Write %(what)s.") % {"what": label} if label else _("This field is required.")
        raise ValidationError({field: message} if field else message)
    if len(text) > MAX_TEXT:
        raise ValidationError(_("A text of at most %(n)s characters.") % {"n": MAX_TEXT})
    return text


def _receiver(raw_id: Any, requester: User) -> User:
    receiver = directory.verified_professional(raw_id)
    if receiver is None or receiver.pk == requester.pk:
        raise ValidationError({"receiver": _("Choose a verified professional of the directory.")})
    return receiver


def _destination(user: User, receiver_id: Any, structure_id: Any, specialty: Any) -> tuple[Any, Any, str]:
    """A named verified professional, or a structure's service (a specialty): else the refusal."""
    if receiver_id not in (None, ""):
        return _receiver(receiver_id, user), None, ""
    specialty = str(specialty or "").strip()[:120]
    structure = Structure.objects.filter(pk=int(structure_id)).first() if str(structure_id).isdigit() else None
    if structure is None or not specialty:
        raise ValidationError({"receiver": _("Choose a verified professional of the directory.")})
    return None, structure, specialty


def check_create_referral(
    user: User,
    patient_id: Any,
    *,
    receiver_id: Any = None,
    reason: Any,
    structure_id: Any = None,
    specialty: Any = "",
    urgency: Any = Urgency.ROUTINE,
    summary: Any = "",
    treatments: Any = "",
    allergies: Any = "",
    questions: Any = "",
    attachments: list[tuple[str, Any]] | None = None,
    send: bool = False,
    request: HttpRequest | None = None,
) -> Referral:
    """A professional of the patient's care team writes a referral (a draft, sent if ``send``)."""
    with transaction.atomic():
        patient = access_patient(
            user, patient_id, purpose=purposes.WRITE, request=request, audit=False, break_glass=False
        )
        if verified_professional(user) is None or team_membership(user, patient.pk) is None:
            raise PermissionDenied
        receiver, structure, specialty = _destination(user, receiver_id, structure_id, specialty)
        if urgency not in Urgency.values:
            raise ValidationError({"urgency": _("Choose an urgency.")})
        referral = Referral.objects.create(
            patient=patient,
            requester=user,
            requester_display=audit_trail.actor_display(user),
            receiver=receiver,
            receiver_display=audit_trail.actor_display(receiver),
            structure=structure,
            specialty=specialty,
            urgency=urgency,
            reason=_text(reason, required=True, field="reason", label=_("the reason for the referral")),
            summary=_text(summary),
            treatments=_text(treatments),
            allergies=_text(allergies),
            questions=_text(questions),
        )
        workflow.record_step(
            user,
            referral,
            basis=REFERRAL,
            role=REQUESTER,
            purpose=purposes.WRITE,
            action=purposes.CREATED,
            request=request,
        )
        for kind, raw_id in attachments or []:
            workflow.attach(user, referral, basis=REFERRAL, kind=kind, raw_id=raw_id, request=request)
        if send:
            _transition(user, referral, REQUESTER, "send", request=request)
    return referral


def do_attach(user: User, referral_id: Any, kind: Any, raw_id: Any, *, request: HttpRequest | None = None) -> None:
    """The requester attaches an object of the patient to a draft."""
    with transaction.atomic():
        referral, role = access_referral(user, referral_id, purpose=purposes.WRITE, request=request, for_update=True)
        if role != REQUESTER:
            raise PermissionDenied
        if referral.state != State.DRAFT:
            raise ValidationError(_("Files are attached before the referral is sent."))
        workflow.attach(user, referral, basis=REFERRAL, kind=str(kind), raw_id=raw_id, request=request)


def _transition(
    user: User, referral: Referral, role: str, action: str, *, request: HttpRequest | None, text: str | None = None
) -> Referral:
    step = workflow.step(TRANSITIONS, action, referral.state, role)
    now = timezone.now()
    referral.state = step.target
    referral.updated_at = now
    fields = ["state", "updated_at"]
    if action == "send":
        referral.sent_at = now
        referral.due_at = now + ANSWER_DELAY[Urgency(referral.urgency)]
        fields += ["sent_at", "due_at"]
    elif action in ("accept", "decline") and referral.answered_at is None:
        referral.answered_at = now
        fields.append("answered_at")
    elif action == "report":
        referral.reported_at = now
        fields.append("reported_at")
    elif action == "close":
        referral.closed_at = now
        fields.append("closed_at")
    referral.save(update_fields=fields)
    workflow.record_step(
        user,
        referral,
        basis=REFERRAL,
        role=role,
        purpose=purposes.TRANSITION if action != "send" else purposes.WRITE,
        action=f"referral.{action}",
        request=request,
        text=text,
    )
    other = referral.receiver_id if role == REQUESTER else referral.requester_id
    workflow.notify(
        [other], entry="adressages", url_name="referrals:received" if role == REQUESTER else "referrals:sent"
    )
    return referral


def do_transition(
    user: User,
    referral_id: Any,
    action: str,
    *,
    request: HttpRequest | None = None,
    reason: Any = "",
    receiver_id: Any = None,
    at: Any = None,
    place: Any = "",
    report: Any = "",
    attachments: list[tuple[str, Any]] | None = None,
) -> Referral:
    """One step of the state machine, by ``user`` on ``referral_id`` (see the module)."""
    if action not in TRANSITIONS:
        raise ValidationError(_("This step is not possible at this stage of the request."))
    with transaction.atomic():
        referral, role = access_referral(
            user, referral_id, purpose=purposes.TRANSITION, request=request, audit=False, for_update=True
        )
        workflow.step(TRANSITIONS, action, referral.state, role)  # refuse before any change
        if role == CANDIDATE:  # a professional of the service takes the referral, or leaves it
            if action != "accept":
                raise PermissionDenied
            referral.receiver, role = user, RECEIVER
            referral.receiver_display = audit_trail.actor_display(user)
            referral.save(update_fields=["receiver", "receiver_display"])
        text: str | None = None
        if action == "decline":
            referral.decline_reason = text = _text(reason, required=True, field="reason", label=_("the reason"))
            referral.save(update_fields=["decline_reason"])
        elif action == "redirect":
            new = _receiver(receiver_id, user)
            if new.pk == referral.requester_id:
                raise ValidationError({"receiver": _("Choose a verified professional of the directory.")})
            text = _text(reason)
            referral.receiver = new
            referral.receiver_display = audit_trail.actor_display(new)
            referral.due_at = timezone.now() + ANSWER_DELAY[Urgency(referral.urgency)]
            referral.save(update_fields=["receiver", "receiver_display", "due_at"])
        elif action == "appointment":
            when = at if isinstance(at, dt.datetime) else parse_datetime(str(at or ""))
            if when is None:
                raise ValidationError({"at": _("Give the date and time of the appointment.")})
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
            referral.appointment_at = when
            referral.appointment_place = _text(place, required=True, field="place", label=_("the place"))[:200]
            referral.save(update_fields=["appointment_at", "appointment_place"])
        elif action == "report":
            referral.report = _text(report, required=True, field="report", label=_("the report"))
            referral.save(update_fields=["report"])
            for kind, raw_id in attachments or []:
                workflow.attach(
                    user, referral, basis=REFERRAL, kind=kind, raw_id=raw_id, request=request, in_report=True
                )
        _transition(user, referral, role, action, request=request, text=text)
        if action == "accept":
            _join_care_team(referral, request=request)
        elif action == "report":
            workflow.to_record(
                referral,
                kind=RECORD_KIND,
                title=_("Referral report from %(name)s") % {"name": referral.receiver_name},
                author=user,
                at=referral.reported_at,
            )
    return referral


def _join_care_team(referral: Referral, *, request: HttpRequest | None) -> None:
    """The receiver joins the team (added by the requester), unless the patient opposed it."""
    receiver, requester = referral.receiver, referral.requester
    if receiver is None or requester is None:
        return
    if is_opposed_to(referral.patient_id, receiver):
        referral.receiver_opposed = True
        referral.save(update_fields=["receiver_opposed"])
        return
    if team_membership(receiver, referral.patient_id) is not None:
        referral.receiver_joined = True
    else:
        try:
            with transaction.atomic():
                do_add_to_care_team(referral.patient, receiver, by=requester, request=request)
            referral.receiver_joined = True
        except (PermissionDenied, ValidationError):  # the requester left the team, a team-wide opposition…
            referral.receiver_opposed = is_opposed_to(referral.patient_id, receiver)
    referral.save(update_fields=["receiver_joined", "receiver_opposed"])
