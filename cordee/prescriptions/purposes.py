"""Why a prescription is read or changed: purposes and actions of the audit trail.

Their words, shown to the patient in her access history, are registered from ``shell.register``.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

WRITE = "prescription.write"  # writing or checking a draft
VIEW = "prescription.view"
SIGN = "prescription.sign"
CANCEL = "prescription.cancel"
RENEW = "prescription.renew"
VERIFY = "prescription.verify"  # a pharmacist opening it by id or QR
DISPENSE = "prescription.dispense"

# Audit actions.
READ = "prescription.read"
DRAFTED = "prescription.drafted"
EDITED = "prescription.edited"
OVERRIDDEN = "prescription.contraindication_overridden"
SIGNED = "prescription.signed"
CANCELLED = "prescription.cancelled"
RENEWED = "prescription.renewed"
VERIFIED = "prescription.verified"
DISPENSED = "prescription.dispensed"
DISPENSE_REFUSED = "prescription.dispense_refused"

LABELS: dict[str, str | Promise] = {
    WRITE: _("Wrote a prescription for you"),
    VIEW: _("Opened one of your prescriptions"),
    SIGN: _("Signed a prescription for you"),
    CANCEL: _("Cancelled one of your prescriptions"),
    RENEW: _("Renewed one of your prescriptions"),
    VERIFY: _("A pharmacist opened one of your prescriptions"),
    DISPENSE: _("A pharmacist dispensed one of your prescriptions"),
}
ACTION_LABELS: dict[str, str | Promise] = {
    READ: _("Opened one of your prescriptions"),
    DRAFTED: _("Started a prescription for you"),
    EDITED: _("Changed a draft prescription for you"),
    OVERRIDDEN: _("Prescribed despite a contraindication, with a reason"),
    SIGNED: _("Signed a prescription for you"),
    CANCELLED: _("Cancelled one of your prescriptions"),
    RENEWED: _("Renewed one of your prescriptions"),
    VERIFIED: _("A pharmacist checked one of your prescriptions"),
    DISPENSED: _("A pharmacist dispensed one of your prescriptions"),
    DISPENSE_REFUSED: _("A dispensing of one of your prescriptions was refused"),
}
