"""A session passes the mandatory second factor only if *it* used one (issue 10, finding 1), and
there is no Django admin whose login or forms would go around allauth and the services (finding 2)."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from cordee.accounts import demo
from cordee.accounts.models import Invitation, Membership, Structure, User
from cordee.audit.models import AuditEntry


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("root@cordee.test", demo.DEMO_PASSWORD)


def test_the_django_admin_login_is_gone_and_signs_nobody_in(client, operator):
    response = client.post("/admin/login/", {"username": operator.email, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 404


def _password_only_session(client, user) -> None:
    """What the admin's login form left: signed in with the password, no second factor used."""
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [{"method": "password", "at": time.time(), "email": user.email}]
    session.save()


@pytest.mark.parametrize("path", ["/", "/messagerie/", "/api/messaging/conversations", "/accounts/2fa/"])
def test_a_session_that_skipped_the_factor_is_ended_though_the_account_has_one(client, alice, path):
    _password_only_session(client, alice)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?mfa=1"
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="login.refused")
    assert (entry.actor_id, entry.outcome, entry.details) == (alice.pk, "denied", {"reason": "second_factor_not_used"})
    assert client.get("/").status_code == 302  # signed out: the login page


def test_the_factor_recorded_by_the_sign_in_counts(client, alice):
    _password_only_session(client, alice)
    session = client.session
    session["account_authentication_methods"] += [{"method": "mfa", "at": time.time(), "type": "totp"}]
    session.save()
    assert client.get("/").status_code == 200
    assert not AuditEntry.objects.filter(action="login.refused").exists()


def test_a_full_sign_in_through_allauth_passes(client, alice):
    response = client.post("/accounts/login/", {"login": alice.email, "password": demo.DEMO_PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    client.post("/accounts/2fa/authenticate/", {"code": demo.totp_now()})
    assert client.get("/").status_code == 200


def test_an_admin_names_a_security_officer_in_sudo_mode_with_an_audit_entry(client_for, ada, bob, structure):
    membership = Membership.objects.get(user=bob, structure=structure)
    url = f"/comptes/membres/{membership.pk}/securite/"
    assert (
        client_for(ada, recent=False)
        .post(url, {"security_officer": "1"})["Location"]
        .startswith("/accounts/reauthenticate/")
    )
    page = client_for(ada).get(f"/comptes/structures/{structure.pk}/").content.decode()
    assert f'action="{url}"' in page
    assert client_for(ada).post(url, {"security_officer": "1"}).status_code == 302
    membership.refresh_from_db()
    assert membership.security_officer
    entry = AuditEntry.objects.get(action="membership.security_officer_changed")
    assert (entry.actor_id, entry.details) == (ada.pk, {"structure": structure.pk, "after": True})
    client_for(ada).post(url, {"security_officer": "0"})
    membership.refresh_from_db()
    assert not membership.security_officer


def test_naming_a_security_officer_is_refused_to_members_and_for_junk(client_for, ada, bob, otto, structure):
    membership = Membership.objects.get(user=otto, structure=structure)
    url = f"/comptes/membres/{membership.pk}/securite/"
    assert client_for(bob).post(url, {"security_officer": "0"}).status_code == 404
    assert client_for(ada).post(url, {"security_officer": "maybe"}).status_code == 404
    assert client_for(ada).post("/comptes/membres/99999999999999999999/securite/", {"security_officer": "1"})
    membership.refresh_from_db()
    assert membership.security_officer
    assert not AuditEntry.objects.filter(action="membership.security_officer_changed").exists()


def test_the_operator_creates_a_structure_and_invites_its_first_admin(
    db, capsys, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "structure", "create", "--name", "Cabinet du Parc", "--kind", "cabinet", "--admin-email", "Chef@Parc.test"
        )
    structure = Structure.objects.get(name="Cabinet du Parc")
    invitation = Invitation.objects.get(structure=structure)
    assert (invitation.email, invitation.role, invitation.kind) == ("chef@parc.test", "admin", "staff")
    entry = AuditEntry.objects.get(action="structure.created")
    assert entry.target_id == str(structure.pk) and entry.details["first_admin_invitation"] == invitation.pk
    link = capsys.readouterr().out.strip().splitlines()[-1]
    assert "/comptes/invitation/" in link
    assert [message.to for message in mailoutbox] == [["chef@parc.test"]]
    assert "administer Cabinet du Parc" in mailoutbox[0].body or "administrer Cabinet du Parc" in mailoutbox[0].body


def test_a_bad_finess_creates_nothing(db):
    with pytest.raises(CommandError, match="finess"):
        call_command(
            "structure", "create", "--name", "X", "--kind", "cabinet", "--admin-email", "x@x.test", "--finess", "123"
        )
    assert not Structure.objects.filter(name="X").exists()
    assert not AuditEntry.objects.filter(action="structure.created").exists()


def test_the_operator_gives_the_address_and_telephone_printed_on_prescriptions(db):
    call_command(
        "structure", "create", "--name", "Cabinet du Parc", "--kind", "cabinet", "--admin-email", "chef@parc.test",
        "--street", "1 rue du Parc", "--postcode", "69006", "--city", "Lyon", "--telephone", "+33 4 78 00 00 00",
    )  # fmt: skip
    structure = Structure.objects.get(name="Cabinet du Parc")
    assert (structure.street, structure.postcode, structure.city) == ("1 rue du Parc", "69006", "Lyon")
    assert structure.telephone == "04 78 00 00 00"
    assert structure.address_lines == ["1 rue du Parc", "69006 Lyon"]


@pytest.mark.parametrize(("option", "value"), [("--telephone", "12345"), ("--postcode", "6900")])
def test_a_bad_telephone_or_postcode_creates_nothing(db, option, value):
    with pytest.raises(CommandError, match=option.strip("-")):
        call_command(
            "structure", "create", "--name", "X", "--kind", "cabinet", "--admin-email", "x@x.test", option, value
        )
    assert not Structure.objects.filter(name="X").exists()
    assert not AuditEntry.objects.filter(action="structure.created").exists()


def test_the_operator_sets_an_existing_structures_address_and_telephone(db, capsys):
    structure = Structure.objects.create(name="Cabinet ancien", kind="cabinet")
    call_command(
        "structure", "contact", "--id", str(structure.pk), "--street", "3 place Bellecour", "--postcode", "69002",
        "--city", "Lyon", "--telephone", "0478000001",
    )  # fmt: skip
    structure.refresh_from_db()
    assert structure.address_lines == ["3 place Bellecour", "69002 Lyon"] and structure.telephone == "04 78 00 00 01"
    assert AuditEntry.objects.get(action="structure.contact_changed").target_id == str(structure.pk)
    with pytest.raises(CommandError, match="postcode"):
        call_command(
            "structure", "contact", "--id", str(structure.pk), "--street", "x", "--postcode", "ABCDE", "--city", "y",
            "--telephone", "0478000001",
        )  # fmt: skip
    with pytest.raises(CommandError, match="no structure"):
        call_command(
            "structure", "contact", "--id", "999999", "--street", "x", "--postcode", "69002", "--city", "y",
            "--telephone", "0478000001",
        )  # fmt: skip
    structure.refresh_from_db()
    assert structure.postcode == "69002" and AuditEntry.objects.filter(action="structure.contact_changed").count() == 1
