"""Approving an incident's drafts: the CNIL notification, and the art. 34 notices to the patients.

Nothing reaches a patient before an officer approves (a recent sign-in, audited). Approval sends
the notices when the decision is to inform the patients: each is then shown in the patient's
space (and its PDF is there to print for a patient without an account), with one audit entry
per patient (an access entry: the patient sees it in their access history). Patients with an
account get a push notification that says only that something waits for them, and the notice as
a secure message from the approving officer (``signals.notices_approved``, delivered by messaging).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib import modules
from cordee.security.access import incidents_for
from cordee.security.models import BreachNotice, Incident
from cordee.security.signals import notices_approved

NOTICE_ENTRY = "avis-securite"  # the patients' entry in the shell (shell.py)


def do_approve_drafts(incident: Incident, *, by: User, request: HttpRequest | None = None) -> Incident:
    with transaction.atomic():
        current = incidents_for(by).select_for_update().filter(pk=incident.pk).first()
        if current is None:
            raise PermissionDenied
        if current.approved_at is not None:
            raise ValidationError(_("These drafts were already approved."))
        if not current.scope:
            raise ValidationError(_("Compute the scope before approving the drafts."))
        if current.patients_decision == Incident.Decision.PENDING:
            raise ValidationError(_("Decide first whether the patients are informed, with your reasoning."))
        now = timezone.now()
        current.approved_at, current.approved_by_display = now, audit.actor_display(by)
        current.save(update_fields=["approved_at", "approved_by_display"])
        send = current.patients_decision == Incident.Decision.NOTIFY
        notices = list(BreachNotice.objects.filter(incident=current).select_related("patient"))
        if send:
            BreachNotice.objects.filter(incident=current, sent_at__isnull=True).update(sent_at=now)
        audit.record(
            "security.drafts_approved",
            actor=by,
            request=request,
            target=current,
            details={"notices": len(notices) if send else 0, "patients_decision": current.patients_decision},
        )
        if send:
            audit.record_many(
                [
                    {
                        "action": "security.notice_sent",
                        "actor": by,
                        "request": request,
                        "target": notice,
                        "patient_id": notice.patient_id,
                        "purpose": "security.breach_notice",
                        "category": AuditEntry.Category.ACCESS,
                        "details": {"incident": current.pk},
                    }
                    for notice in notices
                ]
            )
            accounts = [notice.patient.user_id for notice in notices if notice.patient.user_id is not None]
            transaction.on_commit(
                lambda: modules.something_waits.send_robust(sender=BreachNotice, entry=NOTICE_ENTRY, user_ids=accounts)
            )
            delivered = [notice.pk for notice in notices if notice.patient.user_id is not None]
            transaction.on_commit(
                lambda: notices_approved.send_robust(
                    sender=Incident, incident_id=current.pk, officer_id=by.pk, notice_ids=delivered
                )
            )
    return current
