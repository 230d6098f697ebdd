"""Login throttling and account lockout, kept in the database.

Failures are counted per e-mail and per client address over a sliding window. Past the
threshold the account is locked for a while; an address that fails too often on any account is
throttled too. Both survive restarts and are shared by every process, SQLite included.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.accounts.models import AccountLock, LoginFailure
from cordee.audit import services as audit


def normalise(email: str) -> str:
    return (email or "").strip().lower()[:254]


def locked_until(email: str) -> dt.datetime | None:
    lock = AccountLock.objects.filter(email=normalise(email), locked_until__gt=timezone.now()).first()
    return lock.locked_until if lock else None


def ip_throttled(ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW_SECONDS)
    return LoginFailure.objects.filter(ip=ip, at__gte=since).count() >= settings.LOGIN_IP_THROTTLE


def do_record_failure(email: str, ip: str | None, request: HttpRequest | None = None) -> bool:
    """Count one failed attempt; returns True when it locks the account."""
    email = normalise(email)
    now = timezone.now()
    since = now - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW_SECONDS)
    with transaction.atomic():
        LoginFailure.objects.create(email=email, ip=ip, at=now)
        audit.record(
            "login.failed",
            actor=None,
            request=request,
            target_type="account",
            target_id=email,
            target_display=email,
            outcome="failure",
        )
        failures = LoginFailure.objects.filter(email=email, at__gte=since).count()
        if failures < settings.LOGIN_LOCKOUT_THRESHOLD or locked_until(email):
            return False
        until = now + dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        AccountLock.objects.update_or_create(email=email, defaults={"locked_until": until})
        audit.record(
            "login.lockout",
            actor=None,
            request=request,
            target_type="account",
            target_id=email,
            target_display=email,
            outcome="denied",
            details={"failures": failures, "locked_until": until.isoformat()},
        )
        return True


def do_clear(email: str) -> None:
    """A successful login forgets this account's failures (not the address's)."""
    email = normalise(email)
    with transaction.atomic():
        LoginFailure.objects.filter(email=email).update(email="")
        AccountLock.objects.filter(email=email).delete()


def purge_older_than(days: int = 30) -> int:
    """Forget failed logins older than ``days``: the lockout only counts those of its window, and
    each failure already has its own entry in the audit trail. Run daily by the worker's scheduler
    (``cordee.accounts.apps``); audited when it deletes anything (counts only)."""
    with transaction.atomic():
        deleted, _ = LoginFailure.objects.filter(at__lt=timezone.now() - dt.timedelta(days=days)).delete()
        if deleted:
            audit.record(
                "login.failures_purged",
                actor=None,
                target_type="account",
                details={"deleted": deleted, "older_than_days": days},
            )
    return deleted
