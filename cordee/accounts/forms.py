from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cordee.accounts.models import Membership, User

if TYPE_CHECKING:
    from cordee.accounts.models import Invitation


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    kind = forms.ChoiceField(label=_("Kind of account"), choices=User.Kind.choices)
    role = forms.ChoiceField(
        label=_("Role in the structure"),
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        help_text=_("A patient is always a member. To invite a patient of yours, use the patient's page."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == User.Kind.PATIENT and cleaned.get("role") == Membership.Role.ADMIN:
            self.add_error("role", _("A patient cannot administer a structure."))
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class SignupForm(forms.Form):
    """Extra sign-up fields (allauth ACCOUNT_SIGNUP_FORM_CLASS); which apply depends on the invitation."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    rpps = forms.CharField(
        label=_("RPPS number"),
        max_length=20,
        required=False,
        help_text=_("11 digits, on your professional card (CPS)."),
    )
    profession_code = forms.ChoiceField(label=_("Profession"), required=False)
    specialty = forms.CharField(label=_("Specialty"), max_length=120, required=False)
    function = forms.ChoiceField(label=_("Function"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Imports here: allauth loads this form while its own forms module loads (ACCOUNT_SIGNUP_FORM_CLASS),
        # and these modules import allauth's back (a cycle).
        from cordee.accounts.models import Staff
        from cordee.accounts.professions import PROFESSION_CHOICES

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["profession_code"]).choices = [("", "—"), *PROFESSION_CHOICES]
        cast(forms.ChoiceField, self.fields["function"]).choices = [("", "—"), *Staff.Function.choices]
        self.invitation = self._invitation()
        kind = self.invitation.kind if self.invitation else None
        if kind != User.Kind.PROFESSIONAL:
            for name in ("rpps", "profession_code", "specialty"):
                del self.fields[name]
        else:
            self.fields["rpps"].required = True
            self.fields["profession_code"].required = True
        if kind == User.Kind.PATIENT:
            # A patient's name lives only in their encrypted identity, never on the account.
            del self.fields["first_name"], self.fields["last_name"]
        if kind != User.Kind.STAFF:
            del self.fields["function"]
        else:
            self.fields["function"].required = True
        if self.invitation and "email" in self.fields:
            self.fields["email"].initial = self.invitation.email

    def _invitation(self) -> Invitation | None:
        from allauth.core import context

        # Here: the adapters import allauth's forms, which load this form (a cycle).
        from cordee.accounts.adapters import INVITATION_SESSION_KEY
        from cordee.accounts.models import Invitation

        request = context.request
        invitation_id = request.session.get(INVITATION_SESSION_KEY) if request is not None else None
        invitation = Invitation.objects.filter(pk=invitation_id).first() if invitation_id else None
        return invitation if invitation is not None and invitation.is_pending else None

    def clean_rpps(self) -> str:
        # Here, as in __init__: allauth's forms load this module (a cycle).
        from cordee.accounts.identifiers import validate_rpps
        from cordee.accounts.models import Professional

        rpps = validate_rpps(self.cleaned_data["rpps"])
        if Professional.objects.filter(rpps=rpps).exists():
            raise forms.ValidationError(_("An account already exists for this RPPS number."))
        return rpps

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.invitation is None:
            raise forms.ValidationError(_("Accounts are created from an invitation only."))
        email = (cleaned.get("email") or "").strip().lower()
        if email and email != self.invitation.email:
            self.add_error("email", _("Use the address the invitation was sent to."))
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        from cordee.accounts.services.onboarding import do_complete_signup  # here: services → allauth (a cycle)

        if self.invitation is None:  # clean() refused the form already
            raise forms.ValidationError(_("Accounts are created from an invitation only."))
        do_complete_signup(request, user, self.invitation, self.cleaned_data)
