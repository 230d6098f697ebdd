"""A professional of a patient's care team invites the patient to Cordée from the patient page: the
invitation is bound to the patient, and the account created from it becomes that patient's, with
no name on the account row (issue 11, "a GP cannot invite their own patient")."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from cordee.accounts.models import Invitation, Membership, Patient, User
from cordee.accounts.services import do_invite, do_register_patient
from cordee.audit.models import AuditEntry
from cordee.audit.services import actor_display
from cordee.care.models import CareTeamMember
from tests.care.conftest import same_as_missing

EMAIL = "jeanne.dupont@example.test"


@pytest.fixture
def jeanne(alice, bob):
    """A patient registered by Alice, in her care team with Bob, without a Cordée account."""
    patient = do_register_patient(
        by=alice,
        birth_name="DUPONT",
        birth_given_names="Jeanne",
        birth_date=dt.date(1950, 3, 2),
        sex="F",
        birth_place_code="75056",
    )
    for member in (alice, bob):
        CareTeamMember.objects.create(
            patient=patient, member=member, member_display=actor_display(member), added_by_id=alice.pk
        )
    return patient


def invite_url(patient_id) -> str:
    return f"/patients/{patient_id}/inviter/"


def _link() -> str:
    return re.search(r"http://\S+/comptes/invitation/\S+/", mail.outbox[-1].body).group(0)


@pytest.mark.django_db(transaction=True)
def test_the_treating_doctor_invites_her_patient_who_signs_up_as_that_patient(client_for, alice, jeanne, client):
    page = client_for(alice).get(f"/patients/{jeanne.pk}/").content.decode()
    assert "Inviter ce patient sur Cordée" in page
    response = client_for(alice).post(invite_url(jeanne.pk), {"email": EMAIL})
    assert response.status_code == 302
    invitation = Invitation.objects.get(email=EMAIL)
    assert (invitation.patient_id, invitation.kind, invitation.role) == (jeanne.pk, "patient", "member")
    entry = AuditEntry.objects.get(action="patient.invited")
    assert (entry.actor_id, entry.patient_id, entry.category) == (alice.pk, jeanne.pk, "access")
    assert EMAIL not in str(entry.target_display) + str(entry.details)  # a patient is an id only
    assert "DUPONT" not in mail.outbox[-1].body and "Jeanne" not in mail.outbox[-1].body

    client.logout()
    client.get(_link())
    signup = client.get("/accounts/signup/").content.decode()
    assert 'name="first_name"' not in signup and 'name="last_name"' not in signup
    password = "un-mot-de-passe-long-42"
    response = client.post("/accounts/signup/", {"email": EMAIL, "password1": password, "password2": password})
    assert response.status_code == 302, response.content.decode()[:1500]
    user = User.objects.get(email=EMAIL)
    assert user.kind == "patient" and (user.first_name, user.last_name) == ("", "")
    assert Patient.objects.get(pk=jeanne.pk).user_id == user.pk
    assert user.display_name == "Jeanne DUPONT"  # decrypted from the identity
    assert not Membership.objects.filter(user=user).exists()  # a patient's link is the care team
    linked = AuditEntry.objects.get(action="patient.account_linked")
    assert (linked.actor_id, linked.patient_id) == (user.pk, jeanne.pk)
    assert Invitation.objects.get(pk=invitation.pk).accepted_by_id == user.pk


def test_a_nurse_of_the_team_may_invite_too(client_for, bob, jeanne):
    assert client_for(bob).post(invite_url(jeanne.pk), {"email": EMAIL}).status_code == 302
    assert Invitation.objects.get().invited_by_id == bob.pk


@pytest.mark.usefixtures("production_errors")
@pytest.mark.parametrize("who", ["charlie", "sam", "ada"])
def test_outside_the_team_or_staff_get_the_answer_for_a_missing_patient(client_for, personas, jeanne, who):
    client = client_for(personas[who])
    same_as_missing(client, invite_url, jeanne.pk, method="post", data={"email": EMAIL})
    assert not Invitation.objects.exists()


def test_no_invitation_for_a_patient_who_has_an_account(client_for, alice, paula):
    page = client_for(alice).get(f"/patients/{paula.patient.pk}/").content.decode()
    assert "Inviter ce patient sur Cordée" not in page and "Le patient a un compte Cordée" in page
    client_for(alice).post(invite_url(paula.patient.pk), {"email": EMAIL})
    assert not Invitation.objects.exists()


def test_a_professionals_address_or_junk_is_refused(client_for, alice, bob, jeanne):
    client = client_for(alice)
    client.post(invite_url(jeanne.pk), {"email": bob.email})
    client.post(invite_url(jeanne.pk), {"email": "pas une adresse"})
    assert not Invitation.objects.exists()


def test_a_patient_invitation_never_makes_an_administrator(client_for, ada, structure):
    with pytest.raises(ValidationError):
        do_invite(structure, "x@example.test", "patient", "admin", invited_by=ada)
    response = client_for(ada).post(
        f"/comptes/structures/{structure.pk}/invitations/",
        {"email": "x@example.test", "kind": "patient", "role": "admin"},
    )
    assert response.status_code == 302
    assert not Invitation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_professional_cannot_take_a_patient_invitation(client_for, alice, jeanne, charlie):
    """The link reached a professional's account (same address): it does not become the patient's."""
    client_for(alice).post(invite_url(jeanne.pk), {"email": charlie.email})
    assert not Invitation.objects.exists()  # refused at the invitation already
