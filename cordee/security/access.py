"""The only way views load security alerts and incidents: an officer sees those of their structures
(the platform operator every incident); a patient sees the breach notices sent to them.

Anyone else, and any alert of another structure, gets the answer given for a missing alert (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest

from cordee.accounts.models import Membership, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib.ids import parse_id
from cordee.lib.prepared import Prepared
from cordee.lib.refusals import refuse
from cordee.security.models import Alert, BreachNotice, Incident


def officer_memberships(user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, security_officer=True, user__is_active=True)


_OFFICER_CACHE = "_cordee_security_officer"
_OFFICER = Prepared(officer_memberships)  # asked on every page (the shell's entries): SQL kept per user


def is_security_officer(user: Any) -> bool:
    """Whether ``user`` is a security officer of a structure: one query, remembered on the user
    object (the request's), as the shell asks for the alerts and the register entries."""
    if not getattr(user, "is_authenticated", False):
        return False
    cached = user.__dict__.get(_OFFICER_CACHE)
    if cached is None:
        cached = user.__dict__[_OFFICER_CACHE] = _OFFICER.exists(user)
    return bool(cached)


def alerts_for(user: User) -> QuerySet[Alert]:
    """The alerts an officer reviews (the operator also those of no structure: an address trying
    unknown accounts): open ones first, newest first."""
    mine = Q(structure_id__in=officer_memberships(user).values("structure_id"))
    if is_operator(user):
        mine |= Q(structure__isnull=True)
    return (
        Alert.objects.filter(mine)
        .select_related("break_glass__patient")
        .order_by(F("reviewed_at").desc(nulls_first=True), "-created_at", "-pk")
    )


def may_handle(user: User, alert: Alert) -> bool:
    """Whether ``user`` may act on ``alert`` (the services check again under the row lock)."""
    if alert.structure_id is None:
        return is_operator(user)
    return officer_memberships(user).filter(structure_id=alert.structure_id).exists()


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


EVIDENCE_SHOWN = 300


def alert_evidence(alert: Alert) -> QuerySet[AuditEntry]:
    """The audit entries an alert cites (the first ``EVIDENCE_SHOWN``), for an alert already
    obtained through ``access_alert``."""
    return AuditEntry.objects.filter(seq__in=alert.evidence[:EVIDENCE_SHOWN]).order_by("seq")


# --- the breach register ---------------------------------------------------------------------


def is_operator(user: Any) -> bool:
    """The platform operator (an active superuser, as for the drug imports): every register."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def keeps_a_register(user: Any) -> bool:
    return is_operator(user) or is_security_officer(user)


def incidents_for(user: Any) -> QuerySet[Incident]:
    """The register an officer keeps: the incidents of their structures (all, for the operator)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Incident.objects.none()
    incidents = Incident.objects.all()
    if not is_operator(user):
        incidents = incidents.filter(structure_id__in=officer_memberships(user).values("structure_id"))
    return incidents.order_by("-aware_at", "-pk")


def access_incident(user: Any, incident_id: Any, *, purpose: str, request: HttpRequest | None = None) -> Incident:
    """An incident of the register ``user`` keeps; else the refusal, audited with ``purpose``, and 404."""
    try:
        pk = parse_id(incident_id)
    except Http404:
        refuse(user, target_type="security.incident", raw_id=incident_id, purpose=purpose, request=request)
    incident = incidents_for(user).filter(pk=pk).first()
    if incident is None:
        refuse(user, target_type="security.incident", raw_id=pk, purpose=purpose, request=request)
    return incident


def access_notice(user: Any, notice_id: Any, *, purpose: str, request: HttpRequest | None = None) -> BreachNotice:
    """A patient's notice: for the officers of its incident (a draft too), or for the patient once
    sent. Opening it is a read of the patient's data (their name is on the letter): audited."""
    try:
        pk = parse_id(notice_id)
    except Http404:
        refuse(user, target_type="security.breachnotice", raw_id=notice_id, purpose=purpose, request=request)
    notice = None
    if getattr(user, "is_authenticated", False) and user.is_active:
        notices = BreachNotice.objects.select_related("incident", "patient").filter(pk=pk)
        mine = Q(patient__user=user, sent_at__isnull=False)
        notice = notices.filter(mine | Q(incident__in=incidents_for(user))).first()
    if notice is None:
        refuse(user, target_type="security.breachnotice", raw_id=pk, purpose=purpose, request=request)
    audit.record(
        "security.notice_opened",
        actor=user,
        request=request,
        target=notice,
        patient_id=notice.patient_id,
        purpose=purpose,
        category=AuditEntry.Category.ACCESS,
        details={"incident": notice.incident_id},
    )
    return notice


def notices_of(user: Any) -> QuerySet[BreachNotice]:
    """The notices sent to a patient account, newest first."""
    if not getattr(user, "is_authenticated", False):
        return BreachNotice.objects.none()
    return BreachNotice.objects.filter(patient__user=user, sent_at__isnull=False).order_by("-sent_at", "-pk")
