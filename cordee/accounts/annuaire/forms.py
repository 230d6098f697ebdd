from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Uploads above this size are refused; a national extraction is imported with
# ``manage.py import_annuaire`` instead. Override with the ANNUAIRE_UPLOAD_MAX_BYTES setting.
DEFAULT_UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def upload_max_bytes() -> int:
    return settings.ANNUAIRE_UPLOAD_MAX_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Extraction file (PS_LibreAcces_Personne_activite_….txt)"),
        help_text=_("The text file from annuaire.sante.fr, unzipped, or an excerpt of it with its header line."),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.csv,text/plain"}),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        limit = upload_max_bytes()
        if uploaded.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB: import it with the import_annuaire command, or send an excerpt.")
                % {"mb": limit // (1024 * 1024)}
            )
        return uploaded


class VerifyForm(forms.Form):
    entry = forms.IntegerField(min_value=1)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
