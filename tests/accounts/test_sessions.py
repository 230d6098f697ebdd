"""Users see their active sessions and close them; idle sessions end by themselves."""

from __future__ import annotations

import itertools
import time

from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client

from cordee.accounts import demo
from cordee.accounts.middleware import LAST_SEEN_KEY
from cordee.audit.models import AuditEntry

_offsets = itertools.cycle((-30, 0, 30))


def _full_login(user, user_agent):
    """A real sign-in; TOTP codes are single-use, so successive logins use neighbouring codes."""
    client = Client(HTTP_USER_AGENT=user_agent)
    client.post("/accounts/login/", {"login": user.email, "password": demo.DEMO_PASSWORD})
    if user.mfa_mandatory:
        if time.time() % 30 > 25:  # a code of the edge of the accepted window must not age out on the way
            time.sleep(30.2 - time.time() % 30)
        client.post("/accounts/2fa/authenticate/", {"code": demo.totp_now(at=time.time() + next(_offsets))})
    assert client.get("/").status_code == 200
    return client


LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_sessions_listed_by_device_name_and_one_revoked(alice):
    laptop = _full_login(alice, LAPTOP)
    phone = _full_login(alice, PHONE)
    page = laptop.get("/comptes/securite/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Firefox 128 sur Linux" in content and "Mobile Safari 17 sur iOS 17 (iPhone)" in content
    assert LAPTOP not in content and "Mozilla/5.0" not in content  # names, not raw User-Agent strings
    phone_session = UserSession.objects.get(user=alice, user_agent=PHONE)
    response = laptop.post(f"/comptes/securite/sessions/{phone_session.pk}/revoquer/")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302  # the phone is signed out
    assert laptop.get("/").status_code == 200
    entry = AuditEntry.objects.get(action="session.revoked")
    assert entry.actor_id == alice.pk and entry.details["session"] == phone_session.pk


def test_cannot_revoke_someone_elses_session(alice, bob):
    bob_client = _full_login(bob, "Bob/1.0")
    alice_client = _full_login(alice, "Alice/1.0")
    bob_session = UserSession.objects.get(user=bob)
    response = alice_client.post(f"/comptes/securite/sessions/{bob_session.pk}/revoquer/")
    assert response.status_code == 404
    assert bob_client.get("/").status_code == 200
    assert alice_client.post("/comptes/securite/sessions/999999/revoquer/").status_code == 404


def test_revoke_all_other_sessions(alice):
    first = _full_login(alice, "One/1.0")
    second = _full_login(alice, "Two/1.0")
    third = _full_login(alice, "Three/1.0")
    third.post("/comptes/securite/sessions/revoquer-autres/")
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 302
    assert third.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="session.revoked").count() == 2


def test_idle_session_times_out(paula, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    client = _full_login(paula, "Idle/1.0")
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 601
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "expired=1" in response["Location"]
    assert client.get("/").status_code == 302
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_activity_keeps_session_alive(paula, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    client = _full_login(paula, "Busy/1.0")
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 300
    session.save()
    assert client.get("/").status_code == 200
    assert client.session[LAST_SEEN_KEY] >= int(time.time()) - 2


def test_a_session_ends_at_its_maximum_age_whatever_the_activity(paula, settings):
    """Django's own expiry slides with every save (last-seen is saved each minute): the maximum age
    counts from the sign-in (issue 10, finding 3)."""
    from cordee.accounts.sessions import LOGIN_AT_KEY

    settings.SESSION_COOKIE_AGE = 3600
    client = _full_login(paula, "Marathon/1.0")
    assert abs(client.session[LOGIN_AT_KEY] - time.time()) < 5  # set by the sign-in
    session = client.session
    session[LOGIN_AT_KEY] = int(time.time()) - 3601
    session[LAST_SEEN_KEY] = int(time.time()) - 10  # active a moment ago
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_a_sessions_row_is_read_as_django_reads_it(client_for, alice, settings):
    """The session engine reads its row with one plain query (cordee.accounts.sessions): a live
    row signs in, an expired row or an unknown key does not (and the key is dropped), and the
    expiry read back is the row's, as an aware datetime on both databases."""
    from datetime import timedelta

    from django.core.cache import caches
    from django.utils import timezone

    from cordee.accounts.sessions import SessionStore

    client = client_for(alice)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/api/messaging/conversations").status_code == 200
    row = SessionStore(session_key=key)._get_session_from_db()
    assert row is not None and row.expire_date == Session.objects.get(session_key=key).expire_date
    assert timezone.is_aware(row.expire_date)

    unknown = SessionStore(session_key="x" * 32)
    assert unknown._get_session_from_db() is None and unknown.session_key is None

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    if settings.SESSIONS_CACHED:  # the shared cache holds it too, as after a read
        caches[settings.SESSION_CACHE_ALIAS].delete(SessionStore(session_key=key).cache_key)
    expired = SessionStore(session_key=key)
    assert expired._get_session_from_db() is None and expired.load() == {}
    assert client.get("/api/messaging/conversations").status_code == 401
