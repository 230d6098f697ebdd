"""The tele-expertise JSON API (``/api/expertise/``): "sent" and "received" lists, detail (its
timeline and thread), transitions. Thin: ``expertise.access`` and ``expertise.services``. A step
by the wrong person answers the 404 of a missing request; out of order or without consent, 400."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from ninja import Field, Query, Router, Schema

from cordee.expertise import access, purposes, services
from cordee.expertise.models import Expertise
from cordee.lib.api import ERRORS, StrictIn
from cordee.lib.http import AuthedRequest
from cordee.referrals import workflow
from cordee.referrals.api import EventOut, PersonOut
from cordee.referrals.models import EXPERTISE

router = Router(tags=["expertise"])
PER_PAGE = 25

StateName = Literal["draft", "sent", "accepted", "declined", "question", "answered", "closed"]
ActionName = Literal["send", "accept", "decline", "question", "reply", "answer", "close"]


class ExpertiseRowOut(Schema):
    id: int
    patient_id: int
    state: StateName
    requester: PersonOut
    expert: PersonOut
    specialty: str
    sent_at: dt.datetime | None
    due_at: dt.datetime | None
    paused: bool
    updated_at: dt.datetime
    overdue: bool


class ExpertiseListOut(Schema):
    items: list[ExpertiseRowOut]
    page: int
    pages: int
    count: int


class ExpertiseOut(ExpertiseRowOut):
    role: Literal["requester", "receiver", "candidate", "care_team", "self"]
    question: str | None = Field(description="null for the patient")
    consent_how: str
    consent_at: dt.date | None
    deadline_days: int
    answer: str | None
    course_of_action: str | None
    consultation_needed: bool | None
    events: list[EventOut]


class ExpertiseTransitionIn(StrictIn):
    action: ActionName
    text: str = Field("", max_length=10_000, description="decline: the reason; question, reply, answer: the text")
    course_of_action: str = Field("", max_length=10_000)
    consultation_needed: bool = False
    consent_how: Literal["", "oral", "written", "portal"] = ""
    consent_at: dt.date | None = Field(None, strict=False, description="send: the date of the consent (ISO 8601)")


def _person(user_id: int | None, display: dict[str, Any]) -> dict[str, Any]:
    return {"id": user_id, "name": display.get("name", ""), "rpps": display.get("rpps", "")}


def row(e: Expertise) -> dict[str, Any]:
    return {
        "id": e.pk,
        "patient_id": e.patient_id,
        "state": e.state,
        "requester": _person(e.requester_id, e.requester_display),
        "expert": _person(e.expert_id, e.expert_display),
        "specialty": e.specialty,
        "sent_at": e.sent_at,
        "due_at": e.due_at,
        "paused": e.paused_at is not None,
        "updated_at": e.updated_at,
        "overdue": e.overdue,
    }


def _detail(e: Expertise, role: str) -> dict[str, Any]:
    clinical = role != workflow.SELF
    return {
        **row(e),
        "role": role,
        "question": e.question if clinical else None,
        "consent_how": e.consent_how,
        "consent_at": e.consent_at,
        "deadline_days": e.deadline_days,
        "answer": e.answer if clinical else None,
        "course_of_action": e.course_of_action if clinical else None,
        "consultation_needed": e.consultation_needed,
        "events": [
            {
                "at": ev.at,
                "kind": ev.kind,
                "state": ev.state,
                "actor": _person(ev.actor_id, ev.actor_display),
                "text": ev.text if clinical else None,
            }
            for ev in workflow.events_of(EXPERTISE, e, thread=clinical)
        ],
    }


def _page(rows: Any, page: int) -> dict[str, Any]:
    found = Paginator(rows, PER_PAGE).get_page(page)
    return {
        "items": [row(r) for r in found.object_list],
        "page": found.number,
        "pages": found.paginator.num_pages,
        "count": found.paginator.count,
    }


@router.get("/sent", response={200: ExpertiseListOut, **ERRORS}, summary="Opinions I asked")
def sent(
    request: AuthedRequest, page: int = Query(1, ge=1, le=1_000_000), state: StateName | None = None
) -> dict[str, Any]:
    return _page(access.filtered(access.sent_by(request.user), state=state or ""), page)


@router.get("/received", response={200: ExpertiseListOut, **ERRORS}, summary="Opinions asked of me")
def received(
    request: AuthedRequest, page: int = Query(1, ge=1, le=1_000_000), state: StateName | None = None
) -> dict[str, Any]:
    return _page(access.filtered(access.received_by(request.user), state=state or ""), page)


@router.get("/{expertise_id}", response={200: ExpertiseOut, **ERRORS}, summary="A request, its timeline and thread")
def detail(request: AuthedRequest, expertise_id: str) -> dict[str, Any]:
    e, role = access.access_expertise(request.user, expertise_id, purpose=purposes.VIEW, request=request)
    return _detail(e, role)


@router.post("/{expertise_id}/transitions", response={200: ExpertiseOut, **ERRORS}, summary="One step of a request")
def transition(request: AuthedRequest, expertise_id: str, data: ExpertiseTransitionIn) -> dict[str, Any]:
    try:
        services.do_transition(
            request.user,
            expertise_id,
            data.action,
            request=request,
            text=data.text,
            course_of_action=data.course_of_action,
            consultation_needed=data.consultation_needed,
            consent_how=data.consent_how,
            consent_at=data.consent_at,
        )
    except PermissionDenied:
        raise Http404 from None
    e, role = access.access_expertise(request.user, expertise_id, purpose=purposes.VIEW, request=request, audit=False)
    return _detail(e, role)
