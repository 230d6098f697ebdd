"""The 72-hour reminders: at 24 h and 48 h after awareness, the officers of an incident's structure
are mailed that the CNIL is still to be notified (run by the worker, ``security.incident_reminders``).

Each reminder is claimed with a conditional UPDATE, so two workers never both send it, and audited.
The e-mail says only the incident's number, the hours left and the link: no title, no patient.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import Membership
from cordee.audit import services as audit
from cordee.security.clock import DEADLINE, REMINDERS, reminders_due
from cordee.security.models import Incident

PERIOD = dt.timedelta(minutes=10)


def every() -> dt.timedelta:
    return PERIOD


def _mail(incident_id: int, hours_left: int, emails: list[str]) -> None:
    link = settings.SITE_URL + reverse("security:incident", args=[incident_id])
    subject = _("[Cordée] Incident %(n)s: %(h)s hours left to notify the CNIL") % {"n": incident_id, "h": hours_left}
    body = render_to_string("security/email/reminder.txt", {"link": link, "hours": hours_left, "number": incident_id})
    for email in emails:  # one message each: officers do not learn one another's address
        send_mail(subject, body, None, [email])


def do_send_reminders(now: dt.datetime | None = None) -> int:
    """Send the reminders due at ``now``; how many incidents were reminded."""
    now = now or timezone.now()
    first = dt.timedelta(hours=min(REMINDERS))
    candidates = (
        Incident.objects.filter(notified_at__isnull=True, aware_at__lte=now - first)
        .exclude(cnil_decision=Incident.Decision.NO_NOTIFICATION)
        .filter(Q(reminded_24h_at__isnull=True) | Q(reminded_48h_at__isnull=True))
    )
    sent = 0
    for incident in candidates:
        due = reminders_due(incident, now)
        if due and _do_remind(incident, due, now):
            sent += 1
    return sent


def _do_remind(incident: Incident, due: list[int], now: dt.datetime) -> bool:
    """One e-mail for the latest reminder due (a worker that was down does not send both)."""
    fields = {f"reminded_{hours}h_at": now for hours in due}
    with transaction.atomic():
        claimed = Incident.objects.filter(pk=incident.pk, **{f"{name}__isnull": True for name in fields}).update(
            **fields
        )
        if not claimed:
            return False
        officers = Membership.objects.filter(
            structure=incident.structure, security_officer=True, user__is_active=True
        ).values_list("user__email", flat=True)
        emails = sorted(set(officers))
        hours_left = max(0, int((incident.aware_at + DEADLINE - now).total_seconds() // 3600))
        audit.record(
            "security.incident_reminder",
            target=incident,
            details={"after_hours": max(due), "hours_left": hours_left, "officers": len(emails)},
        )
        transaction.on_commit(lambda: _mail(incident.pk, hours_left, emails))
    return True
