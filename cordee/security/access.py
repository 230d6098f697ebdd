"""The only way views load security alerts: an officer sees the alerts of their structures.

Anyone else, and any alert of another structure, gets the answer given for a missing alert (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from django.http import Http404

from cordee.accounts.models import Membership, User
from cordee.lib.ids import parse_id
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


def access_alert(user: User, alert_id: Any, *, purpose: str) -> Alert:
    alert = alerts_for(user).filter(pk=parse_id(alert_id)).first()
    if alert is None:
        raise Http404
    return alert
