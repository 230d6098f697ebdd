"""The only way to reach a referral: ``access_referral``; each read audited.

Who reads a referral (checked on every call):

- the requester, while in the patient's care team (``care.access.team_membership``), and the
  other members of the team (``care_team``: read only), once it is sent;
- the receiver, once it is sent and until it is closed (after that only if they joined the care
  team): they see what the referral carries (its text, its attachments), not the record;
- the patient (``self``), in her space: its state, who, when; never the text nor the thread.

A draft is its requester's only. Anyone else, a forged id and a missing referral get the same
``Http404`` (``refuse`` audits the refusal).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.models import User
from cordee.care.access import team_membership
from cordee.lib.ids import parse_id
from cordee.lib.paging import MergedRows
from cordee.lib.refusals import refuse
from cordee.referrals import purposes
from cordee.referrals.models import REFERRAL, Referral
from cordee.referrals.workflow import (
    CANDIDATE,
    CARE_TEAM,
    RECEIVER,
    REQUESTER,
    SELF,
    is_candidate,
    received_rows,
    record_read,
)

TARGET = "referrals.referral"
State = Referral.State


def role_of(user: Any, referral: Referral) -> str | None:
    """How ``user`` reaches ``referral`` (``REQUESTER``, ``RECEIVER``, ``CARE_TEAM``, ``SELF``), or None."""
    if not getattr(user, "is_active", False):
        return None
    if user.kind == User.Kind.PATIENT:
        own = referral.patient.user_id == user.pk
        return SELF if own and referral.state != State.DRAFT else None
    in_team = team_membership(user, referral.patient_id) is not None
    if referral.requester_id == user.pk and in_team:
        return REQUESTER
    if referral.state == State.DRAFT:
        return None
    if referral.receiver_id == user.pk and (referral.state != State.CLOSED or in_team):
        return RECEIVER
    untaken = referral.receiver_id is None and referral.state == State.SENT
    if untaken and is_candidate(user, referral.structure_id, referral.specialty):
        return CANDIDATE
    return CARE_TEAM if in_team else None


def access_referral(
    user: Any,
    referral_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    audit: bool = True,
    for_update: bool = False,
) -> tuple[Referral, str]:
    """A referral ``user`` may read and their role, else ``Http404``. ``audit=False`` only for a
    ``do_*`` that writes its own entry for the same act; ``for_update`` locks the row (in the
    caller's transaction)."""
    try:
        pk = parse_id(referral_id)
    except Http404:
        refuse(user, target_type=TARGET, raw_id=referral_id, purpose=purpose, request=request)
    rows = Referral.objects.select_related("patient")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    referral = rows.filter(pk=pk).first()
    if referral is None:
        refuse(user, target_type=TARGET, raw_id=pk, purpose=purpose, request=request)
    role = role_of(user, referral)
    if role is None:
        refuse(user, target_type=TARGET, raw_id=pk, purpose=purpose, request=request)
    if audit:
        record_read(user, referral, basis=REFERRAL, role=role, purpose=purpose, action=purposes.READ, request=request)
    return referral, role


# --- lists: one query per page (no per-row query), patient names never decrypted here ------------


def sent_by(user: User) -> MergedRows:
    return MergedRows(Referral.objects.filter(requester=user), related=("patient",))


def received_by(user: User) -> MergedRows:
    """Named to the user, or sent to the service (specialty) of one of their structures, untaken
    (``workflow.received_rows``)."""
    return received_rows(Referral, user, to="receiver")


def of_patient(patient_id: int) -> QuerySet[Referral]:
    """A patient's own referrals (her space): sent ones only."""
    return Referral.objects.filter(patient_id=patient_id).exclude(state=State.DRAFT)


def filtered(rows: MergedRows, *, state: str = "", urgency: str = "", overdue: bool = False) -> MergedRows:
    """A list narrowed by the page's filters, newest change first."""

    def narrow(part: QuerySet[Referral]) -> QuerySet[Referral]:
        if state in State.values:
            part = part.filter(state=state)
        if urgency in {"routine", "week", "urgent"}:
            part = part.filter(urgency=urgency)
        if overdue:
            part = part.filter(
                Q(state__in=[State.SENT, State.REDIRECTED]), answered_at__isnull=True, due_at__lt=timezone.now()
            )
        return part

    return rows.map(narrow)
