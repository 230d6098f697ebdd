"""The 72-hour clock of an incident (RGPD art. 33(1)): from awareness to the CNIL's notification.

Pure functions of the incident and ``now`` (tests pass their own clock). The clock stops when the
CNIL was notified, or when the officer decided, with their reasoning, that no notification is due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from cordee.security.models import Incident

DEADLINE = dt.timedelta(hours=72)
REMINDERS = (24, 48)  # hours after awareness


@dataclass(frozen=True)
class Clock:
    deadline: dt.datetime
    state: str  # "running", "overdue", "notified", "not_required"
    left: dt.timedelta  # negative once overdue
    text: str

    @property
    def urgent(self) -> bool:
        return self.state == "overdue" or (self.state == "running" and self.left <= dt.timedelta(hours=24))


def _hours(delta: dt.timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)02d min") % {"h": hours, "m": minutes}


def clock(incident: Incident, now: dt.datetime) -> Clock:
    deadline = incident.aware_at + DEADLINE
    if incident.notified_at is not None:
        late = incident.notified_at > deadline
        text = _("Notified to the CNIL after %(t)s") % {"t": _hours(incident.notified_at - incident.aware_at)}
        if late:
            text += " — " + _("late: give the reasons for the delay (art. 33(1))")
        return Clock(deadline, "notified", deadline - incident.notified_at, text)
    if incident.cnil_decision == Incident.Decision.NO_NOTIFICATION:
        return Clock(deadline, "not_required", deadline - now, _("No notification (decision recorded)"))
    left = deadline - now
    if left < dt.timedelta(0):
        return Clock(deadline, "overdue", left, _("Overdue by %(t)s") % {"t": _hours(left)})
    return Clock(deadline, "running", left, _("%(t)s left to notify the CNIL") % {"t": _hours(left)})


def reminders_due(incident: Incident, now: dt.datetime) -> list[int]:
    """The reminders (24, 48) whose hour has come and that were not sent yet."""
    if clock(incident, now).state not in ("running", "overdue"):
        return []
    sent = {24: incident.reminded_24h_at, 48: incident.reminded_48h_at}
    return [h for h in REMINDERS if sent[h] is None and now >= incident.aware_at + dt.timedelta(hours=h)]
