"""Raising and reviewing security alerts. Each ``do_*`` audits in the same transaction.

The e-mail to the officers says only that an access needs review, with a link: no patient,
no professional, no reason (they are read in Cordée, behind login and MFA).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import Membership, User
from cordee.accounts.officers import reviewing_officers
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care.models import BreakGlassGrant
from cordee.care.services import do_end_break_glass
from cordee.security.access import may_handle
from cordee.security.models import Alert


def _mail_officers(emails: list[str]) -> None:
    link = settings.SITE_URL + reverse("security:alerts")
    subject = _("[Cordée] A break-the-glass access needs review")
    body = render_to_string("security/email/break_glass.txt", {"link": link})
    for email in emails:  # one message each: officers do not learn one another's address
        send_mail(subject, body, None, [email])


def do_raise_break_glass_alerts(grant: BreakGlassGrant, *, request: HttpRequest | None = None) -> list[Alert]:
    """One alert per structure of the professional; the officers are mailed after commit."""
    user = grant.professional
    if user is None:
        return []
    alerts = []
    with transaction.atomic():
        for membership in Membership.objects.filter(user=user).select_related("structure"):
            alert = Alert.objects.create(
                structure=membership.structure,
                structure_name=membership.structure.name,
                kind=Alert.Kind.BREAK_GLASS,
                actor_id=user.pk,
                actor_display=grant.professional_display,
                patient_id=grant.patient_id,
                break_glass=grant,
            )
            audit.record(
                "security.alert_raised",
                actor=user,
                request=request,
                target=alert,
                details={"kind": alert.kind, "structure": membership.structure_id, "grant": grant.pk},
            )
            alerts.append(alert)
        emails = sorted(set(reviewing_officers(user).values_list("user__email", flat=True)))
        transaction.on_commit(lambda: _mail_officers(emails))
    return alerts


def do_review_alert(alert: Alert, verdict: str, comment: str, *, by: User, request: HttpRequest | None = None) -> Alert:
    """An officer of the alert's structure says whether the access was justified, and why."""
    if verdict not in Alert.Verdict.values:
        raise ValidationError({"verdict": _("Say whether the access was justified.")})
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": _("Write a comment on your review.")})
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        if not may_handle(by, current):
            raise PermissionDenied
        if current.actor_id == by.pk:
            raise ValidationError(_("Another officer reviews your own emergency accesses."))
        if verdict not in dict(current.verdicts()):
            raise ValidationError({"verdict": _("Choose one of the verdicts offered for this alert.")})
        if verdict == Alert.Verdict.FALSE_POSITIVE and len(comment) < 10:
            raise ValidationError({"comment": _("Say why this alert is a false positive.")})
        if current.reviewed_at is not None:
            raise ValidationError(_("This alert was already reviewed."))
        current.reviewed_at = timezone.now()
        current.reviewed_by_id = by.pk
        current.reviewed_by_display = audit.actor_display(by)
        current.verdict = verdict
        current.comment = comment
        current.save(update_fields=["reviewed_at", "reviewed_by_id", "reviewed_by_display", "verdict", "comment"])
        if verdict == Alert.Verdict.UNJUSTIFIED and current.break_glass is not None:
            do_end_break_glass(current.break_glass, by=by, reason="review_unjustified", request=request)
        audit.record(
            "security.alert_reviewed",
            actor=by,
            request=request,
            target=current,
            patient_id=current.patient_id,
            category=AuditEntry.Category.SECURITY,
            details={"kind": current.kind, "verdict": verdict, "grant": current.break_glass_id},
        )
    return current
