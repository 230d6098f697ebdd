"""The only way to reach a tele-expertise request: ``access_expertise``; each read audited.

- the requester while in the patient's care team, and the team (read only), once sent;
- the named expert (or, for a request to a specialty of a structure, any verified professional
  of that structure with that specialty: ``candidate``, until one accepts) sees the request and
  its attachments only, never the record; their access ends when the request is closed, unless
  they are in the care team;
- the patient (``self``): state, who, when; never the question, the answer nor the thread.

A draft is its requester's only. Anyone else, a forged id, a missing request: the same 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Membership, User
from cordee.care.access import team_membership
from cordee.expertise import purposes
from cordee.expertise.models import Expertise
from cordee.lib.ids import parse_id
from cordee.lib.paging import MergedRows
from cordee.lib.refusals import refuse
from cordee.referrals.models import EXPERTISE
from cordee.referrals.workflow import CANDIDATE, CARE_TEAM, RECEIVER, REQUESTER, SELF, received_rows, record_read

TARGET = "expertise.expertise"
State = Expertise.State


def is_candidate(user: User, expertise: Expertise) -> bool:
    """A verified professional of the structure, with the specialty, of an untaken request."""
    if expertise.expert_id is not None or expertise.structure_id is None or expertise.state != State.SENT:
        return False
    professional = verified_professional(user)
    if professional is None or professional.specialty.casefold() != expertise.specialty.casefold():
        return False
    return Membership.objects.filter(user=user, structure_id=expertise.structure_id).exists()


def role_of(user: Any, expertise: Expertise) -> str | None:
    if not getattr(user, "is_active", False):
        return None
    if user.kind == User.Kind.PATIENT:
        own = expertise.patient.user_id == user.pk
        return SELF if own and expertise.state != State.DRAFT else None
    in_team = team_membership(user, expertise.patient_id) is not None
    if expertise.requester_id == user.pk and in_team:
        return REQUESTER
    if expertise.state == State.DRAFT:
        return None
    if expertise.expert_id == user.pk and (expertise.state != State.CLOSED or in_team):
        return RECEIVER
    if expertise.expert_id is None and is_candidate(user, expertise):
        return CANDIDATE
    return CARE_TEAM if in_team else None


def access_expertise(
    user: Any,
    expertise_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    audit: bool = True,
    for_update: bool = False,
) -> tuple[Expertise, str]:
    try:
        pk = parse_id(expertise_id)
    except Http404:
        refuse(user, target_type=TARGET, raw_id=expertise_id, purpose=purpose, request=request)
    rows = Expertise.objects.select_related("patient")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    expertise = rows.filter(pk=pk).first()
    if expertise is None:
        refuse(user, target_type=TARGET, raw_id=pk, purpose=purpose, request=request)
    role = role_of(user, expertise)
    if role is None:
        refuse(user, target_type=TARGET, raw_id=pk, purpose=purpose, request=request)
    if audit:
        record_read(user, expertise, basis=EXPERTISE, role=role, purpose=purpose, action=purposes.READ, request=request)
    return expertise, role


def sent_by(user: User) -> MergedRows:
    return MergedRows(Expertise.objects.filter(requester=user), related=("patient",))


def received_by(user: User) -> MergedRows:
    """Named to the user, or open to their specialty in one of their structures (``workflow.received_rows``)."""
    return received_rows(Expertise, user, to="expert")


def of_patient(patient_id: int) -> QuerySet[Expertise]:
    return Expertise.objects.filter(patient_id=patient_id).exclude(state=State.DRAFT)


def filtered(rows: MergedRows, *, state: str = "") -> MergedRows:
    """A list narrowed to one state, newest change first."""
    return rows.map(lambda part: part.filter(state=state)) if state in State.values else rows
