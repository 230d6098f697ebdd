"""Audit receivers for authentication events raised by Django and allauth.

Account POSTs run in one transaction (``AtomicAccountPostsMiddleware``), so these entries are
committed together with the change they describe, or not at all.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set, user_signed_up
from allauth.core import context
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cordee.accounts import sessions
from cordee.accounts.adapters import INVITATION_SESSION_KEY
from cordee.accounts.middleware import MandatoryMfaMiddleware, has_mfa
from cordee.accounts.models import User
from cordee.accounts.services import lockout
from cordee.audit import services as audit


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    lockout.do_clear(user.email)
    if hasattr(request, "session"):
        request.session[sessions.LOGIN_AT_KEY] = int(time.time())  # the maximum age counts from here
    method = request.session.get("cordee_login_method", "password")
    audit.record("login.success", actor=user, request=request, target=user, details={"method": method})


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record("logout", actor=user, request=request, target=user)


# allauth sends authenticator_added/removed after commit; model signals fire inside the
# transaction that adds or removes the factor, so the audit entry commits with it.
@receiver(post_save, sender=Authenticator)
def audit_mfa_added(sender: Any, instance: Authenticator, created: bool, **kwargs: Any) -> None:
    if created:
        request = context.request
        audit.record(
            "mfa.added", actor=instance.user, request=request, target=instance.user, details={"type": instance.type}
        )
        if _is_own_session(request, instance.user) and instance.type in _SECOND_FACTORS:
            # Setting the factor up proved it (a valid code, or the key's signature): this session
            # has used a second factor (``MandatoryMfaMiddleware``).
            request.session[MFA_SESSION_KEY] = True


@receiver(post_delete, sender=Authenticator)
def audit_mfa_removed(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    request = context.request
    if request is not None and hasattr(request, "session"):
        request.session.pop(MFA_SESSION_KEY, None)  # re-check that a second factor remains
    user = instance.user
    if user.mfa_mandatory and not has_mfa(user):
        # The last factor is gone: no session of the account passes any more (pages send it to
        # the set-up; open sockets close).
        sessions.invalidate_user_sessions(user.pk, "last_factor_removed")
    audit.record(
        "mfa.removed", actor=instance.user, request=request, target=instance.user, details={"type": instance.type}
    )


_SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
MFA_SESSION_KEY = MandatoryMfaMiddleware.SESSION_KEY


def _is_own_session(request: Any, user: Any) -> bool:
    return (
        request is not None
        and hasattr(request, "session")
        and getattr(getattr(request, "user", None), "pk", None) == user.pk
    )


@receiver(mfa_signals.authenticator_reset)
def audit_mfa_reset(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit.record("mfa.reset", actor=user, request=request, target=user, details={"type": authenticator.type})


@receiver(mfa_signals.authentication_failed)
def audit_mfa_failed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit.record(
        "mfa.failed", actor=None, request=request, target=user, outcome="failure", details={"type": authenticator.type}
    )


@receiver(password_changed)
def audit_password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record("password.changed", actor=user, request=request, target=user)
    sessions.invalidate_user_sessions(user.pk, "password_changed")


@receiver(password_reset)
def audit_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record("password.reset", actor=user, request=request, target=user)
    sessions.invalidate_user_sessions(user.pk, "password_reset")


@receiver(password_set)
def end_sessions_on_password_set(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    sessions.invalidate_user_sessions(user.pk, "password_set")


@receiver(post_save, sender=User, dispatch_uid="accounts.deactivated")
def end_sessions_of_inactive_account(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    """A deactivated account keeps no open socket (its pages already refuse it)."""
    if not created and not instance.is_active:
        sessions.invalidate_user_sessions(instance.pk, "deactivated")


@receiver(user_signed_up)
def forget_invitation(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    request.session.pop(INVITATION_SESSION_KEY, None)
