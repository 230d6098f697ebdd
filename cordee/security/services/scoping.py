"""Automatic scoping of an incident from the audit trail (issue 17, item 7).

The officer declares what was compromised — accounts and a time window, and whether a copy of the
database was taken (with or without the vault's key encryption key). Cordée first verifies the
audit chain (``cordee.audit.verify``: a tampered trail would make the figures lie, and the result
says so), then reads, in **one grouped query**, which patients' data those accounts read,
downloaded or changed in the window, by category, with the number of entries and of distinct
records (the audit target: a conversation, a message, a file, the patient record…).

The query is set-based: it filters on the indexed ``actor_id`` (then ``created_at``) and groups in
the database by (patient, category), the category and the operation being SQL ``CASE``
expressions over ``action`` and ``purpose``. Its cost grows with the entries of the compromised
accounts in the window, not with the trail. The chain is verified from the last signed checkpoint
before the window (``verify_window``), so that walk too grows with the window, not the trail.

A copy of the database without the KEK exposes only ciphertext for every health field (names,
INS, birth data, addresses, messages, files: envelope encryption whose data keys are wrapped by a
KEK that never sits in the database): art. 34(3)(a) then exempts informing the patients, and the
scope says so with its reasoning. With the KEK, every patient of the database is concerned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, CharField, Count, Q, Value, When
from django.db.models.functions import Concat
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.models import Patient, User
from cordee.audit import services as audit
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import VerifyResult, verify_chain
from cordee.security.access import incidents_for
from cordee.security.models import BreachNotice, Incident

IDENTITY, MESSAGES, FILES, CARE_TEAM, OTHER = "identity", "messages", "files", "care_team", "other"
CATEGORIES = (IDENTITY, MESSAGES, FILES, CARE_TEAM, OTHER)
READ, DOWNLOADED, CHANGED = "read", "downloaded", "changed"
DOWNLOAD_PURPOSE = "messaging.download"  # messaging's purpose of a file or preview opened
READ_ACTIONS = ("patient.read", "conversation.read", "security.notice_opened")
EXPORT_ACTIONS = ("patient.export",)


def category_labels() -> dict[str, str]:
    return {
        IDENTITY: _("Identity (names, INS, birth date, address)"),
        MESSAGES: _("Messages"),
        FILES: _("Files and documents"),
        CARE_TEAM: _("Care team and oppositions"),
        OTHER: _("Other data"),
    }


def _category() -> Case:
    download = Q(action="conversation.read", purpose__endswith=DOWNLOAD_PURPOSE)
    return Case(
        When(download | Q(action__startswith="attachment."), then=Value(FILES)),
        When(Q(action__startswith="patient.") | Q(action="security.notice_opened"), then=Value(IDENTITY)),
        When(Q(action__startswith="conversation.") | Q(action__startswith="message."), then=Value(MESSAGES)),
        When(action__startswith="care.", then=Value(CARE_TEAM)),
        default=Value(OTHER),
        output_field=CharField(),
    )


def _operation() -> Case:
    return Case(
        When(
            Q(action__in=EXPORT_ACTIONS) | Q(action="conversation.read", purpose__endswith=DOWNLOAD_PURPOSE),
            then=Value(DOWNLOADED),
        ),
        When(action__in=READ_ACTIONS, then=Value(READ)),
        default=Value(CHANGED),
        output_field=CharField(),
    )


def accessed_by(account_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One row per (patient, category): entries, distinct records, and reads/downloads/changes.

    Only successful entries naming a patient, by those accounts, in ``[start, end)``; refusals
    (``denied``) showed nothing. One query."""
    rows: Any = (
        AuditEntry.objects.filter(
            actor_id__in=list(account_ids),
            created_at__gte=start,
            created_at__lt=end,
            patient_id__isnull=False,
            outcome=AuditEntry.Outcome.SUCCESS,
        )
        .annotate(category_=_category(), operation_=_operation())
        .annotate(record_=Concat("target_type", Value(":"), "target_id", output_field=CharField()))
        .values("patient_id", "category_")
        .annotate(
            entries=Count("id"),
            records=Count("record_", distinct=True),
            reads=Count("id", filter=Q(operation_=READ)),
            downloads=Count("id", filter=Q(operation_=DOWNLOADED)),
            changes=Count("id", filter=Q(operation_=CHANGED)),
        )
        .order_by("patient_id", "category_")
    )
    return list(rows)


CLOCK_SLACK = dt.timedelta(hours=1)  # entries' times may run behind the order they were chained in


def verify_window(start: dt.datetime) -> VerifyResult:
    """Verify the chain from the last checkpoint sealed before the window (an hour's slack), not
    from its beginning: entries older than that cannot change what the window holds, and the walk
    then costs what the window and its sequel cost, not the whole trail. The checkpoint is trusted
    only if its signature holds (``verify_chain`` checks every checkpoint's); without one, the
    whole chain is walked."""
    anchor = (
        AuditCheckpoint.objects.filter(created_at__lt=start - CLOCK_SLACK)
        .order_by("-seq")
        .values_list("seq", "entry_hash")
        .first()
    )
    return verify_chain(start_after=anchor)


def compute_scope(
    account_ids: list[int], start: dt.datetime, end: dt.datetime, *, dump: bool = False, key_exposed: bool = False
) -> dict[str, Any]:
    """The scope as stored on the incident: ids, the window, counts, the verification, the reasoning."""
    verified = verify_window(start)
    patients: dict[str, dict[str, dict[str, int]]] = {}
    for row in accessed_by(account_ids, start, end):
        counts = {key: row[key] for key in ("entries", "records", "reads", "downloads", "changes")}
        patients.setdefault(str(row["patient_id"]), {})[row["category_"]] = counts
    by_category: dict[str, dict[str, int]] = {}
    for categories in patients.values():
        for category, counts in categories.items():
            total = by_category.setdefault(category, {"patients": 0, "records": 0, "entries": 0})
            total["patients"] += 1
            total["records"] += counts["records"]
            total["entries"] += counts["entries"]
    scope: dict[str, Any] = {
        "accounts": sorted(account_ids),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "audit_verified": verified.ok,
        "audit_problems": len(verified.problems),
        "patients": patients,
        "by_category": by_category,
        "totals": {
            "patients": len(patients),
            "records": sum(c["records"] for c in by_category.values()),
            "entries": sum(c["entries"] for c in by_category.values()),
        },
        "dump": dump,
        "key_exposed": key_exposed,
        "ciphertext_only": dump and not key_exposed,
    }
    if dump:
        everyone = Patient.objects.count()
        scope["dump_patients"] = everyone
        if key_exposed:
            scope["totals"]["patients"] = max(scope["totals"]["patients"], everyone)
    return scope


def reasoning(scope: dict[str, Any]) -> list[str]:
    """What the scope means for the decisions, in words (shown on the page and in the CNIL draft)."""
    said = []
    if not scope.get("audit_verified", True):
        said.append(
            _(
                "The audit trail failed its verification (%(n)s problem(s)): it may have been tampered "
                "with, and these figures may be incomplete."
            )
            % {"n": scope.get("audit_problems", 0)}
        )
    if scope.get("ciphertext_only"):
        said.append(
            _(
                "The copy of the database holds the health data only encrypted (names, INS, birth data, "
                "addresses, messages, files): their keys are wrapped by the key encryption key, which never "
                "sits in the database and was not exposed. These data are unintelligible to whoever holds "
                "the copy: art. 34(3)(a) GDPR exempts informing the patients of their exposure. The copy "
                "does show in clear the e-mail addresses of the accounts (patients' included), who is in "
                "whose care team (by numbers), each patient's sex, identity status and dates, and the audit "
                "trail (professionals' names and RPPS numbers, times, IP addresses, patients by number): "
                "weigh the risk of these before deciding not to inform the patients "
                "(docs/security.md, What a theft reveals)."
            )
        )
    elif scope.get("dump"):
        said.append(
            _(
                "The copy of the database and the key encryption key were both exposed: the data of "
                "every patient (%(n)s) must be considered readable."
            )
            % {"n": scope.get("dump_patients", 0)}
        )
    return said


def do_scope_incident(
    incident: Incident,
    accounts: list[User],
    start: dt.datetime,
    end: dt.datetime,
    *,
    dump: bool = False,
    key_exposed: bool = False,
    by: User,
    request: HttpRequest | None = None,
) -> Incident:
    """Compute and store the scope; the drafts of the patients' notices follow it (until approved)."""
    if end <= start:
        raise ValidationError(_("The end of the window comes after its start."))
    if not accounts and not dump:
        raise ValidationError(_("Say what was compromised: accounts, or a copy of the database."))
    scope = compute_scope([user.pk for user in accounts], start, end, dump=dump, key_exposed=key_exposed)
    with transaction.atomic():
        current = incidents_for(by).select_for_update().filter(pk=incident.pk).first()
        if current is None:
            raise PermissionDenied
        if current.approved_at is not None:
            raise ValidationError(_("The drafts of this incident were approved and sent: the scope is final."))
        current.scope, current.scoped_at = scope, timezone.now()
        current.save(update_fields=["scope", "scoped_at"])
        _draft_notices(current, scope)
        audit.record(
            "security.incident_scoped",
            actor=by,
            request=request,
            target=current,
            details={
                key: scope[key]
                for key in ("accounts", "start", "end", "audit_verified", "totals", "dump", "key_exposed")
            },
        )
    return current


def _draft_notices(incident: Incident, scope: dict[str, Any]) -> None:
    """One draft notice per patient whose data were reached (all of them if the KEK went too)."""
    BreachNotice.objects.filter(incident=incident, sent_at__isnull=True).delete()
    reached = {int(pk): categories for pk, categories in scope["patients"].items()}
    if scope.get("dump") and scope.get("key_exposed"):
        every = {category: {"entries": 0, "records": 0} for category in (IDENTITY, MESSAGES, FILES, CARE_TEAM)}
        ids = Patient.objects.values_list("pk", flat=True)
        reached = {pk: reached.get(pk, every) for pk in ids}
    existing = set(Patient.objects.filter(pk__in=list(reached)).values_list("pk", flat=True))
    BreachNotice.objects.bulk_create(
        [BreachNotice(incident=incident, patient_id=pk, categories=reached[pk]) for pk in sorted(existing)]
    )
