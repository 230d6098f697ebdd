"""A socket closes as soon as its session ends, whatever ends it (issue 10, finding 3): revocation
from the security page (one session or all the others), allauth's own sessions page, sign-out,
idle timeout, maximum age, deactivation, password change, removal of the last second factor.
Between two instances over Redis: ``test_instances.py``."""

from __future__ import annotations

import time

import pytest
from allauth.usersessions.models import UserSession
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from cordee.accounts import demo
from tests.conftest import login_as
from tests.messaging.conftest import communicator, receive_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


def browser(user) -> tuple[Client, str]:
    """A signed-in browser that has loaded a page (so that it is listed among the user's sessions)."""
    client = Client()
    login_as(client, user)
    assert client.get("/").status_code == 200
    return client, client.cookies["cordee_session"].value


async def closed_code(comm, timeout: float = 5) -> int | None:
    """The close code the server sends next (skipping frames), or None if it stays open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await comm.receive_nothing(timeout=0.05, interval=0.01):
            continue  # (receive_output's own timeout would cancel the application)
        output = await comm.receive_output()
        if output["type"] == "websocket.close":
            return output.get("code")
    return None


def scenario_with_socket(cookie: str, action, *, timeout: float = 5) -> int | None:
    async def scenario():
        comm = communicator(cookie)
        ok, _ = await comm.connect()
        assert ok
        await receive_type(comm, "ready")
        await sync_to_async(action)()
        code = await closed_code(comm, timeout)
        await comm.disconnect()
        return code

    return async_to_sync(scenario)()


def test_revoking_that_session_from_another_closes_its_socket(alice):
    _first, cookie = browser(alice)
    second, _ = browser(alice)
    revoked = UserSession.objects.get(session_key=cookie)

    def revoke():
        assert second.post(f"/comptes/securite/sessions/{revoked.pk}/revoquer/").status_code == 302

    assert scenario_with_socket(cookie, revoke) == 4401


def test_revoking_the_other_sessions_closes_their_sockets_and_keeps_this_one(alice):
    _first, cookie = browser(alice)
    second, kept = browser(alice)

    def revoke_others():
        assert second.post("/comptes/securite/sessions/revoquer-autres/").status_code == 302

    assert scenario_with_socket(cookie, revoke_others) == 4401
    assert scenario_with_socket(kept, lambda: None, timeout=1) is None


def test_ending_a_session_from_allauths_sessions_page_closes_its_socket(alice):
    _first, cookie = browser(alice)
    second, _ = browser(alice)
    revoked = UserSession.objects.get(session_key=cookie)

    def end_it():
        assert second.post("/accounts/sessions/", {"sessions": [revoked.pk]}).status_code in (200, 302)

    assert scenario_with_socket(cookie, end_it) == 4401


def test_signing_out_closes_only_that_sessions_socket(alice):
    first, cookie = browser(alice)
    _second, other = browser(alice)
    assert scenario_with_socket(cookie, lambda: first.post("/accounts/logout/")) == 4401
    assert scenario_with_socket(other, lambda: None, timeout=1) is None


def _touch(cookie: str, **values: int) -> None:
    """Set session values in the store right before connecting (a loaded machine may be slow),
    through the session engine (with Redis, its cache is what the socket reads)."""
    from cordee.accounts.sessions import SessionStore

    session = SessionStore(cookie)
    for key, value in values.items():
        session[key] = value
    session.save()


def test_the_idle_timeout_closes_a_socket_that_receives_nothing(alice, settings):
    from cordee.accounts.sessions import LAST_SEEN_KEY

    _client, cookie = browser(alice)
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 3
    _touch(cookie, **{LAST_SEEN_KEY: int(time.time())})
    assert scenario_with_socket(cookie, lambda: None, timeout=10) == 4401


def test_the_maximum_age_closes_a_socket_even_of_an_active_session(alice, settings):
    from cordee.accounts.sessions import LOGIN_AT_KEY

    _client, cookie = browser(alice)
    settings.SESSION_COOKIE_AGE = 3  # the idle timeout (30 min) is far away
    _touch(cookie, **{LOGIN_AT_KEY: int(time.time())})
    assert scenario_with_socket(cookie, lambda: None, timeout=10) == 4401


def test_deactivating_the_account_closes_every_socket(alice):
    _client, cookie = browser(alice)

    def deactivate():
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    assert scenario_with_socket(cookie, deactivate) == 4401


def test_changing_the_password_closes_the_sockets_of_every_session(alice):
    _first, cookie = browser(alice)
    second, _ = browser(alice)
    new_password = "an0ther-Long-passphrase"

    def change_password():
        response = second.post(
            "/accounts/password/change/",
            {"oldpassword": demo.DEMO_PASSWORD, "password1": new_password, "password2": new_password},
        )
        assert response.status_code == 302

    assert scenario_with_socket(cookie, change_password) == 4401


def test_removing_the_last_second_factor_closes_the_sockets(alice):
    _first, cookie = browser(alice)
    second, _ = browser(alice)

    def remove_totp():
        assert second.post("/accounts/2fa/totp/deactivate/").status_code == 302

    assert scenario_with_socket(cookie, remove_totp) == 4401


def test_a_socket_of_a_session_past_its_maximum_age_is_refused(alice, settings):
    _client, cookie = browser(alice)
    settings.SESSION_COOKIE_AGE = 0

    async def scenario():
        comm = communicator(cookie)
        ok, _ = await comm.connect()
        await comm.disconnect()
        return ok

    assert async_to_sync(scenario)() is False
