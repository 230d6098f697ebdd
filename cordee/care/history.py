"""A patient's access history, read from the audit trail.

Rows come from the ``access`` entries about the patient, except the patient's own actions. Repeated
accesses are grouped: one row per person, action, purpose and day (in the local time zone), with
the count and the first and last time. Every row says what was done in words (``purposes``), never
a code, and an access under an emergency grant (break-the-glass) shows the reason the professional
wrote. The history can be filtered by person and by period.

Everything shown comes from the entries' display copies (name, profession, RPPS, structure at the
time), never from joins to accounts that may have changed or gone; a patient named as an actor is
only an id there, and their name is decrypted when shown. The query count does not depend on the
number of entries: a count and a page of groups, the page's latest entries, the grants' reasons
(one query, and the patient's key), the people of the filter (two queries).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.display import person_name
from cordee.accounts.models import Patient, User
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.models import BreakGlassGrant

ENTRIES_PER_PAGE = 50  # rows (groups of accesses) per page
_GROUP = ("actor_id", "action", "purpose", "day")
_FIELDS = ("seq", "created_at", "action", "actor_id", "actor_display", "purpose", "details")


@dataclass(frozen=True)
class Filters:
    actor: int | None = None  # a user id, or 0 for Cordée's automatic actions
    since: dt.date | None = None
    until: dt.date | None = None

    @property
    def active(self) -> bool:
        return self.actor is not None or self.since is not None or self.until is not None


def parse_filters(params: Mapping[str, Any]) -> Filters:
    """Filters from a query string (``personne``, ``du``, ``au``); junk is ignored, not an error."""

    def day(value: Any) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(value or ""))
        except ValueError:
            return None

    person = str(params.get("personne") or "")
    since, until = day(params.get("du")), day(params.get("au"))
    if since and until and since > until:
        since, until = until, since
    return Filters(actor=int(person) if person.isdigit() and len(person) < 19 else None, since=since, until=until)


@dataclass(frozen=True)
class AccessRow:
    at: dt.datetime  # the latest access of the group
    first_at: dt.datetime
    count: int
    name: str
    profession: str
    rpps: str
    structure: str
    purpose: str
    break_glass: bool
    reason: str  # the emergency access's written reason ("" when none)

    @property
    def day(self) -> dt.date:
        return timezone.localtime(self.at).date()


def access_entries(patient: Patient, filters: Filters | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(patient_id=patient.pk, category=AuditEntry.Category.ACCESS)
    if patient.user_id is not None:
        entries = entries.exclude(actor_id=patient.user_id)
    filters = filters or Filters()
    if filters.actor is not None:
        entries = entries.filter(actor_id=filters.actor) if filters.actor else entries.filter(actor_id__isnull=True)
    zone = timezone.get_current_timezone()
    if filters.since is not None:
        entries = entries.filter(created_at__gte=dt.datetime.combine(filters.since, dt.time.min, tzinfo=zone))
    if filters.until is not None:
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        entries = entries.filter(created_at__lt=end)
    return entries


def grouped(patient: Patient, filters: Filters | None = None) -> QuerySet[AuditEntry, dict[str, Any]]:
    """Groups of accesses (person, action, purpose, day), the latest first."""
    return (
        access_entries(patient, filters)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values(*_GROUP)
        .annotate(count=Count("seq"), last_seq=Max("seq"), first_at=Min("created_at"))
        .order_by("-last_seq")
    )


def _profession(display: dict[str, Any]) -> str:
    role = str(display.get("role", ""))
    kinds = dict(User.Kind.choices)
    return str(kinds[role]) if role in kinds else role


def _grant_id(details: Any) -> int | None:
    grant = details.get("grant") if isinstance(details, dict) else None
    return grant if isinstance(grant, int) and not isinstance(grant, bool) else None


def rows(groups: list[dict[str, Any]], patient: Patient) -> list[AccessRow]:
    """The rows of some groups: their latest entries in one query, the grants' reasons in one."""
    latest = {
        entry.seq: entry for entry in AuditEntry.objects.filter(seq__in=[g["last_seq"] for g in groups]).only(*_FIELDS)
    }
    grant_ids = {grant_id for entry in latest.values() if (grant_id := _grant_id(entry.details)) is not None}
    reasons: dict[int, str] = {}
    if grant_ids:
        for found in BreakGlassGrant.objects.filter(pk__in=grant_ids, patient=patient):
            found.patient = patient  # the reason is encrypted with this patient's key: no reload
            reasons[found.pk] = found.readable_reason
    names: dict[int, str] = {}  # patients named in the page, each decrypted once
    result = []
    for group in groups:
        entry = latest[group["last_seq"]]
        display = entry.actor_display or {}
        details = entry.details if isinstance(entry.details, dict) else {}
        grant = _grant_id(details)
        result.append(
            AccessRow(
                at=entry.created_at,
                first_at=group["first_at"],
                count=group["count"],
                name=person_name(display, entry.actor_id, names=names) or _("Cordée (automatic)"),
                profession=_profession(display),
                rpps=str(display.get("rpps", "")),
                structure=str(details.get("structure", "")),
                purpose=purposes.purpose_label(entry.purpose, entry.action),
                break_glass=purposes.is_break_glass(entry.purpose) or grant is not None,
                reason=reasons.get(grant, "") if grant is not None else "",
            )
        )
    return result


def history_page(patient: Patient, page_number: Any, filters: Filters | None = None) -> tuple[Page, list[AccessRow]]:
    page = Paginator(grouped(patient, filters), ENTRIES_PER_PAGE).get_page(page_number)
    return page, rows(list(page.object_list), patient)


def all_rows(patient: Patient, filters: Filters | None = None, chunk: int = 500) -> Iterator[AccessRow]:
    """Every row (for the PDF), a chunk of groups at a time."""
    batch: list[dict[str, Any]] = []
    for group in grouped(patient, filters).iterator(chunk_size=chunk):
        batch.append(group)
        if len(batch) == chunk:
            yield from rows(batch, patient)
            batch = []
    if batch:
        yield from rows(batch, patient)


def people(patient: Patient) -> list[tuple[int, str]]:
    """Who appears in the history (for the filter): (user id, or 0 for Cordée itself; name)."""
    last = dict(access_entries(patient).values("actor_id").annotate(last=Max("seq")).values_list("actor_id", "last"))
    displays = AuditEntry.objects.filter(seq__in=list(last.values())).only("seq", "actor_id", "actor_display")
    names: dict[int, str] = {}
    found = [
        (entry.actor_id or 0, person_name(entry.actor_display, entry.actor_id, names=names) or _("Cordée (automatic)"))
        for entry in displays
    ]
    return sorted(found, key=lambda pair: pair[1].casefold())
