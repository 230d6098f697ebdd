"""What the record shows in the shell (``cordee.lib.modules``).

- On a patient's page (care's): a link to the record (documents and timeline).
- For patients: "My record" in the navigation, and a home card saying how many documents they see.
- The words of the record's audit purposes and actions in the patient's access history.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cordee.documents import purposes
from cordee.documents.access import documents_of
from cordee.lib import modules


def patient_home(request: HttpRequest) -> dict[str, Any] | None:
    """A patient's card: how many documents of her record she sees."""
    user: Any = request.user
    patient = getattr(user, "patient", None)  # the account's own identity (reverse one-to-one)
    if patient is None:
        return None
    return {"patient_id": patient.pk, "documents": documents_of(patient, "self").count()}


def register() -> None:
    modules.register_patient_link(
        modules.PatientLink(
            key="dossier",
            label=_("Record: documents and timeline"),
            url_name="documents:record",
            order=10,
        )
    )
    modules.register(
        modules.Entry(
            key="mon_dossier",
            label=_("My record"),
            url_name="documents:mine",
            description=_("The documents of your record shared with you, and those you provide"),
            icon="folder",
            kinds=frozenset({modules.PATIENT}),
            home=modules.HomeCard("documents/_home_patient.html", patient_home),
            order=35,
        )
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(
        {
            purposes.READ: _("Opened a document of your record"),
            purposes.DOWNLOADED: _("Downloaded a document of your record"),
            purposes.UPLOADED: _("Added a document to your record"),
            purposes.VERSIONED: _("Corrected a document of your record"),
            purposes.ENTERED_IN_ERROR: _("Marked a document of your record as entered in error"),
            purposes.VISIBILITY_CHANGED: _("Changed whether you see a document of your record"),
            purposes.SHARED: _("Shared a document of your record with the care team"),
            purposes.FILED: _("Added a file of a conversation to your record"),
            purposes.EXPORTED: _("Exported your whole record (ZIP)"),
        }
    )
