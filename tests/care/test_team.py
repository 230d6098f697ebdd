"""Adding to and removing from a care team: who may, sudo mode, audit, history, the signal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cordee.audit.models import AuditEntry
from cordee.care import purposes, services
from cordee.care.access import access_patient, team_access_user_ids
from cordee.care.models import CareTeamMember
from cordee.care.signals import care_team_changed
from tests.care.conftest import last_entry, same_as_missing


def add_url(patient_id) -> str:
    return f"/patients/{patient_id}/equipe/ajouter/"


def remove_url(patient_id, stay_id) -> str:
    return f"/patients/{patient_id}/equipe/{stay_id}/retirer/"


def stay(patient, user) -> CareTeamMember:
    return CareTeamMember.objects.get(patient=patient, member=user, removed_at__isnull=True)


@pytest.fixture
def signals():
    received: list[tuple[int, int, bool]] = []

    def receiver(sender, patient_id, user_id, joined, **kwargs):
        received.append((patient_id, user_id, joined))

    care_team_changed.connect(receiver)
    yield received
    care_team_changed.disconnect(receiver)


def test_add_needs_login(client, patient, charlie):
    response = client.post(add_url(patient.pk), {"member": charlie.pk})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not CareTeamMember.objects.filter(member=charlie).exists()


def test_professional_of_the_team_adds_a_colleague(
    client_for, alice, charlie, patient, signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(add_url(patient.pk), {"member": charlie.pk})
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    row = stay(patient, charlie)
    assert row.added_by_id == alice.pk and row.added_by_display["name"] == "Alice Martin"
    assert access_patient(charlie, patient.pk, purpose="t") == patient
    entry = last_entry("care.member_added")
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category) == (
        alice.pk,
        patient.pk,
        purposes.CARE_TEAM_CHANGE,
        AuditEntry.Category.ACCESS,
    )
    assert entry.target_display == "Charlie Petit" and entry.details["member"] == charlie.pk
    assert signals == [(patient.pk, charlie.pk, True)]


def test_signal_waits_for_the_commit(alice, charlie, patient, signals, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.do_add_to_care_team(patient, charlie, by=alice)
    assert signals == [] and len(callbacks) == 1


def test_add_by_rpps(client_for, alice, charlie, patient):
    client_for(alice).post(add_url(patient.pk), {"rpps": charlie.professional.rpps})
    assert stay(patient, charlie).member == charlie


def test_add_refuses_unknown_choices_with_a_message(client_for, alice, patient):
    client = client_for(alice)
    for data in ({}, {"member": "abc"}, {"member": "999999"}, {"rpps": "12345678901"}):
        response = client.post(add_url(patient.pk), data, follow=True)
        assert "Choisissez un confrère" in response.content.decode()
    assert CareTeamMember.objects.filter(patient=patient).count() == 3


@pytest.mark.usefixtures("english")
def test_add_someone_already_in_the_team_is_refused(alice, bob, patient):
    with pytest.raises(ValidationError, match="already in the care team"):
        services.do_add_to_care_team(patient, bob, by=alice)


@pytest.mark.usefixtures("english")
def test_add_someone_the_patient_opposed_is_refused(alice, charlie, paula, patient):
    services.do_record_opposition(patient, by=paula, member=charlie)
    with pytest.raises(ValidationError, match="opposed"):
        services.do_add_to_care_team(patient, charlie, by=alice)


@pytest.mark.usefixtures("english")
def test_add_staff_acting_for_nobody_in_the_team_is_refused(alice, sam, patient):
    services.do_remove_from_care_team(stay(patient, sam), by=alice)
    sam.staff.acts_for.clear()
    with pytest.raises(ValidationError, match="does not act for"):
        services.do_add_to_care_team(patient, sam, by=alice)
    sam.staff.acts_for.add(alice.professional)
    row = services.do_add_to_care_team(patient, sam, by=alice)
    assert row.acting_for == alice.professional


def test_patients_cannot_join_a_team(alice, paula, patient):
    with pytest.raises(ValidationError):
        services.do_add_to_care_team(patient, paula, by=alice)


@pytest.mark.parametrize("who", ["sam", "paula"])
def test_readers_who_may_not_change_the_team_get_404(client_for, personas, charlie, patient, who):
    response = client_for(personas[who]).post(add_url(patient.pk), {"member": charlie.pk})
    assert response.status_code == 404
    assert not CareTeamMember.objects.filter(member=charlie).exists()


@pytest.mark.usefixtures("production_errors")
def test_outsider_add_gets_the_answer_for_a_missing_patient(client_for, charlie, patient):
    same_as_missing(client_for(charlie), add_url, patient.pk, "post", {"member": charlie.pk})
    assert not CareTeamMember.objects.filter(member=charlie).exists()


def test_team_changes_need_a_recent_sign_in(client_for, alice, bob, charlie, sam, patient):
    client = client_for(alice, recent=False)
    response = client.post(add_url(patient.pk), {"member": charlie.pk})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    response = client.post(remove_url(patient.pk, stay(patient, bob).pk))
    assert "/accounts/reauthenticate/" in response["Location"]
    assert team_access_user_ids(patient.pk) == {alice.pk, bob.pk, sam.pk}


def test_remove_keeps_the_history_and_cuts_access_at_once(
    client_for, alice, bob, patient, signals, django_capture_on_commit_callbacks
):
    row = stay(patient, bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(remove_url(patient.pk, row.pk))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.removed_at is not None and row.removed_by_id == alice.pk
    assert bob.pk not in team_access_user_ids(patient.pk)
    entry = last_entry("care.member_removed")
    assert (entry.actor_id, entry.patient_id, entry.category, entry.details["member"]) == (
        alice.pk,
        patient.pk,
        AuditEntry.Category.ACCESS,
        bob.pk,
    )
    assert signals == [(patient.pk, bob.pk, False)]
    html = client_for(alice).get(f"/patients/{patient.pk}/").content.decode()
    assert "Bob Durand" in html  # the past stay is still listed


def test_removing_a_professional_cuts_staff_acting_for_them(
    alice, bob, sam, patient, signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.do_remove_from_care_team(stay(patient, alice), by=bob)
    assert sorted(signals) == sorted([(patient.pk, alice.pk, False), (patient.pk, sam.pk, False)])


@pytest.mark.usefixtures("english")
def test_the_last_professional_stays(alice, bob, patient):
    services.do_remove_from_care_team(stay(patient, bob), by=alice)
    with pytest.raises(ValidationError, match="at least one professional"):
        services.do_remove_from_care_team(stay(patient, alice), by=alice)


def test_removing_twice_is_refused(alice, bob, patient):
    row = stay(patient, bob)
    services.do_remove_from_care_team(row, by=alice)
    with pytest.raises(ValidationError):
        services.do_remove_from_care_team(row, by=alice)


def test_removing_oneself_redirects_to_the_list(client_for, alice, bob, patient):
    response = client_for(bob).post(remove_url(patient.pk, stay(patient, bob).pk))
    assert response["Location"] == "/patients/"


def test_staff_cannot_remove(sam, bob, patient):
    with pytest.raises(PermissionDenied):
        services.do_remove_from_care_team(stay(patient, bob), by=sam)


@pytest.mark.usefixtures("production_errors")
def test_remove_of_a_stay_of_another_patient_is_404(client_for, alice, bob, patient):
    from cordee.accounts.services import do_register_patient

    other = do_register_patient(
        by=alice,
        birth_name="AUTRE",
        birth_given_names="Jean",
        birth_date=patient.birth_date,
        sex="M",
        birth_place_code="75056",
    )
    foreign = CareTeamMember.objects.create(patient=other, member=bob)
    response = client_for(alice).post(remove_url(patient.pk, foreign.pk))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.removed_at is None
