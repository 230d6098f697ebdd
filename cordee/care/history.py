"""A patient's access history, read from the audit trail.

Rows are the ``access`` entries about the patient, newest first, except the patient's own
actions. Everything shown comes from the entries' display copies (name, profession, RPPS,
structure at the time), never from joins to accounts that may have changed or gone; a patient
named as an actor is only an id there, and their name is decrypted when shown. The query
count does not depend on the number of entries: one count and one page (or one pass for the PDF).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cordee.accounts.display import person_name
from cordee.accounts.models import Patient, User
from cordee.audit.models import AuditEntry
from cordee.care import purposes

ENTRIES_PER_PAGE = 50
_FIELDS = ("seq", "created_at", "action", "actor_id", "actor_display", "purpose", "details")


@dataclass(frozen=True)
class AccessRow:
    at: dt.datetime
    name: str
    profession: str
    rpps: str
    structure: str
    purpose: str
    break_glass: bool


def access_entries(patient: Patient) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(patient_id=patient.pk, category=AuditEntry.Category.ACCESS)
    if patient.user_id is not None:
        entries = entries.exclude(actor_id=patient.user_id)
    return entries.order_by("-seq").only(*_FIELDS)


def _profession(display: dict[str, Any]) -> str:
    role = str(display.get("role", ""))
    kinds = dict(User.Kind.choices)
    return str(kinds[role]) if role in kinds else role


def to_row(entry: AuditEntry, names: dict[int, str] | None = None) -> AccessRow:
    display = entry.actor_display or {}
    details = entry.details if isinstance(entry.details, dict) else {}
    return AccessRow(
        at=entry.created_at,
        name=person_name(display, entry.actor_id, names=names) or _("Cordée (automatic)"),
        profession=_profession(display),
        rpps=str(display.get("rpps", "")),
        structure=str(details.get("structure", "")),
        purpose=purposes.purpose_label(entry.purpose or entry.action),
        break_glass=purposes.is_break_glass(entry.purpose),
    )


def rows(entries: Iterable[AuditEntry]) -> list[AccessRow]:
    names: dict[int, str] = {}  # patients named in the page, each decrypted once
    return [to_row(entry, names) for entry in entries]


def history_page(patient: Patient, page_number: Any) -> tuple[Page, list[AccessRow]]:
    page = Paginator(access_entries(patient), ENTRIES_PER_PAGE).get_page(page_number)
    return page, rows(page.object_list)
