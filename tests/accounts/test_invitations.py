"""Structure admins invite by e-mail; invitations expire; sign-up happens only through one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from cordee.accounts.models import Invitation, Membership, Professional, User
from cordee.audit.models import AuditEntry


def _invite(client, structure, email="nouveau@cordee.test", kind="professional", role="member"):
    return client.post(f"/comptes/structures/{structure.pk}/invitations/", {"email": email, "kind": kind, "role": role})


def _link_from_mail() -> str:
    body = mail.outbox[-1].body
    return re.search(r"http://\S+/comptes/invitation/\S+/", body).group(0)


@pytest.mark.django_db(transaction=True)
def test_admin_invites_and_mail_carries_only_a_link(client_for, ada, structure):
    client = client_for(ada)
    response = _invite(client, structure)
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="nouveau@cordee.test")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nouveau@cordee.test"]
    link = _link_from_mail()
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash != token  # only the hash is stored
    entry = AuditEntry.objects.get(action="invitation.sent")
    assert entry.actor_id == ada.pk and entry.target_display == "nouveau@cordee.test"


def test_member_cannot_invite_and_gets_404(client_for, bob, structure):
    client = client_for(bob)
    assert _invite(client, structure).status_code == 404
    assert not Invitation.objects.exists()


def test_outsider_structure_answers_like_missing(client_for, ada, structure):
    from cordee.accounts.models import Structure

    other = Structure.objects.create(name="Autre cabinet", kind="cabinet")
    client = client_for(ada)
    assert client.get(f"/comptes/structures/{other.pk}/").status_code == 404
    assert client.get("/comptes/structures/999999/").status_code == 404
    assert _invite(client, other).status_code == 404


def _signup(client, link, **extra):
    client.get(link)
    data = {
        "email": "nouveau@cordee.test",
        "password1": "un-mot-de-passe-long-42",
        "password2": "un-mot-de-passe-long-42",
        "first_name": "Nora",
        "last_name": "Nouveau",
        **extra,
    }
    return client.post("/accounts/signup/", data)


@pytest.mark.django_db(transaction=True)
def test_invited_professional_signs_up_with_rpps(client_for, ada, structure, client):
    _invite(client_for(ada), structure)
    link = _link_from_mail()
    client.logout()
    response = _signup(client, link, rpps="10000000041", profession_code="60")
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="nouveau@cordee.test")
    assert user.kind == "professional"
    assert Professional.objects.get(user=user).verification == "unverified"
    assert Membership.objects.filter(user=user, structure=structure, role="member").exists()
    assert Invitation.objects.get().accepted_by == user
    assert AuditEntry.objects.filter(action="invitation.accepted", actor_id=user.pk).exists()
    assert AuditEntry.objects.filter(action="account.created", actor_id=user.pk).exists()
    # A used invitation cannot be used again.
    client.logout()
    assert client.get(link).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_signup_refuses_a_bad_rpps_key(client_for, ada, structure, client):
    _invite(client_for(ada), structure)
    link = _link_from_mail()
    client.logout()
    response = _signup(client, link, rpps="10000000042", profession_code="60")
    assert response.status_code == 200
    assert not User.objects.filter(email="nouveau@cordee.test").exists()


@pytest.mark.django_db(transaction=True)
def test_signup_with_another_address_is_refused(client_for, ada, structure, client):
    _invite(client_for(ada), structure, kind="patient")
    link = _link_from_mail()
    client.logout()
    client.get(link)
    response = client.post(
        "/accounts/signup/",
        {
            "email": "autre@cordee.test",
            "password1": "un-mot-de-passe-long-42",
            "password2": "un-mot-de-passe-long-42",
            "first_name": "A",
            "last_name": "B",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="autre@cordee.test").exists()


def test_signup_without_invitation_is_closed(client, db):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert (
        "signup_closed" in response.templates[0].name
        or "closed" in response.content.decode().lower()
        or "fermée" in response.content.decode().lower()
    )
    response = client.post(
        "/accounts/signup/",
        {"email": "x@cordee.test", "password1": "un-mot-de-passe-long-42", "password2": "un-mot-de-passe-long-42"},
    )
    assert not User.objects.filter(email="x@cordee.test").exists()


@pytest.mark.django_db(transaction=True)
def test_expired_invitation_is_refused(client_for, ada, structure, client):
    _invite(client_for(ada), structure)
    link = _link_from_mail()
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    client.logout()
    response = client.get(link)
    assert response.status_code == 404
    assert _signup(client, link, rpps="10000000041", profession_code="60").status_code == 200
    assert not User.objects.filter(email="nouveau@cordee.test").exists()


def test_forged_token_is_refused(client, db):
    assert client.get("/comptes/invitation/not-a-real-token/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_existing_user_accepts_by_post(client_for, ada, structure, charlie):
    from cordee.accounts.models import Structure

    second = Structure.objects.create(name="Cabinet de cardiologie", kind="cabinet")
    Membership.objects.create(user=ada, structure=second, role="admin")
    client = client_for(ada)
    _invite(client, second, email=charlie.email)
    link = _link_from_mail()
    client = client_for(charlie)
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert Membership.objects.filter(user=charlie, structure=second).exists()


def test_role_change_is_audited_and_keeps_an_admin(client_for, ada, bob, structure):
    client = client_for(ada)
    bob_membership = Membership.objects.get(user=bob, structure=structure)
    assert client.post(f"/comptes/membres/{bob_membership.pk}/role/", {"role": "admin"}).status_code == 302
    bob_membership.refresh_from_db()
    assert bob_membership.role == "admin"
    entry = AuditEntry.objects.get(action="membership.role_changed")
    assert entry.details == {"structure": structure.pk, "before": "member", "after": "admin"}
    # Ada may step down now that Bob is admin; Bob alone may not.
    ada_membership = Membership.objects.get(user=ada, structure=structure)
    client.post(f"/comptes/membres/{ada_membership.pk}/role/", {"role": "member"})
    client = client_for(bob)
    client.post(f"/comptes/membres/{bob_membership.pk}/role/", {"role": "member"})
    bob_membership.refresh_from_db()
    assert bob_membership.role == "admin"


def test_role_change_by_member_answers_404(client_for, bob, ada, structure):
    ada_membership = Membership.objects.get(user=ada, structure=structure)
    client = client_for(bob)
    assert client.post(f"/comptes/membres/{ada_membership.pk}/role/", {"role": "member"}).status_code == 404
    assert client.post("/comptes/membres/999999/role/", {"role": "member"}).status_code == 404


def test_role_change_needs_recent_authentication(client_for, ada, bob, structure):
    client = client_for(ada, recent=False)
    bob_membership = Membership.objects.get(user=bob, structure=structure)
    response = client.post(f"/comptes/membres/{bob_membership.pk}/role/", {"role": "admin"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    bob_membership.refresh_from_db()
    assert bob_membership.role == "member"


def test_structure_page_sets_acts_for(client_for, ada, sam, bob, structure):
    membership = Membership.objects.get(user=sam, structure=structure)
    client = client_for(ada)
    page = client.get(f"/comptes/structures/{structure.pk}/").content.decode()
    assert f'action="/comptes/membres/{membership.pk}/agit-pour/"' in page
    response = client.post(f"/comptes/membres/{membership.pk}/agit-pour/", {"professionals": [bob.professional.pk]})
    assert response.status_code == 302
    assert list(sam.staff.acts_for.all()) == [bob.professional]
    assert AuditEntry.objects.filter(action="staff.acts_for_changed", actor_id=ada.pk).exists()


def test_acts_for_forged_ids_and_outsiders(client_for, ada, bob, sam, structure):
    membership = Membership.objects.get(user=sam, structure=structure)
    before = set(sam.staff.acts_for.all())
    client = client_for(ada)
    client.post(f"/comptes/membres/{membership.pk}/agit-pour/", {"professionals": ["999999"]})
    client.post(f"/comptes/membres/{membership.pk}/agit-pour/", {"professionals": ["abc"]})
    assert set(sam.staff.acts_for.all()) == before
    client = client_for(bob)
    response = client.post(f"/comptes/membres/{membership.pk}/agit-pour/", {"professionals": [bob.professional.pk]})
    assert response.status_code == 404
    assert set(sam.staff.acts_for.all()) == before
    assert client.post("/comptes/membres/999999/agit-pour/", {"professionals": []}).status_code == 404


def test_structure_page_query_count_does_not_grow_with_members(
    client_for, ada, structure, django_assert_max_num_queries
):
    from cordee.accounts.models import Staff

    client = client_for(ada)
    with django_assert_max_num_queries(40) as small:
        client.get(f"/comptes/structures/{structure.pk}/")
    for i in range(10):
        user = User.objects.create_user(f"staff{i}@cordee.test", "x", kind="staff", last_name=f"S{i}")
        Staff.objects.create(user=user, function="reception")
        Membership.objects.create(user=user, structure=structure)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(f"/comptes/structures/{structure.pk}/")
