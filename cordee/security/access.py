"""The only way views load security alerts: an officer sees the alerts of their structures.

Anyone else, and any alert of another structure, gets the answer given for a missing alert (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.models import Membership, User
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.security.models import Alert


def officer_memberships(user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, security_officer=True, user__is_active=True)


def is_security_officer(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and officer_memberships(user).exists()


def alerts_for(user: User) -> QuerySet[Alert]:
    """The alerts an officer reviews: open ones first, newest first."""
    return (
        Alert.objects.filter(structure_id__in=officer_memberships(user).values("structure_id"))
        .select_related("break_glass__patient")
        .order_by(F("reviewed_at").desc(nulls_first=True), "-created_at", "-pk")
    )


def access_alert(user: User, alert_id: Any, *, purpose: str, request: HttpRequest | None = None) -> Alert:
    """An alert of a structure ``user`` is a security officer of; the refusal audited with ``purpose``."""
    try:
        pk = parse_id(alert_id)
    except Http404:
        refuse(user, target_type="security.alert", raw_id=alert_id, purpose=purpose, request=request)
    alert = alerts_for(user).filter(pk=pk).first()
    if alert is None:
        refuse(user, target_type="security.alert", raw_id=pk, purpose=purpose, request=request)
    return alert
