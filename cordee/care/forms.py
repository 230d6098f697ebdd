from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BreakGlassForm(forms.Form):
    """Emergency access: the patient's number and the written reason (checked by the service)."""

    identifier = forms.CharField(
        label=_("Patient number in Cordée"),
        max_length=32,
        help_text=_("The number shown on the patient's page (ask the team that treats them)."),
    )
    reason = forms.CharField(
        label=_("Reason for the emergency access"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,  # the service refuses an empty or short reason with its own words
        help_text=_("It is kept with the access and read by your structure's security officer."),
    )
