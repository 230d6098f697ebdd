"""Why patient data is read: the purpose codes written to the audit trail, and their labels.

``access_patient`` writes the caller's purpose code into the audit entry; the patient's access
history shows its label. A read under a break-the-glass grant is written as
``"break-the-glass: <purpose>"`` so that the emergency is visible in every entry it opens.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PATIENT_VIEW = "patient.view"
PATIENT_LIST = "patient.list"
ACCESS_HISTORY = "patient.access_history"
ACCESS_HISTORY_EXPORT = "patient.access_history.export"
CARE_TEAM_CHANGE = "care_team.change"
OPPOSITION = "care.opposition"
BREAK_GLASS = "break-the-glass"
BREAK_GLASS_PREFIX = BREAK_GLASS + ": "

# Audit actions of the reads (``access_patient``): a read, and an export (PDF, download).
READ = "patient.read"
EXPORT = "patient.export"

_LABELS: dict[str, str | Promise] = {
    PATIENT_VIEW: _("Opened the patient record (identity, care team)"),
    PATIENT_LIST: _("Saw the name in their patient list"),
    ACCESS_HISTORY: _("Viewed the access history"),
    ACCESS_HISTORY_EXPORT: _("Downloaded the access history (PDF)"),
    CARE_TEAM_CHANGE: _("Changed the care team"),
    OPPOSITION: _("Recorded or withdrew an opposition to sharing"),
    BREAK_GLASS: _("Opened an emergency access (break-the-glass)"),
}


def is_break_glass(purpose: str) -> bool:
    return purpose == BREAK_GLASS or purpose.startswith(BREAK_GLASS_PREFIX)


def under_break_glass(purpose: str) -> str:
    return BREAK_GLASS_PREFIX + purpose


def purpose_label(purpose: str) -> str:
    """The words shown to a patient for a purpose code (the code itself when it is unknown)."""
    if purpose.startswith(BREAK_GLASS_PREFIX):
        purpose = purpose[len(BREAK_GLASS_PREFIX) :]
    return str(_LABELS.get(purpose, purpose))
