from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BreakGlassForm(forms.Form):
    """Emergency access: the patient's number and the written reason (checked by the service)."""

    identifier = forms.CharField(
        label=_("INS or patient number in Cordée"),
        max_length=32,
        help_text=_(
            "The patient's INS (15 characters, as on their carte Vitale or from INSi), "
            "or the number shown on the patient's page."
        ),
    )
    reason = forms.CharField(
        label=_("Reason for the emergency access"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,  # the service refuses an empty or short reason with its own words
        help_text=_("It is kept with the access and read by your structure's security officer."),
    )
