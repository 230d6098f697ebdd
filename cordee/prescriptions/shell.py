"""What the prescriptions show in the shell (``cordee.lib.modules``).

- On a patient's page: a link to her prescriptions (write one, see their status).
- For patients: "My prescriptions" in the navigation.
- For verified pharmacists: "Dispense a prescription" (type the number or scan the QR).
- The words of the audit purposes and actions in the patient's access history.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cordee.lib import modules
from cordee.prescriptions import purposes
from cordee.prescriptions.access import is_pharmacist


def _pharmacist(user: Any) -> bool:
    return is_pharmacist(user)


def register() -> None:
    modules.register_patient_link(
        modules.PatientLink(key="ordonnances", label=_("Prescriptions"), url_name="prescriptions:patient", order=20)
    )
    modules.register(
        modules.Entry(
            key="mes_ordonnances",
            label=_("My prescriptions"),
            url_name="prescriptions:mine",
            description=_("Your prescriptions, their status and their PDF"),
            icon="prescription",
            kinds=frozenset({modules.PATIENT}),
            order=36,
        )
    )
    modules.register(
        modules.Entry(
            key="dispensation",
            label=_("Dispense a prescription"),
            url_name="prescriptions:pharmacy",
            description=_("Open a prescription by its number or QR code and dispense it"),
            icon="prescription",
            kinds=frozenset({modules.PROFESSIONAL}),
            applies=_pharmacist,
            order=37,
        )
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(purposes.ACTION_LABELS)
