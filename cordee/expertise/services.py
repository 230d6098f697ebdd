"""State changes of tele-expertise requests (``do_*``: one transaction with the audit entry).

::

    draft ─send (consent recorded)→ sent ─accept→ accepted ─answer→ answered ─close→ closed
                                     └decline→ declined    ↑ └question→ question ─reply┘ (deadline paused)

The requester sends, replies and closes; the expert (or, for a request to a specialty, the first
candidate who accepts it) accepts, declines, asks and answers. The answer goes into the patient's
record. The deadline runs from the acceptance; a question pauses it until the reply.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Structure, User
from cordee.audit import services as audit_trail
from cordee.care.access import access_patient, team_membership
from cordee.expertise import purposes
from cordee.expertise.access import access_expertise
from cordee.expertise.models import DEFAULT_DEADLINE_DAYS, Expertise
from cordee.referrals import directory, workflow
from cordee.referrals.models import EXPERTISE, RequestEvent
from cordee.referrals.workflow import CANDIDATE, RECEIVER, REQUESTER, Step

State = Expertise.State
MAX_TEXT = 10_000
MAX_DEADLINE_DAYS = 60
RECORD_KIND = "expertise"

TRANSITIONS: dict[str, Step] = {
    "send": Step(frozenset({State.DRAFT}), REQUESTER, State.SENT),
    "accept": Step(frozenset({State.SENT}), RECEIVER, State.ACCEPTED),
    "decline": Step(frozenset({State.SENT}), RECEIVER, State.DECLINED),
    "question": Step(frozenset({State.ACCEPTED}), RECEIVER, State.QUESTION),
    "reply": Step(frozenset({State.QUESTION}), REQUESTER, State.ACCEPTED),
    "answer": Step(frozenset({State.ACCEPTED}), RECEIVER, State.ANSWERED),
    "close": Step(frozenset({State.SENT, State.DECLINED, State.ANSWERED}), REQUESTER, State.CLOSED),
}


def _text(value: Any, *, field: str, label: str, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: _("Write %(what)s.") % {"what": label}})
    if len(text) > MAX_TEXT:
        raise ValidationError({field: _("A text of at most %(n)s characters.") % {"n": MAX_TEXT}})
    return text


def _deadline(raw: Any) -> int:
    try:
        days = int(raw or DEFAULT_DEADLINE_DAYS)
    except (TypeError, ValueError):
        raise ValidationError(
            {"deadline_days": _("A deadline in days, from 1 to %(n)s.") % {"n": MAX_DEADLINE_DAYS}}
        ) from None
    if not 1 <= days <= MAX_DEADLINE_DAYS:
        raise ValidationError({"deadline_days": _("A deadline in days, from 1 to %(n)s.") % {"n": MAX_DEADLINE_DAYS}})
    return days


def _consent(how: Any, at: Any) -> tuple[str, dt.date | None]:
    how = str(how or "")
    if how and how not in Expertise.Consent.values:
        raise ValidationError({"consent_how": _("Say how the patient gave their consent.")})
    when = at if isinstance(at, dt.date) else parse_date(str(at or "")) if at else None
    if when is not None and when > timezone.localdate():
        raise ValidationError({"consent_at": _("The consent cannot be dated in the future.")})
    return how, when


def check_create_expertise(
    user: User,
    patient_id: Any,
    *,
    question: Any,
    expert_id: Any = None,
    structure_id: Any = None,
    specialty: Any = "",
    deadline_days: Any = DEFAULT_DEADLINE_DAYS,
    consent_how: Any = "",
    consent_at: Any = None,
    attachments: list[tuple[str, Any]] | None = None,
    send: bool = False,
    request: HttpRequest | None = None,
) -> Expertise:
    """A professional of the patient's care team asks an opinion (a draft, sent if ``send``)."""
    with transaction.atomic():
        patient = access_patient(
            user, patient_id, purpose=purposes.WRITE, request=request, audit=False, break_glass=False
        )
        if verified_professional(user) is None or team_membership(user, patient.pk) is None:
            raise PermissionDenied
        expert = directory.verified_professional(expert_id) if expert_id else None
        structure = None
        specialty = str(specialty or "").strip()[:120]
        if expert_id and (expert is None or expert.pk == user.pk):
            raise ValidationError({"expert": _("Choose a verified professional of the directory.")})
        if expert is None:
            structure = Structure.objects.filter(pk=int(structure_id)).first() if str(structure_id).isdigit() else None
            if structure is None or not specialty:
                raise ValidationError({"expert": _("Choose an expert, or a specialty of a structure.")})
        how, when = _consent(consent_how, consent_at)
        expertise = Expertise.objects.create(
            patient=patient,
            requester=user,
            requester_display=audit_trail.actor_display(user),
            expert=expert,
            expert_display=audit_trail.actor_display(expert) if expert is not None else {},
            structure=structure,
            specialty=specialty if expert is None else "",
            question=_text(question, field="question", label=_("the question")),
            deadline_days=_deadline(deadline_days),
            consent_how=how,
            consent_at=when,
            consent_recorded_by_id=user.pk if how else None,
        )
        workflow.record_step(
            user,
            expertise,
            basis=EXPERTISE,
            role=REQUESTER,
            purpose=purposes.WRITE,
            action=purposes.CREATED,
            request=request,
        )
        for kind, raw_id in attachments or []:
            workflow.attach(user, expertise, basis=EXPERTISE, kind=kind, raw_id=raw_id, request=request)
        if send:
            _transition(user, expertise, REQUESTER, "send", request=request)
    return expertise


def _notify_other(expertise: Expertise, role: str) -> None:
    if role == REQUESTER:
        workflow.notify([expertise.expert_id], entry="avis", url_name="expertise:received")
    else:
        workflow.notify([expertise.requester_id], entry="avis", url_name="expertise:sent")


def _transition(
    user: User,
    expertise: Expertise,
    role: str,
    action: str,
    *,
    request: HttpRequest | None,
    text: str | None = None,
    kind: str = RequestEvent.Kind.TRANSITION,
) -> Expertise:
    step = workflow.step(TRANSITIONS, action, expertise.state, role)
    now = timezone.now()
    expertise.state = step.target
    expertise.updated_at = now
    fields = ["state", "updated_at"]
    if action == "send":
        if not expertise.consent_how or expertise.consent_at is None:
            raise ValidationError(_("Record the patient's consent (how and when) before sending the request."))
        expertise.sent_at = now
        fields.append("sent_at")
    elif action == "accept":
        if expertise.expert_id is None:
            expertise.expert = user
            expertise.expert_display = audit_trail.actor_display(user)
            fields += ["expert", "expert_display"]
        expertise.accepted_at = now
        expertise.due_at = now + dt.timedelta(days=expertise.deadline_days)
        fields += ["accepted_at", "due_at"]
    elif action == "question":
        expertise.paused_at = now
        fields.append("paused_at")
    elif action == "reply":
        if expertise.paused_at is not None and expertise.due_at is not None:
            expertise.due_at += now - expertise.paused_at
        expertise.paused_at = None
        fields += ["paused_at", "due_at"]
    elif action == "answer":
        expertise.answered_at = now
        fields.append("answered_at")
    elif action == "close":
        expertise.closed_at = now
        fields.append("closed_at")
    expertise.save(update_fields=fields)
    workflow.record_step(
        user,
        expertise,
        basis=EXPERTISE,
        role=role,
        purpose=purposes.TRANSITION if action != "send" else purposes.WRITE,
        action=f"expertise.{action}",
        request=request,
        text=text,
        kind=kind,
    )
    _notify_other(expertise, role)
    return expertise


def do_transition(
    user: User,
    expertise_id: Any,
    action: str,
    *,
    request: HttpRequest | None = None,
    text: Any = "",
    course_of_action: Any = "",
    consultation_needed: Any = None,
    consent_how: Any = "",
    consent_at: Any = None,
) -> Expertise:
    """One step (see the module) by ``user``; refusals: wrong person → 404, out of order → message."""
    if action not in TRANSITIONS:
        raise ValidationError(_("This step is not possible at this stage of the request."))
    with transaction.atomic():
        expertise, role = access_expertise(
            user, expertise_id, purpose=purposes.TRANSITION, request=request, audit=False, for_update=True
        )
        workflow.step(TRANSITIONS, action, expertise.state, role)
        if role == CANDIDATE and action != "accept":  # a candidate of a specialty only takes it
            raise PermissionDenied
        note: str | None = None
        kind = RequestEvent.Kind.TRANSITION
        if action == "send" and consent_how:
            expertise.consent_how, expertise.consent_at = _consent(consent_how, consent_at)
            expertise.consent_recorded_by_id = user.pk
            expertise.save(update_fields=["consent_how", "consent_at", "consent_recorded_by_id"])
        elif action == "decline":
            expertise.decline_reason = note = _text(text, field="reason", label=_("the reason"))
            expertise.save(update_fields=["decline_reason"])
        elif action == "question":
            note, kind = _text(text, field="text", label=_("the question")), RequestEvent.Kind.QUESTION
        elif action == "reply":
            note, kind = _text(text, field="text", label=_("the reply")), RequestEvent.Kind.REPLY
        elif action == "answer":
            expertise.answer = _text(text, field="answer", label=_("the answer"))
            expertise.course_of_action = _text(course_of_action, field="course_of_action", label="", required=False)
            expertise.consultation_needed = consultation_needed in (True, "1", "on", "true", "yes")
            expertise.save(update_fields=["answer", "course_of_action", "consultation_needed"])
        _transition(
            user, expertise, role if role != CANDIDATE else RECEIVER, action, request=request, text=note, kind=kind
        )
        if action == "answer":
            workflow.to_record(
                expertise,
                kind=RECORD_KIND,
                title=_("Expert opinion from %(name)s") % {"name": expertise.expert_name},
                author=user,
                at=expertise.answered_at,
            )
    return expertise
