"""The referrals' JSON API (``/api/referrals/``): the "sent" and "received" lists, a referral's
detail (its timeline), its transitions. Thin like the pages: ``referrals.access`` (reads audited
there) and ``referrals.services`` (steps audited there). A step by the wrong person answers the
404 of a missing referral; a step out of order, 400 with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from ninja import Field, Query, Router, Schema

from cordee.lib.api import ERRORS, Id, StrictIn
from cordee.lib.http import AuthedRequest
from cordee.referrals import access, purposes, services, workflow
from cordee.referrals.models import REFERRAL, Referral

router = Router(tags=["referrals"])
PER_PAGE = 25

StateName = Literal["draft", "sent", "accepted", "declined", "redirected", "appointment", "seen", "reported", "closed"]
UrgencyName = Literal["routine", "week", "urgent"]
ActionName = Literal["send", "accept", "decline", "redirect", "appointment", "seen", "report", "close"]


class PersonOut(Schema):
    id: int | None = Field(description="null for a removed account")
    name: str
    rpps: str


class ReferralRowOut(Schema):
    id: int
    patient_id: int
    state: StateName
    urgency: UrgencyName
    requester: PersonOut
    receiver: PersonOut
    sent_at: dt.datetime | None
    due_at: dt.datetime | None
    updated_at: dt.datetime
    overdue: bool


class ReferralListOut(Schema):
    items: list[ReferralRowOut]
    page: int
    pages: int
    count: int


class EventOut(Schema):
    at: dt.datetime
    kind: str
    state: str
    actor: PersonOut
    text: str | None = Field(description="null for the patient (no internal discussion)")


class ReferralOut(ReferralRowOut):
    role: Literal["requester", "receiver", "candidate", "care_team", "self"]
    reason: str | None = Field(description="null for the patient: the clinical text is not shown in her space")
    summary: str | None
    treatments: str | None
    allergies: str | None
    questions: str | None
    appointment_at: dt.datetime | None
    appointment_place: str | None
    report: str | None
    decline_reason: str | None
    receiver_joined_care_team: bool
    receiver_opposed: bool
    events: list[EventOut]


class ReferralTransitionIn(StrictIn):
    action: ActionName
    reason: str = Field("", max_length=10_000, description="decline: required; redirect: a note")
    receiver: Id | None = Field(None, description="redirect: the new receiver (a verified professional)")
    at: dt.datetime | None = Field(None, strict=False, description="appointment: date and time (ISO 8601)")
    place: str = Field("", max_length=200, description="appointment: the place")
    report: str = Field("", max_length=10_000, description="report: the compte rendu")


def _person(user_id: int | None, display: dict[str, Any]) -> dict[str, Any]:
    return {"id": user_id, "name": display.get("name", ""), "rpps": display.get("rpps", "")}


def row(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.pk,
        "patient_id": referral.patient_id,
        "state": referral.state,
        "urgency": referral.urgency,
        "requester": _person(referral.requester_id, referral.requester_display),
        "receiver": _person(referral.receiver_id, referral.receiver_display),
        "sent_at": referral.sent_at,
        "due_at": referral.due_at,
        "updated_at": referral.updated_at,
        "overdue": referral.overdue,
    }


def _detail(referral: Referral, role: str) -> dict[str, Any]:
    clinical = role != workflow.SELF
    events = workflow.events_of(REFERRAL, referral, thread=clinical)

    def text(value: Any) -> str | None:
        return (value or "") if clinical else None

    return {
        **row(referral),
        "role": role,
        "reason": text(referral.reason),
        "summary": text(referral.summary),
        "treatments": text(referral.treatments),
        "allergies": text(referral.allergies),
        "questions": text(referral.questions),
        "appointment_at": referral.appointment_at,
        "appointment_place": referral.appointment_place or None,
        "report": referral.report if clinical else None,
        "decline_reason": referral.decline_reason if clinical else None,
        "receiver_joined_care_team": referral.receiver_joined,
        "receiver_opposed": referral.receiver_opposed,
        "events": [
            {
                "at": e.at,
                "kind": e.kind,
                "state": e.state,
                "actor": _person(e.actor_id, e.actor_display),
                "text": e.text if clinical else None,
            }
            for e in events
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


@router.get("/sent", response={200: ReferralListOut, **ERRORS}, summary="Referrals I sent")
def sent(
    request: AuthedRequest,
    page: int = Query(1, ge=1, le=1_000_000),
    state: StateName | None = None,
    urgency: UrgencyName | None = None,
    overdue: bool = False,
) -> dict[str, Any]:
    rows = access.filtered(access.sent_by(request.user), state=state or "", urgency=urgency or "", overdue=overdue)
    return _page(rows, page)


@router.get("/received", response={200: ReferralListOut, **ERRORS}, summary="Referrals I received")
def received(
    request: AuthedRequest,
    page: int = Query(1, ge=1, le=1_000_000),
    state: StateName | None = None,
    urgency: UrgencyName | None = None,
    overdue: bool = False,
) -> dict[str, Any]:
    rows = access.filtered(access.received_by(request.user), state=state or "", urgency=urgency or "", overdue=overdue)
    return _page(rows, page)


@router.get("/{referral_id}", response={200: ReferralOut, **ERRORS}, summary="A referral and its timeline")
def detail(request: AuthedRequest, referral_id: str) -> dict[str, Any]:
    referral, role = access.access_referral(request.user, referral_id, purpose=purposes.VIEW, request=request)
    return _detail(referral, role)


@router.post("/{referral_id}/transitions", response={200: ReferralOut, **ERRORS}, summary="One step of a referral")
def transition(request: AuthedRequest, referral_id: str, data: ReferralTransitionIn) -> dict[str, Any]:
    try:
        services.do_transition(
            request.user,
            referral_id,
            data.action,
            request=request,
            reason=data.reason,
            receiver_id=data.receiver,
            at=data.at,
            place=data.place,
            report=data.report,
        )
    except PermissionDenied:  # the wrong person: the answer of a missing referral
        raise Http404 from None
    referral, role = access.access_referral(
        request.user, referral_id, purpose=purposes.VIEW, request=request, audit=False
    )
    return _detail(referral, role)
