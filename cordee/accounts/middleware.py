"""Session and authentication policies applied to every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.middleware import get_user as get_request_user
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cordee.accounts import sessions
from cordee.accounts.psc import LOGIN_METHOD_SESSION_KEY
from cordee.accounts.sessions import LAST_SEEN_KEY, LOGIN_AT_KEY
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry

# Write the last-seen time at most this often, so that reads do not all become session writes.
_TOUCH_EVERY = 60
# Requests an open page makes by itself (counts, the session's state) carry this header: they do
# not keep an idle session alive.
BACKGROUND_HEADER = "X-Cordee-Background"


def _back_to(request: HttpRequest) -> str:
    """Where to return after signing in again: the page asked for, or, for a form sent after the
    end of the session, the page the form was on (its Referer, from this site only), so that the
    form can be filled again with what was typed (cordee/web/static/web/shell/idle.js)."""
    if request.method == "GET":
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, require_https=request.is_secure()):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with ``request.user`` read at once instead of behind a lazy object. Every dynamic
    request asks for the user (the idle-session check below does, first), so the laziness saved
    nothing, and each of the ~130 reads of ``request.user``'s attributes in a light signed-in
    request went through the proxy: 8 % of its instructions (callgrind, bench/http)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = get_request_user(request)  # Django's, which the lazy object would have called


class IdleSessionTimeoutMiddleware:
    """Ends a session left idle longer than SESSION_IDLE_TIMEOUT_SECONDS, or signed in longer ago
    than SESSION_MAX_AGE_SECONDS (whatever the activity since: Django's own expiry slides)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if sessions.is_expired(request.session, now):
                logout(request)  # deletes the session: its sockets close too
                request.session["cordee_expired"] = True
                query = urlencode({"expired": 1, "next": _back_to(request)})
                return redirect(f"{reverse('account_login')}?{query}")
            session = request.session
            if request.headers.get(BACKGROUND_HEADER) == "1":
                return self.get_response(request)  # a tab refreshing its counts is not activity
            if LOGIN_AT_KEY not in session:  # a session from before this rule: its age counts from now
                session[LOGIN_AT_KEY] = now
            if now - session.get(LAST_SEEN_KEY, now) >= _TOUCH_EVERY or LAST_SEEN_KEY not in session:
                session[LAST_SEEN_KEY] = now
                _touch_user_session(request, user)
        return self.get_response(request)


def _touch_user_session(request: HttpRequest, user: Any) -> None:
    """The sessions page's "last seen", address and device, at most once a minute per session
    (allauth's own tracking wrote this row on every request: USERSESSIONS_TRACK_ACTIVITY is off)."""
    if request.session.session_key:
        UserSession.objects.create_from_request(request, user=user)


def has_mfa(user: Any) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def session_used_second_factor(request: HttpRequest, user: Any) -> bool:
    """Whether *this session* passed a second factor: allauth's record of the sign-in's methods
    holds an ``mfa`` step, or the sign-in was Pro Santé Connect (itself two-factor).

    Having an authenticator is not enough: a sign-in that skipped the factor (the Django admin's
    own login form did) must not count because the account has one.
    """
    if request.session.get(LOGIN_METHOD_SESSION_KEY) == "psc":
        return True
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


class MandatoryMfaMiddleware:
    """Professionals and staff cannot use Cordée before this session has passed a second factor.

    - The session used one at sign-in (or set one up just now, ``signals.factor_added``): it passes.
    - The account has a factor but this session did not use it: the session is ended and the
      person signs in again, through the login that asks for it (audited as a refusal).
    - The account has none yet: every page sends to the set-up; only the set-up pages, the logout,
      the language switch and static files stay reachable. There is no "later" button.
    """

    ALLOWED_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/reauthenticate/", "/i18n/", "/static/")
    # Files every page loads (the PWA's manifest, the service worker, the icon), which hold no data.
    ALLOWED_PATHS = frozenset({"/manifest.webmanifest", "/sw.js", "/favicon.ico", "/accessibilite/"})
    SESSION_KEY = "cordee_mfa_ok"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @classmethod
    def passed(cls, user: Any, session: Any) -> bool:
        """Whether ``session`` may use Cordée as far as the second factor goes (it has passed one,
        or the account needs none): what pages and sockets beyond the set-up ask."""
        return not user.mfa_mandatory or bool(session.get(cls.SESSION_KEY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.mfa_mandatory
            and not request.session.get(self.SESSION_KEY)
        ):
            if session_used_second_factor(request, user):
                request.session[self.SESSION_KEY] = True
            elif has_mfa(user):
                return self._refuse_without_factor(request, user)
            elif not request.path.startswith(self.ALLOWED_PREFIXES) and request.path not in self.ALLOWED_PATHS:
                return redirect(reverse("mfa_activate_totp") + "?required=1")
        return self.get_response(request)

    @staticmethod
    def _refuse_without_factor(request: HttpRequest, user: Any) -> HttpResponse:
        with transaction.atomic():
            audit.record(
                "login.refused",
                actor=user,
                request=request,
                target=user,
                outcome=AuditEntry.Outcome.DENIED,
                details={"reason": "second_factor_not_used"},
            )
            logout(request)
        return redirect(f"{reverse('account_login')}?mfa=1")


class AtomicAccountPostsMiddleware:
    """Account changes posted to allauth's views commit in one transaction with their audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path.startswith("/accounts/"):
            with transaction.atomic():
                return self.get_response(request)
        return self.get_response(request)
