"""Oppositions to sharing: recorded by the patient or for them, honoured at once, withdrawn."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cordee.audit.models import AuditEntry
from cordee.care import purposes, services
from cordee.care.access import team_access_user_ids
from cordee.care.models import Opposition
from tests.care.conftest import last_entry, same_as_missing


def oppose_url(patient_id) -> str:
    return f"/patients/{patient_id}/oppositions/"


def withdraw_url(patient_id, opposition_id) -> str:
    return f"/patients/{patient_id}/oppositions/{opposition_id}/retirer/"


@pytest.fixture
def signals():
    from cordee.care.signals import care_team_changed

    received = []

    def receiver(sender, patient_id, user_id, joined, **kwargs):
        received.append((user_id, joined))

    care_team_changed.connect(receiver)
    yield received
    care_team_changed.disconnect(receiver)


def test_oppose_needs_login(client, patient):
    response = client.post(oppose_url(patient.pk), {"scope": "team"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Opposition.objects.exists()


def test_patient_opposes_one_member_then_withdraws(
    client_for, paula, bob, alice, sam, patient, signals, django_capture_on_commit_callbacks
):
    client = client_for(paula)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(oppose_url(patient.pk), {"scope": bob.pk})
    assert response["Location"] == f"/patients/{patient.pk}/"
    opposition = Opposition.objects.get()
    assert (opposition.scope, opposition.member, opposition.recorded_by_id) == ("member", bob, paula.pk)
    assert team_access_user_ids(patient.pk) == {alice.pk, sam.pk}
    entry = last_entry("care.opposition_recorded")
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category) == (
        paula.pk,
        patient.pk,
        purposes.OPPOSITION,
        AuditEntry.Category.ACCESS,
    )
    assert entry.details["scope"] == "member" and entry.details["member"] == bob.pk
    assert signals == [(bob.pk, False)]
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Bob Durand" in html and withdraw_url(patient.pk, opposition.pk) in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(withdraw_url(patient.pk, opposition.pk))
    opposition.refresh_from_db()
    assert opposition.withdrawn_at is not None and opposition.withdrawn_by_id == paula.pk
    assert bob.pk in team_access_user_ids(patient.pk)
    assert last_entry("care.opposition_withdrawn").actor_id == paula.pk
    assert signals[-1] == (bob.pk, True)


def test_professional_records_a_team_wide_opposition_for_the_patient(client_for, alice, paula, patient):
    response = client_for(alice).post(oppose_url(patient.pk), {"scope": "team"})
    assert response["Location"] == "/patients/"  # Alice no longer reaches Paula
    assert team_access_user_ids(patient.pk) == set()
    assert client_for(alice).get(f"/patients/{patient.pk}/").status_code == 404
    assert client_for(paula).get(f"/patients/{patient.pk}/").status_code == 200
    assert last_entry("care.opposition_recorded").details == {
        "structure": "Maison de santé des Tilleuls",
        "scope": "team",
        "member": None,
    }


@pytest.mark.usefixtures("english")
def test_recording_twice_is_refused(paula, bob, patient):
    services.do_record_opposition(patient, by=paula, member=bob)
    with pytest.raises(ValidationError, match="already recorded"):
        services.do_record_opposition(patient, by=paula, member=bob)


def test_unknown_scope_is_refused_with_a_message(client_for, paula, patient):
    for scope in ("", "abc", "999999"):
        response = client_for(paula).post(oppose_url(patient.pk), {"scope": scope}, follow=True)
        assert "Choisissez toute l&#x27;équipe de soins ou l&#x27;un de ses membres." in response.content.decode()
    assert not Opposition.objects.exists()


def test_a_professional_cannot_withdraw_an_opposition_naming_them(bob, alice, paula, patient):
    opposition = services.do_record_opposition(patient, by=paula, member=alice)
    with pytest.raises(PermissionDenied):
        services.do_withdraw_opposition(opposition, by=alice)
    services.do_withdraw_opposition(opposition, by=bob)  # a colleague may, for the patient
    opposition.refresh_from_db()
    assert opposition.withdrawn_by_id == bob.pk


def test_staff_may_not_record_oppositions(client_for, sam, bob, patient):
    assert client_for(sam).post(oppose_url(patient.pk), {"scope": bob.pk}).status_code == 404
    with pytest.raises(PermissionDenied):
        services.do_record_opposition(patient, by=sam, member=bob)
    assert not Opposition.objects.exists()


@pytest.mark.usefixtures("production_errors")
def test_outsider_gets_the_answer_for_a_missing_patient(client_for, charlie, patient):
    same_as_missing(client_for(charlie), oppose_url, patient.pk, "post", {"scope": "team"})
    assert not Opposition.objects.exists()


def test_oppositions_need_a_recent_sign_in(client_for, paula, patient):
    response = client_for(paula, recent=False).post(oppose_url(patient.pk), {"scope": "team"})
    assert "/accounts/reauthenticate/" in response["Location"]
    assert not Opposition.objects.exists()
