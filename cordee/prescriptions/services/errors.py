"""The errors of the prescription services: one table, read by pages and the API alike."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cordee.lib.errors import CodedError
from cordee.prescriptions.bdpm import LineError
from cordee.prescriptions.posology import PosologyError

ERRORS = {
    "not_found": (404, _("This prescription does not exist or is not open to you.")),
    "not_prescriber": (
        403,
        _("Only a verified prescriber (doctor, dentist, midwife) may write or sign a prescription."),
    ),
    "not_pharmacist": (403, _("Only a verified pharmacist may dispense a prescription.")),
    "not_draft": (409, _("This prescription is signed: it can no longer be changed.")),
    "unknown_code": (400, _("This medicine is not in the drug database (unknown CIS, CIP13 or substance code).")),
    "withdrawn": (400, _("This medicine is no longer authorised or marketed.")),
    "kind": (400, _("Choose a medicine, a substance (INN) or a free-text line.")),
    "text": (400, _("Write what is prescribed.")),
    "dose": (400, _("Give a dose greater than zero.")),
    "times": (400, _("Give how many times per day, week or month (at least once).")),
    "duration": (400, _("Give a duration between 1 and 366 days.")),
    "quantity": (400, _("Give a quantity of at least one.")),
    "renewals": (400, _("Renewals: between 0 and 11.")),
    "non_substitution": (400, _("Non-substitution needs one of the legal reasons: MTE, EFG or CIF.")),
    "too_many_lines": (400, _("A prescription holds at most 30 lines.")),
    "empty": (400, _("Add at least one line before signing.")),
    "blocked": (400, _("The checks found problems that prevent signing; see the list.")),
    "override_reason": (400, _("A contraindication needs a reason to prescribe anyway.")),
    "weight": (400, _("Give the weight in kilograms (between 0.3 and 400).")),
    "signing": (503, _("The prescription could not be signed; nothing was changed. Try again.")),
    "reason": (400, _("Say why the prescription is cancelled.")),
    "not_cancellable": (409, _("This prescription can no longer be cancelled (dispensed, cancelled or not signed).")),
    "cancelled": (409, _("This prescription was cancelled by its prescriber: it cannot be dispensed.")),
    "expired": (409, _("This prescription has expired: it cannot be dispensed.")),
    "dispensed": (409, _("This line was already dispensed in full (renewals included).")),
    "too_much": (409, _("This is more than what remains to be dispensed on this line.")),
    "changed": (409, _("Another pharmacist dispensed this line at the same moment; nothing was recorded. Reload it.")),
    "box": (400, _("This box (CIP13) is not the prescribed medicine nor a generic of its group.")),
    "non_substituable": (400, _("This line is non-substitutable: dispense the prescribed product.")),
    "free_line": (400, _("A free-text line is not dispensed by a pharmacy.")),
    "line": (404, _("This line is not on this prescription.")),
}


class PrescriptionError(CodedError):
    ERRORS = ERRORS


LineError.ERRORS = ERRORS
PosologyError.ERRORS = ERRORS
