"""What imaging shows in the shell (``cordee.lib.modules``).

- On a patient's page: a link to her imaging studies (upload, viewer).
- For professionals: "Imaging to reconcile" (the inbox of their structures), with its count.
- For patients: "My imaging" (her studies and who opened them).
- The words of the imaging audit purposes and actions in the patient's access history.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.imaging import purposes
from cordee.imaging.models import Study
from cordee.lib import modules


def _waiting(user: Any) -> QuerySet[Study]:
    """The studies waiting for their patient in the structures of the user."""
    return Study.objects.filter(patient__isnull=True, structure__memberships__user=user)


def register() -> None:
    modules.register_patient_link(
        modules.PatientLink(
            key="imagerie", label=_("Imaging: studies and viewer"), url_name="imaging:studies", order=20
        )
    )
    modules.register(
        modules.Entry(
            key="imagerie",
            label=_("Imaging"),
            url_name="imaging:inbox",
            description=_("Studies received from devices and other systems that wait for their patient"),
            icon="scan",
            kinds=frozenset({modules.PROFESSIONAL}),
            chosen=True,
            default_for=frozenset({modules.PROFESSIONAL}),
            waiting=modules.Waiting(
                rows=_waiting,
                describe=lambda n: ngettext("%(n)d study to reconcile", "%(n)d studies to reconcile", n) % {"n": n},
            ),
            order=60,
        )
    )
    modules.register(
        modules.Entry(
            key="mon_imagerie",
            label=_("My imaging"),
            url_name="imaging:mine",
            description=_("Your imaging studies, and who opened them"),
            icon="scan",
            kinds=frozenset({modules.PATIENT}),
            order=37,
        )
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(purposes.ACTIONS)
