"""Detection alerts: raising them from the rules' findings, the worker's job, and the officer's
acknowledgement. Each ``do_*`` audits in its own transaction.

One burst makes one alert per structure concerned: a finding of the same rule and subject whose
entries come within the rule's window of an alert's last entry is added to that alert (its
evidence and figures grow) instead of raising another. The structures concerned are those of
the accounts involved (the user, the accounts tried); a finding that names no known account (an
address trying unknown e-mails) goes to the platform operator's queue (no structure).

The e-mail to the officers says only the kind of alert, its severity and the link: no patient, no
account, no address.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import AccountLock, Membership, Structure, User
from cordee.accounts.services import lockout
from cordee.accounts.sessions import invalidate_user_sessions
from cordee.audit import services as audit
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import verify_chain
from cordee.lib import modules
from cordee.security import detection
from cordee.security.access import may_handle
from cordee.security.models import Alert, DetectionCursor, Incident

EVIDENCE_LIMIT = 1000  # seqs kept on one alert; ``figures["count"]`` says how many there were
CURSOR = "audit"


def every() -> dt.timedelta:
    return dt.timedelta(seconds=settings.DETECT_EVERY_SECONDS)


@dataclass
class Outcome:
    scanned: int = 0
    raised: int = 0
    extended: int = 0
    verified: bool = True  # the trail's tail verified (``do_verify_tail``)

    def __str__(self) -> str:
        return f"{self.scanned} entries scanned, {self.raised} alerts raised, {self.extended} extended"

    def __bool__(self) -> bool:  # the worker logs a job's outcome only when it did something
        return bool(self.scanned)


def _mail(alert_id: int, kind: str, severity: str, emails: list[str]) -> None:
    link = settings.SITE_URL + reverse("security:alert", args=[alert_id])
    subject = _("[Cordée] Security alert (%(severity)s): %(kind)s") % {"severity": severity, "kind": kind}
    body = render_to_string("security/email/detection.txt", {"link": link, "kind": kind, "severity": severity})
    for email in emails:  # one message each: officers do not learn one another's address
        send_mail(subject, body, None, [email])


def _structures(finding: detection.Finding) -> list[Structure | None]:
    users = set(finding.users)
    if finding.emails:
        users.update(User.objects.filter(email__in=finding.emails).values_list("pk", flat=True))
    structures: list[Structure | None] = list(
        Structure.objects.filter(memberships__user_id__in=users).distinct().order_by("pk")
    )
    return structures or [None]


def _officers(structure: Structure | None) -> list[str]:
    if structure is None:  # the platform operator's queue
        return sorted(set(User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)))
    officers = Membership.objects.filter(structure=structure, security_officer=True, user__is_active=True)
    return sorted(set(officers.values_list("user__email", flat=True)))


def _officer_ids(structure: Structure | None) -> list[int]:
    if structure is None:
        return list(User.objects.filter(is_superuser=True, is_active=True).values_list("pk", flat=True))
    officers = Membership.objects.filter(structure=structure, security_officer=True, user__is_active=True)
    return sorted(set(officers.values_list("user_id", flat=True)))


def _push(user_ids: list[int]) -> None:
    """The officers' subscribed browsers learn that an alert waits (the text names no one)."""
    modules.something_waits.send_robust(sender=Alert, entry="alertes", user_ids=user_ids)


def _actor(finding: detection.Finding) -> User | None:
    if finding.subject.startswith("actor_id:"):
        return User.objects.filter(pk=int(finding.subject.split(":")[1])).first()
    if finding.subject.startswith("target_id:"):
        return User.objects.filter(email=finding.subject.split(":", 1)[1]).first()
    return None


def do_raise_finding(finding: detection.Finding) -> tuple[int, int]:
    """The alerts of one finding: (raised, extended)."""
    raised = extended = 0
    raised_alerts: list[Alert] = []
    key = f"{finding.kind}:{finding.subject}"[:260]
    actor = _actor(finding)
    with transaction.atomic():
        for structure in _structures(finding):
            same_burst = (
                Alert.objects.select_for_update()
                .filter(dedup_key=key, structure=structure, last_seen__gte=finding.first_seen - finding.window)
                .order_by("-pk")
                .first()
            )
            if same_burst is not None:
                evidence = sorted(set(same_burst.evidence) | set(finding.seqs))
                added = len(evidence) - len(same_burst.evidence)
                if not added:
                    continue
                same_burst.evidence = evidence[:EVIDENCE_LIMIT]
                same_burst.first_seen = min(same_burst.first_seen or finding.first_seen, finding.first_seen)
                same_burst.last_seen = max(same_burst.last_seen or finding.last_seen, finding.last_seen)
                figures = dict(same_burst.figures)
                figures["count"] = figures.get("count", 0) + added
                if "measure" in finding.figures:
                    figures["measure"] = max(figures.get("measure", 0), finding.figures["measure"])
                same_burst.figures = figures
                same_burst.severity = max(same_burst.severity, finding.severity)
                same_burst.save(update_fields=["evidence", "first_seen", "last_seen", "figures", "severity"])
                audit.record(
                    "security.alert_extended",
                    target=same_burst,
                    details={"kind": finding.kind, "added": added},
                )
                extended += 1
                continue
            alert = Alert.objects.create(
                structure=structure,
                structure_name=structure.name if structure else "",
                kind=finding.kind,
                severity=finding.severity,
                subject=finding.subject[:200],
                dedup_key=key,
                first_seen=finding.first_seen,
                last_seen=finding.last_seen,
                figures=finding.figures,
                evidence=finding.seqs[:EVIDENCE_LIMIT],
                actor_id=actor.pk if actor else None,
                actor_display=audit.actor_display(actor) if actor else {},
            )
            audit.record(
                "security.alert_raised",
                target=alert,
                details={
                    "kind": alert.kind,
                    "structure": structure.pk if structure else None,
                    "severity": alert.severity,
                    "evidence": len(alert.evidence),
                },
            )
            emails = _officers(structure)
            kind, severity = str(alert.get_kind_display()), str(alert.get_severity_display())
            transaction.on_commit(functools.partial(_mail, alert.pk, kind, severity, emails))
            transaction.on_commit(functools.partial(_push, _officer_ids(structure)))
            raised_alerts.append(alert)
            raised += 1
        if raised_alerts and actor is not None:
            _respond(finding, actor, raised_alerts)
    return raised, extended


# --- automatic responses ----------------------------------------------------------------------

AUTO_LOCK_KINDS = ("failed_logins_account",)
AUTO_REVOKE_KINDS = ("two_places",)


def _lock(user: User) -> dt.datetime:
    until = timezone.now() + dt.timedelta(hours=settings.DETECT_LOCK_HOURS)
    AccountLock.objects.update_or_create(email=lockout.normalise(user.email), defaults={"locked_until": until})
    return until


def _end_sessions(user: User, reason: str) -> int:
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    invalidate_user_sessions(user.pk, reason)
    return len(sessions)


def _note_response(alert: Alert, response: dict[str, object]) -> None:
    alert.responses = [*alert.responses, {"at": timezone.now().isoformat(), **response}]
    alert.save(update_fields=["responses"])


def _respond(finding: detection.Finding, user: User, alerts: list[Alert]) -> None:
    """The automatic response to the clearest cases, when the settings allow it (inside the
    raising transaction): an account under brute force is locked (``DETECT_AUTO_LOCK``); an
    account seen in two places at once has all its sessions ended (``DETECT_AUTO_REVOKE``). Once
    per finding, noted on each of its alerts, audited as ``security.auto_response``."""
    response: dict[str, object]
    if finding.kind in AUTO_LOCK_KINDS and settings.DETECT_AUTO_LOCK:
        until = _lock(user)
        response = {"action": "locked", "until": until.isoformat(), "by": "detection"}
    elif finding.kind in AUTO_REVOKE_KINDS and settings.DETECT_AUTO_REVOKE:
        response = {"action": "sessions_revoked", "sessions": _end_sessions(user, "two_places"), "by": "detection"}
    else:
        return
    for alert in alerts:
        _note_response(alert, response)
    audit.record(
        "security.auto_response",
        target=user,
        details={"kind": finding.kind, "alerts": [alert.pk for alert in alerts], **response},
    )


# --- the audit trail's own verification -------------------------------------------------------

VERIFIED = "audit-verified"


def do_verify_tail() -> bool:
    """Verify the entries written since the last verified one (or the last signed checkpoint):
    their chain and MACs (``verify_chain``). A failure raises an ``audit_verification`` alert to
    the platform operator's queue (one per problem's entry and day); the cursor then stays where
    the trail last verified, so the next run checks again. Whether the tail verified."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    if head is None:
        return True
    cursor, _created = DetectionCursor.objects.get_or_create(name=VERIFIED)
    if cursor.seq >= head[0]:
        return True
    checkpoint = AuditCheckpoint.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    start: tuple[int, str] | None = checkpoint
    if cursor.seq and (checkpoint is None or cursor.seq > checkpoint[0]):
        known = AuditEntry.objects.filter(seq=cursor.seq).values_list("seq", "entry_hash").first()
        start = known or start
    result = verify_chain(start_after=start, until=head[0], check_checkpoints=False)
    if result.ok:
        DetectionCursor.objects.filter(name=VERIFIED).update(seq=head[0], updated_at=timezone.now())
        return True
    problem = result.problems[0]
    seq = problem.seq or head[0]
    row = AuditEntry.objects.filter(seq__lte=seq).order_by("-seq").values(*detection.FIELDS).first()
    if row is None:
        row = AuditEntry.objects.filter(seq=head[0]).values(*detection.FIELDS).get()
    finding = detection.Finding(
        "audit_verification",
        detection.HIGH,
        f"seq:{seq}",
        [row],
        dt.timedelta(days=1),
        {"count": len(result.problems), "problem": problem.kind, "seq": seq},
    )
    do_raise_finding(finding)
    return False


def _run(outcome: Outcome, rows: list[detection.Row], head: int) -> None:
    outcome.scanned += len(rows)
    for finding in detection.scan(rows, head):
        raised, extended = do_raise_finding(finding)
        outcome.raised += raised
        outcome.extended += extended


def do_detect() -> Outcome:
    """The worker's job: scan the entries written since the cursor and move it on (per batch, so
    a failure resumes where it stopped)."""
    outcome = Outcome()
    DetectionCursor.objects.get_or_create(name=CURSOR)
    cursor = DetectionCursor.objects.get(name=CURSOR).seq
    for rows, head in detection.batches(after=cursor):
        _run(outcome, rows, head)
        DetectionCursor.objects.filter(name=CURSOR).update(seq=rows[-1]["seq"], updated_at=timezone.now())
    if settings.DETECT_AUDIT_VERIFY:
        outcome.verified = do_verify_tail()
    return outcome


def do_detect_period(start: dt.datetime, end: dt.datetime | None = None) -> Outcome:
    """The rules over a past period (``manage.py detect``): the cursor does not move; bursts
    already alerted are added to their alerts, not raised again."""
    outcome = Outcome()
    for rows, head in detection.batches(start=start, end=end):
        _run(outcome, rows, head)
    audit.record(
        "security.detection_replayed",
        details={"start": start.isoformat(), "end": end.isoformat() if end else None, **outcome.__dict__},
    )
    return outcome


def do_acknowledge_alert(alert: Alert, *, by: User, request: HttpRequest | None = None) -> Alert:
    """An officer says they have seen the alert and are on it (the verdict comes with the review)."""
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        if not may_handle(by, current):
            raise PermissionDenied
        if current.acknowledged_at is not None:
            raise ValidationError(_("This alert was already acknowledged."))
        current.acknowledged_at = timezone.now()
        current.acknowledged_by_display = audit.actor_display(by)
        current.save(update_fields=["acknowledged_at", "acknowledged_by_display"])
        audit.record(
            "security.alert_acknowledged",
            actor=by,
            request=request,
            target=current,
            details={"kind": current.kind},
        )
    return current


def do_link_incident(alert: Alert, incident: Incident, *, by: User, request: HttpRequest | None = None) -> Alert:
    """The incident declared from an alert: the alert points to it (and counts as acknowledged)."""
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        if not may_handle(by, current) or current.structure_id != incident.structure_id:
            raise PermissionDenied
        current.incident = incident
        fields = ["incident"]
        if current.acknowledged_at is None:
            current.acknowledged_at = timezone.now()
            current.acknowledged_by_display = audit.actor_display(by)
            fields += ["acknowledged_at", "acknowledged_by_display"]
        current.save(update_fields=fields)
        audit.record(
            "security.alert_incident_opened",
            actor=by,
            request=request,
            target=current,
            details={"kind": current.kind, "incident": incident.pk},
        )
    return current


def incident_prefill(alert: Alert) -> dict[str, object]:
    """The register's declaration prefilled from an alert: no names, no patients (the officer
    completes the facts)."""
    title = _("Alert %(n)s: %(kind)s") % {"n": alert.pk, "kind": alert.get_kind_display()}
    nature = _(
        "Detected by Cordée's intrusion detection (alert %(n)s, severity %(severity)s): %(count)s audit "
        "entries between %(first)s and %(last)s. To be confirmed."
    ) % {
        "n": alert.pk,
        "severity": alert.get_severity_display(),
        "count": alert.figures.get("count", len(alert.evidence)),
        "first": timezone.localtime(alert.first_seen).strftime("%d/%m/%Y %H:%M") if alert.first_seen else "?",
        "last": timezone.localtime(alert.last_seen).strftime("%d/%m/%Y %H:%M") if alert.last_seen else "?",
    }
    return {
        "title": title[:200],
        "nature": nature,
        "aware_at": timezone.localtime().replace(second=0, microsecond=0),
        "occurred_at": timezone.localtime(alert.first_seen).replace(second=0, microsecond=0)
        if alert.first_seen
        else None,
        "structure": alert.structure_id,
    }


def do_lock_account(alert: Alert, *, by: User, request: HttpRequest | None = None) -> int:
    """Lock the account an alert names (its sign-ins refused for ``DETECT_LOCK_HOURS``) and end
    all its sessions (open sockets close); how many sessions were ended. Only an account of the
    alert's structure, never one's own."""
    with transaction.atomic():
        current = Alert.objects.select_for_update().get(pk=alert.pk)
        if not may_handle(by, current) or current.structure_id is None:
            raise PermissionDenied
        if current.actor_id is None:
            raise ValidationError(_("This alert names no account of your structure."))
        user = User.objects.filter(pk=current.actor_id, memberships__structure_id=current.structure_id).first()
        if user is None:
            raise ValidationError(_("This alert names no account of your structure."))
        if user.pk == by.pk:
            raise ValidationError(_("Another officer locks your own account."))
        until = _lock(user)
        sessions = _end_sessions(user, "locked_from_alert")
        _note_response(
            current,
            {"action": "locked", "until": until.isoformat(), "sessions": sessions, "by": audit.actor_display(by)},
        )
        audit.record(
            "security.account_locked",
            actor=by,
            request=request,
            target=user,
            details={"alert": current.pk, "sessions": sessions, "until": until.isoformat()},
        )
    return sessions
