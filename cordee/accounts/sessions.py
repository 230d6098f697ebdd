"""Sessions, and the signals that tell other apps when a session (or all of a user's) has ended.

``SESSION_ENGINE`` is this module: Django's database sessions — with Redis (``SESSIONS_CACHED``),
cached database sessions, read from the shared ``sessions`` cache and written through to the
database; without it (the embedded default) no cache, since a process's memory would not see a
session ended by another process, the worker or a command. Its ``delete`` — which removes both — also sends
``session_ended`` once the deletion is committed. Every way a session ends goes through it (sign-out,
revocation from the security page or allauth's, a key cycled at sign-in), so the messaging app
closes that session's sockets at once, on every instance (``cordee.messaging.receivers``).

``sessions_invalidated`` says that every session of a user is over: the account was deactivated,
its password changed, or its last second factor removed. Pages then refuse those sessions on their
own (``django.contrib.auth`` and ``MandatoryMfaMiddleware``); sockets learn it from the signal.

Sessions also end by time: idle (``SESSION_IDLE_TIMEOUT_SECONDS``) and at the latest
``SESSION_MAX_AGE_SECONDS`` after the sign-in (``LOGIN_AT_KEY``), whatever the activity;
``session_deadline`` gives the moment, for the pages' middleware and for open sockets.
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDatabaseSessionStore
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connections, router, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime

session_ended = Signal()  # kwargs: session_key
sessions_invalidated = Signal()  # kwargs: user_id, reason

LAST_SEEN_KEY = "cordee_last_seen"
LOGIN_AT_KEY = "cordee_login_at"
# Sessions signed in before Cordée's backends (``cordee.accounts.backends``) name the classes they
# extend; such a session is read as naming Cordée's, which Django's ``get_user`` then accepts.
RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "cordee.accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "cordee.accounts.backends.AuthenticationBackend",
}


# Chosen once, with the settings: a cache that every process shares, or none.
_Store: type[DatabaseSessionStore] = CachedDatabaseSessionStore if settings.SESSIONS_CACHED else DatabaseSessionStore


class SessionStore(_Store):  # type: ignore[valid-type,misc]  # a base chosen by the settings, both Django's
    def _get_session_from_db(self) -> AbstractBaseSession | None:
        """The session's row if it has not expired, read with one plain query: Django's ORM built
        the same query on every signed-in request at several times the cost of running it
        (bench/http, issue 21). Same answer as Django's: the row, or None and no key."""
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            sql = f"SELECT session_data, expire_date FROM {table} WHERE session_key = %s AND expire_date > %s"  # noqa: S608  (the table's own name)
            cursor.execute(sql, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        data, expire_date = row
        if isinstance(expire_date, str):  # SQLite: text, in UTC
            expire_date = parse_datetime(expire_date)
        if expire_date is not None and timezone.is_naive(expire_date):
            expire_date = timezone.make_aware(expire_date, UTC)
        return model(session_key=self.session_key, session_data=data, expire_date=expire_date)

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        renamed = RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY, ""))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        super().delete(session_key)
        if key:
            transaction.on_commit(lambda: session_ended.send(sender=SessionStore, session_key=key), robust=True)


def invalidate_user_sessions(user_id: int, reason: str) -> None:
    """Every session of the user is over (sent after commit)."""
    transaction.on_commit(
        lambda: sessions_invalidated.send(sender=SessionStore, user_id=user_id, reason=reason), robust=True
    )


def session_deadline(session: Any, now: float | None = None) -> float:
    """When the session ends by time (epoch seconds): idle timeout or maximum age, the earlier."""
    now = time.time() if now is None else now
    last_seen = session.get(LAST_SEEN_KEY, now)
    login_at = session.get(LOGIN_AT_KEY, now)
    return min(last_seen + settings.SESSION_IDLE_TIMEOUT_SECONDS, login_at + settings.SESSION_COOKIE_AGE)


def is_expired(session: Any, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return now >= session_deadline(session, now)
