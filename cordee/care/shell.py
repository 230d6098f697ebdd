"""What the care relationship shows in the shell (``cordee.lib.modules``).

- "Patients", for whom the care relationship may open patient data (verified professionals, staff
  acting for one): an administrator or a security officer who treats nobody does not see it.
- For patients: who accessed their data (the access history), with a home card.
- The global search's patient section: a birth name and a birth date, looked up through the
  identity's blind index; only patients the user may open are shown, and each one shown is a read
  of that patient, audited as the patient list audits the names it shows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cordee.accounts.guards import can_open_patient_data
from cordee.accounts.services import find_patients_by_name_and_birth_date
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.access import access_found_patients
from cordee.lib import modules

SEARCH_LIMIT = 8
_DATE = re.compile(r"^(?:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))$")
RECENT_DAYS = 30


def parse_name_and_birth_date(text: str) -> tuple[str, dt.date] | None:
    """("Bernard", 1985-07-14) from "Bernard 14/07/1985" (or the date first, or 1985-07-14)."""
    name_words, birth_date = [], None
    for word in text.split():
        found = _DATE.match(word)
        if found is None:
            name_words.append(word)
            continue
        day, month, year = (found[1], found[2], found[3]) if found[1] else (found[6], found[5], found[4])
        try:
            birth_date = dt.date(int(year), int(month), int(day))
        except ValueError:
            return None
    if birth_date is None or not name_words:
        return None
    return " ".join(name_words), birth_date


def search_patients(request: HttpRequest, text: str) -> list[modules.SearchHit]:
    user: Any = request.user
    parsed = parse_name_and_birth_date(text)
    if parsed is None:
        return []
    hits = []
    found = find_patients_by_name_and_birth_date(*parsed)[:SEARCH_LIMIT]
    for patient in access_found_patients(user, found, purpose=purposes.PATIENT_SEARCH, request=request):
        born = formats.date_format(patient.birth_date, "SHORT_DATE_FORMAT")
        hits.append(
            modules.SearchHit(
                f"{patient.birth_name} {patient.birth_given_names}",
                reverse("care:patient", args=[patient.pk]),
                _("born on %(date)s · patient number %(n)s") % {"date": born, "n": patient.pk},
            )
        )
    return hits


def _may_search_patients(user: Any) -> bool:
    return can_open_patient_data(user)


def patient_home(request: HttpRequest) -> dict[str, Any] | None:
    """A patient's card: who accessed their data lately, and where to see it all."""
    user: Any = request.user
    patient = getattr(user, "patient", None)  # the account's own identity (reverse one-to-one)
    if patient is None:
        return None
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    recent = (
        AuditEntry.objects.filter(patient_id=patient.pk, category=AuditEntry.Category.ACCESS, created_at__gte=since)
        .exclude(actor_id=user.pk)
        .count()
    )
    return {"patient_id": patient.pk, "recent": recent, "days": RECENT_DAYS}


def register() -> None:
    modules.register(
        modules.Entry(
            key="patients",
            label=gettext_lazy("Patients"),
            url_name="care:patients",
            icon="people",
            kinds=modules.WORKFORCE,
            applies=can_open_patient_data,
            order=30,
        )
    )
    modules.register(
        modules.Entry(
            key="mes_donnees",
            label=gettext_lazy("My access history"),
            url_name="care:my_history",
            icon="eye",
            kinds=frozenset({modules.PATIENT}),
            home=modules.HomeCard("care/_home_patient.html", patient_home),
            order=40,
        )
    )
    modules.register_search(
        modules.Search(
            key="patients",
            label=gettext_lazy("Patients"),
            search=search_patients,
            kinds=modules.WORKFORCE,
            applies=_may_search_patients,
            hint=gettext_lazy("a patient: birth name and birth date (BERNARD 14/07/1985)"),
            order=10,
        )
    )
