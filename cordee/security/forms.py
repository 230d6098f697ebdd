"""The breach register's forms: the facts, timeline and decisions of an incident, and its scoping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import Structure, User
from cordee.security.models import Incident

NO_HEALTH_DATA = _("Do not write health data or patient names here: the register is kept unencrypted.")
WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

FACTS = [
    "title",
    "nature",
    "data_categories",
    "people_count",
    "records_count",
    "consequences",
    "measures_taken",
    "measures_proposed",
    "contact",
    "aware_at",
    "occurred_at",
    "contained_at",
    "notified_at",
    "cnil_decision",
    "cnil_reasoning",
    "patients_decision",
    "patients_reasoning",
]


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = FACTS
        labels = {
            "title": _("Short title"),
            "nature": _("Nature of the breach (what happened, how it was discovered)"),
            "data_categories": _("Categories of data concerned"),
            "people_count": _("Approximate number of people concerned"),
            "records_count": _("Approximate number of records concerned"),
            "consequences": _("Likely consequences for the people"),
            "measures_taken": _("Measures taken"),
            "measures_proposed": _("Measures proposed"),
            "contact": _("Contact point (data protection officer)"),
            "aware_at": _("Became aware on"),
            "occurred_at": _("Breach began on"),
            "contained_at": _("Contained on"),
            "notified_at": _("Notified to the CNIL on"),
            "cnil_decision": _("Notification to the CNIL (art. 33)"),
            "cnil_reasoning": _("Reasoning of the CNIL decision"),
            "patients_decision": _("Information of the patients (art. 34)"),
            "patients_reasoning": _("Reasoning of the patients decision"),
        }
        help_texts = {
            "nature": NO_HEALTH_DATA,
            "aware_at": _("The 72 hours to notify the CNIL run from this moment."),
            "cnil_reasoning": _("Required for a decision, in particular why no notification is made."),
            "patients_reasoning": _("Required for a decision, e.g. art. 34(3)(a): only encrypted data exposed."),
        }
        widgets = {name: WHEN for name in ("aware_at", "occurred_at", "contained_at", "notified_at")} | {
            name: forms.Textarea(attrs={"rows": 3}) for name in FACTS if name.endswith(("reasoning", "nature"))
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for decision, reasoning in (("cnil_decision", "cnil_reasoning"), ("patients_decision", "patients_reasoning")):
            if data.get(decision) not in (None, Incident.Decision.PENDING) and not (data.get(reasoning) or "").strip():
                self.add_error(reasoning, _("Give the reasoning of this decision."))
        aware, contained = data.get("aware_at"), data.get("contained_at")
        if aware and data.get("occurred_at") and data["occurred_at"] > aware:
            self.add_error("occurred_at", _("The breach cannot begin after you became aware of it."))
        if aware and contained and contained < (data.get("occurred_at") or contained):
            self.add_error("contained_at", _("The breach cannot be contained before it began."))
        if data.get("notified_at") and data.get("cnil_decision") == Incident.Decision.NO_NOTIFICATION:
            self.add_error("notified_at", _("A notification date contradicts the decision not to notify."))
        return data


class DeclareForm(IncidentForm):
    structure = forms.ModelChoiceField(queryset=Structure.objects.none(), label=_("Structure"))

    class Meta(IncidentForm.Meta):
        fields = ["structure", *FACTS]

    def __init__(self, *args: Any, structures: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["structure"].queryset = structures  # type: ignore[attr-defined]  # ModelChoiceField's


class ScopeForm(forms.Form):
    accounts = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        label=_("Compromised accounts"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.DateTimeField(label=_("From"), widget=WHEN)
    end = forms.DateTimeField(label=_("To"), widget=WHEN)
    database_dump = forms.BooleanField(
        label=_("A copy of the database (dump or backup) was taken"),
        required=False,
    )
    key_exposed = forms.BooleanField(
        label=_("The vault key (KEK) was exposed too"),
        required=False,
        help_text=_("The key encryption key never sits in the database: say whether it was taken as well."),
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = members  # type: ignore[attr-defined]  # ModelMultipleChoiceField's
        self.fields["accounts"].label_from_instance = lambda user: user.display_name  # type: ignore[attr-defined]  # same

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end of the window comes after its start."))
        if not data.get("accounts") and not data.get("database_dump"):
            raise forms.ValidationError(_("Say what was compromised: accounts, or a copy of the database."))
        return data


class ContainForm(forms.Form):
    PREFIX = "contain"  # beside the scoping form's own "accounts" on the incident page
    accounts = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        label=_("Compromised accounts"),
        widget=forms.CheckboxSelectMultiple,
    )
    actions = forms.MultipleChoiceField(
        label=_("Measures"),
        choices=[
            ("sessions", _("End their sessions (browsers and API)")),
            ("password", _("Force a password reset at the next sign-in")),
            ("factors", _("Remove their second factors (set up again at the next sign-in)")),
        ],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every measure ends the accounts' sessions."),
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = members  # type: ignore[attr-defined]  # ModelMultipleChoiceField's
        self.fields["accounts"].label_from_instance = lambda user: user.display_name  # type: ignore[attr-defined]  # same
