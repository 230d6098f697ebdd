"""Keeping the breach register: declaring an incident and recording its facts and decisions.

The audit entries name the incident and which fields changed, never their text.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from cordee.accounts.models import Structure, User
from cordee.audit import services as audit
from cordee.security.access import incidents_for, is_operator, officer_memberships
from cordee.security.models import Incident


def may_keep(user: User, structure: Structure | None) -> bool:
    if is_operator(user):
        return True
    return structure is not None and officer_memberships(user).filter(structure=structure).exists()


def do_declare_incident(
    structure: Structure, facts: dict[str, Any], *, by: User, request: HttpRequest | None = None
) -> Incident:
    """A new entry of ``structure``'s register (``facts``: the fields of ``forms.FACTS``)."""
    if not may_keep(by, structure):
        raise PermissionDenied
    with transaction.atomic():
        incident = Incident.objects.create(
            structure=structure,
            structure_name=structure.name,
            created_by_id=by.pk,
            created_by_display=audit.actor_display(by),
            **facts,
        )
        audit.record(
            "security.incident_declared",
            actor=by,
            request=request,
            target=incident,
            details={"structure": structure.pk, "aware_at": incident.aware_at.isoformat()},
        )
    return incident


def do_update_incident(
    incident: Incident, facts: dict[str, Any], *, by: User, request: HttpRequest | None = None
) -> Incident:
    """Record new facts, timeline or decisions; the entry says which fields changed."""
    with transaction.atomic():
        current = incidents_for(by).select_for_update().filter(pk=incident.pk).first()
        if current is None:
            raise PermissionDenied
        changed = sorted(name for name, value in facts.items() if getattr(current, name) != value)
        for name in changed:
            setattr(current, name, facts[name])
        if changed:
            current.save(update_fields=changed)
        audit.record(
            "security.incident_updated",
            actor=by,
            request=request,
            target=current,
            details={
                "fields": changed,
                "cnil_decision": current.cnil_decision,
                "patients_decision": current.patients_decision,
            },
        )
    return current
