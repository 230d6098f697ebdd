"""Professionals and staff cannot use Cordée without a second factor; patients may."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from cordee.accounts import demo
from cordee.accounts.models import Professional, User
from cordee.audit.models import AuditEntry


@pytest.fixture
def newcomer(db):
    user = User.objects.create_user(
        "newdoc@cordee.test", demo.DEMO_PASSWORD, kind=User.Kind.PROFESSIONAL, first_name="Nina", last_name="Nouvelle"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Professional.objects.create(user=user, rpps="10000000033", profession_code="10")
    return user


@pytest.mark.parametrize(
    "path", ["/", "/modules/", "/comptes/structures/", "/comptes/securite/", "/accounts/sessions/"]
)
def test_professional_without_mfa_is_sent_to_setup_everywhere(client, newcomer, path):
    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate")


def test_setup_page_itself_is_reachable_and_activation_unlocks(client, newcomer):
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post("/accounts/2fa/totp/activate/", {"code": demo.totp_now(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=newcomer, type="totp").exists()
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="mfa.added", actor_id=newcomer.pk, details__type="totp").exists()


def test_removing_the_last_factor_locks_the_pages_again(client, newcomer):
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    client.post("/accounts/2fa/totp/activate/", {"code": demo.totp_now(client.session[SECRET_SESSION_KEY])})
    assert client.get("/").status_code == 200
    # The sign-in a moment ago counts as recent authentication (sudo mode).
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=newcomer, type="totp").exists()
    assert AuditEntry.objects.filter(action="mfa.removed", actor_id=newcomer.pk, details__type="totp").exists()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate")


def test_sudo_mode_expires(client, newcomer, settings):
    """Past the re-authentication window, removing a factor asks for the password again."""
    import time

    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})
    client.get("/accounts/2fa/totp/activate/")
    client.post("/accounts/2fa/totp/activate/", {"code": demo.totp_now(client.session[SECRET_SESSION_KEY])})
    session = client.session
    records = session["account_authentication_methods"]
    for record in records:
        record["at"] = time.time() - settings.ACCOUNT_REAUTHENTICATION_TIMEOUT - 5
    session["account_authentication_methods"] = records
    session.save()
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert Authenticator.objects.filter(user=newcomer, type="totp").exists()


def test_staff_mfa_is_mandatory_too(db):
    user = User.objects.create_user("sec@cordee.test", "x", kind=User.Kind.STAFF)
    assert user.mfa_mandatory
    patient = User.objects.create_user("pat@cordee.test", "x", kind=User.Kind.PATIENT)
    assert not patient.mfa_mandatory


def test_patient_is_offered_mfa_not_forced(client, paula):
    client.post("/accounts/login/", {"login": paula.email, "password": demo.DEMO_PASSWORD})
    assert client.get("/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200


def test_setup_page_says_why(client, newcomer):
    newcomer.modules = ["messagerie"]
    newcomer.save(update_fields=["modules"])
    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].endswith("?required=1")
    assert "second facteur" in response.content.decode()
    # No module's part of every page there (the incoming-call banner would open a socket that is
    # refused until the second factor); a session that passed it has them.
    assert "data-call-ringing" not in response.content.decode()
    session = client.session
    session["cordee_mfa_ok"] = True
    session.save()
    assert "data-call-ringing" in client.get("/").content.decode()
