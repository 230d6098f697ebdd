"""Password + second factor login, lockout kept in the database, and their audit entries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cordee.accounts import demo
from cordee.accounts.models import AccountLock, LoginFailure
from cordee.audit.models import AuditEntry

LOGIN = "/accounts/login/"


def _password(client, email, password=demo.DEMO_PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def _totp(client, at_offset=0):
    import time

    return client.post("/accounts/2fa/authenticate/", {"code": demo.totp_now(at=time.time() + at_offset)})


def test_professional_login_needs_password_then_totp(client, alice):
    response = _password(client, alice.email)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    # Not logged in yet: the home page still sends to login.
    assert client.get("/").status_code == 302
    response = _totp(client)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    entry = AuditEntry.objects.filter(action="login.success").last()
    assert entry.actor_id == alice.pk
    assert entry.actor_display["rpps"] == alice.professional.rpps
    assert entry.ip == "127.0.0.1"


def test_wrong_totp_is_refused_and_audited(client, alice):
    _password(client, alice.email)
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(action="mfa.failed", target_id=str(alice.pk), outcome="failure").exists()


def test_wrong_password_is_audited_without_the_password(client, alice):
    response = _password(client, alice.email, "not-the-password")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.target_display == alice.email
    assert entry.outcome == "failure"
    assert "not-the-password" not in str(entry.details)
    assert LoginFailure.objects.filter(email=alice.email).count() == 1


def test_lockout_after_threshold_even_with_the_right_password(client, alice, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        _password(client, alice.email, "wrong-password-123")
    assert AccountLock.objects.filter(email=alice.email).exists()
    lock = AuditEntry.objects.get(action="login.lockout")
    assert lock.details["failures"] == 3
    response = _password(client, alice.email)  # right password, but locked
    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode() or "Trop de tentatives" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_lock_answers_the_same_for_unknown_accounts(client, settings, db):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    for _ in range(2):
        _password(client, "nobody@cordee.test", "whatever-123")
    response = _password(client, "nobody@cordee.test", "whatever-123")
    assert response.status_code == 200
    assert AccountLock.objects.filter(email="nobody@cordee.test").exists()


def test_lockout_expires(client, alice, settings):
    import datetime as dt

    from django.utils import timezone

    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    for _ in range(2):
        _password(client, alice.email, "wrong-password-123")
    AccountLock.objects.filter(email=alice.email).update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    response = _password(client, alice.email)
    assert response.status_code == 302


def test_ip_throttle_spans_accounts(client, personas, settings):
    settings.LOGIN_IP_THROTTLE = 5
    for i in range(5):
        _password(client, f"probe{i}@cordee.test", "whatever-123")
    response = _password(client, personas["bob"].email)  # right password, throttled address
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_successful_login_clears_account_failures(client, alice):
    _password(client, alice.email, "wrong-password-123")
    _password(client, alice.email)
    _totp(client)
    assert not LoginFailure.objects.filter(email=alice.email).exists()


def test_patient_logs_in_without_mandatory_mfa(client, paula):
    response = _password(client, paula.email)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_logout_is_audited(client, alice):
    _password(client, alice.email)
    _totp(client)
    client.post(reverse("account_logout"))
    assert AuditEntry.objects.filter(action="logout", actor_id=alice.pk).exists()


@pytest.mark.parametrize("path", ["/", "/modules/", "/comptes/structures/", "/comptes/securite/"])
def test_pages_need_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_totp_code_works_only_once(client, alice):
    from django.test import Client

    code = demo.totp_now()
    _password(client, alice.email)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    other = Client()
    _password(other, alice.email)
    other.post("/accounts/2fa/authenticate/", {"code": code})
    assert other.get("/").status_code == 302  # replayed code refused
