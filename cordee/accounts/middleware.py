"""Session and authentication policies applied to every request."""

from __future__ import annotations

import time
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

LAST_SEEN_KEY = "cordee_last_seen"
# Write the last-seen time at most this often, so that reads do not all become session writes.
_TOUCH_EVERY = 60


class IdleSessionTimeoutMiddleware:
    """Ends a session left idle longer than SESSION_IDLE_TIMEOUT_SECONDS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                logout(request)
                request.session["cordee_expired"] = True
                return redirect(f"{reverse('account_login')}?expired=1")
            if now - last_seen >= _TOUCH_EVERY or LAST_SEEN_KEY not in request.session:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def has_mfa(user) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


class MandatoryMfaMiddleware:
    """Professionals and staff cannot use Cordée before they have set up a second factor.

    Until then every page sends them to the MFA set-up; only the set-up pages themselves, the
    logout, the language switch and static files stay reachable. There is no "later" button.
    """

    ALLOWED_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/reauthenticate/", "/i18n/", "/static/")
    SESSION_KEY = "cordee_mfa_ok"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.mfa_mandatory
            and not request.session.get(self.SESSION_KEY)
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and request.path not in ("/manifest.webmanifest",)
        ):
            if has_mfa(user) or request.session.get("cordee_login_method") == "psc":
                request.session[self.SESSION_KEY] = True
            else:
                return redirect(reverse("mfa_activate_totp") + "?required=1")
        return self.get_response(request)


class AtomicAccountPostsMiddleware:
    """Account changes posted to allauth's views commit in one transaction with their audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path.startswith("/accounts/"):
            with transaction.atomic():
                return self.get_response(request)
        return self.get_response(request)
