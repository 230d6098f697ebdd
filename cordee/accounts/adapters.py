"""allauth adapters: lockout, invitation-only sign-up, Pro Santé Connect mapping."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _

from cordee.accounts import psc
from cordee.accounts.models import Invitation
from cordee.accounts.services import lockout
from cordee.accounts.services import psc as psc_login

INVITATION_SESSION_KEY = "cordee_invitation_id"


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        email = credentials.get("email", "")
        if lockout.locked_until(email) or lockout.ip_throttled(self.get_client_ip(request)):
            # Same words whatever the cause, so that locks do not reveal which accounts exist.
            raise forms.ValidationError(
                _("Too many failed attempts. Try again in a few minutes or reset your password."),
                code="locked",
            )
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        lockout.do_record_failure(credentials.get("email", ""), self.get_client_ip(request), request=request)

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Sudo mode: a sign-in (password, and the second factor for professionals) within the
        re-authentication window counts as recent; later, dangerous actions ask again."""
        import time

        from allauth.account.internal.flows.login import get_authentication_records
        from allauth.core import context
        from django.conf import settings

        request = context.request
        if request is not None and request.user.is_authenticated:
            records = get_authentication_records(request, request.user)
            if records and time.time() - records[-1]["at"] < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT:
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Nobody signs up alone: an account starts from a structure's invitation."""
        return bool(request.session.get(INVITATION_SESSION_KEY))

    def is_email_verified(self, request: HttpRequest, email: str) -> bool:
        """The invitation link was sent to this address: following it proves the address."""
        invitation_id = request.session.get(INVITATION_SESSION_KEY)
        invitation = Invitation.objects.filter(pk=invitation_id).first() if invitation_id else None
        return invitation is not None and invitation.email == email.strip().lower()

    def get_client_ip(self, request: HttpRequest) -> str:
        # Behind the reverse proxy REMOTE_ADDR is the proxy; the proxy must set it right
        # (uvicorn --proxy-headers with FORWARDED_ALLOW_IPS), never trust a client header here.
        return request.META.get("REMOTE_ADDR", "")

    def get_login_stages(self) -> list[str]:
        # Pro Santé Connect (CPS / e-CPS) is itself two-factor: no second TOTP after it.
        return psc.login_stages(super().get_login_stages())


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return False  # Pro Santé Connect never creates accounts

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: Any) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Bind a Pro Santé Connect login to the verified professional with the same RPPS, or refuse."""
        if sociallogin.account.provider == psc.PROVIDER_ID:
            psc_login.check_login(request, sociallogin)
