"""Why patient data is read: the purpose codes written to the audit trail, and their labels.

``access_patient`` writes the caller's purpose code into the audit entry; the patient's access
history shows its label. A read under a break-the-glass grant is written as
``"break-the-glass: <purpose>"`` so that the emergency is visible in every entry it opens.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cordee.lib import modules

PATIENT_VIEW = "patient.view"
PATIENT_LIST = "patient.list"
PATIENT_SEARCH = "patient.search"  # found through the global search (name and birth date)
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
    PATIENT_SEARCH: _("Found the patient by searching their name and birth date"),
    ACCESS_HISTORY: _("Viewed the access history"),
    ACCESS_HISTORY_EXPORT: _("Downloaded the access history (PDF)"),
    CARE_TEAM_CHANGE: _("Changed the care team"),
    OPPOSITION: _("Recorded or withdrew an opposition to sharing"),
    BREAK_GLASS: _("Opened an emergency access (break-the-glass)"),
}


# Entries written without a purpose of the list above (or with a free text, as the erasure's
# reason) are labelled by their action.
_ACTION_LABELS: dict[str, str | Promise] = {
    READ: _("Opened your data"),
    EXPORT: _("Exported your data"),
    "patient.registered": _("Registered your identity"),
    "patient.identity_status_changed": _("Changed the status of your identity"),
    "patient.invited": _("Invited you to Cordée"),
    "patient.account_linked": _("Your Cordée account was linked to your identity"),
    "care.member_added": _("Added someone to your care team"),
    "care.member_removed": _("Removed someone from your care team"),
    "care.opposition_recorded": _("Recorded an opposition to sharing"),
    "care.opposition_withdrawn": _("Withdrew an opposition to sharing"),
    "care.break_glass": _("Opened an emergency access (break-the-glass)"),
    "care.break_glass_ended": _("Ended an emergency access after its review"),
    "vault.shredded": _("Erased your data"),
}
OTHER = _("Another access to your data")


def is_break_glass(purpose: str) -> bool:
    return purpose == BREAK_GLASS or purpose.startswith(BREAK_GLASS_PREFIX)


def under_break_glass(purpose: str) -> str:
    return BREAK_GLASS_PREFIX + purpose


def purpose_label(purpose: str, action: str = "") -> str:
    """The words shown to a patient for an entry's purpose code, else for its action; never a code.

    Apps above ``care`` register the words of their own purposes in ``cordee.lib.modules``.
    """
    if purpose.startswith(BREAK_GLASS_PREFIX):
        purpose = purpose[len(BREAK_GLASS_PREFIX) :]
    label = _LABELS.get(purpose) or modules.purpose_label(purpose)
    label = label or _ACTION_LABELS.get(action) or modules.purpose_label(action)
    return str(label or OTHER)
