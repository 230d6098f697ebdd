"""The patient list and the patient page: who sees them, what they show, the entries they write."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cordee.accounts.models import Professional
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.access import PATIENTS_PER_PAGE
from cordee.care.models import CareTeamMember
from tests.care.conftest import MISSING_ID, entries, last_entry, same_as_missing
from tests.conftest import without_csrf


def page_url(patient_id) -> str:
    return f"/patients/{patient_id}/"


# --- the list --------------------------------------------------------------------------------


def test_list_needs_login(client, db):
    response = client.get("/patients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_shows_care_team_patients_and_audits_each_name_shown(client_for, alice, patient):
    html = client_for(alice).get("/patients/").content.decode()
    assert "BERNARD Paula Marie" in html and f'href="/patients/{patient.pk}/"' in html
    entry = last_entry(purposes.READ, purpose=purposes.PATIENT_LIST)
    assert (entry.actor_id, entry.patient_id, entry.category) == (alice.pk, patient.pk, AuditEntry.Category.ACCESS)


def test_list_of_an_outsider_is_empty_and_audits_nothing(client_for, charlie, patient):
    html = client_for(charlie).get("/patients/").content.decode()
    assert "BERNARD" not in html
    assert not entries(purposes.READ, purpose=purposes.PATIENT_LIST)
    assert "/patients/acces-urgence/" in html  # a verified professional may break the glass


def test_staff_list_follows_acting_for(client_for, alice, sam):
    assert "BERNARD" in client_for(sam).get("/patients/").content.decode()
    sam.staff.acts_for.remove(alice.professional)
    html = client_for(sam).get("/patients/").content.decode()
    assert "BERNARD" not in html and "/patients/acces-urgence/" not in html


def test_list_is_404_for_patients(client_for, paula):
    assert client_for(paula).get("/patients/").status_code == 404


def test_list_is_paginated(client_for, alice, patient):
    from cordee.accounts.services import do_register_patient

    for n in range(PATIENTS_PER_PAGE + 2):
        other = do_register_patient(
            by=alice,
            birth_name=f"NOM{n}",
            birth_given_names="Jean",
            birth_date=timezone.localdate().replace(year=1970),
            sex="M",
            birth_place_code="75056",
        )
        CareTeamMember.objects.create(patient=other, member=alice)
    client = client_for(alice)
    before = AuditEntry.objects.count()
    first = client.get("/patients/").content.decode()
    assert AuditEntry.objects.count() - before == PATIENTS_PER_PAGE
    assert 'rel="next"' in first
    second = client.get("/patients/?page=2").content.decode()
    assert "BERNARD" in second  # the oldest stay comes last


# --- the patient page -------------------------------------------------------------------------


def test_page_needs_login(client, patient):
    response = client.get(page_url(patient.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_page_shows_identity_team_and_audits_the_read(client_for, alice, patient):
    html = client_for(alice).get(page_url(patient.pk)).content.decode()
    for text in ("BERNARD", "Paula Marie", "285076911234576", "1.2.250.1.213.1.4.8", "Bob Durand", "Sam Leroy"):
        assert text in html
    assert "Alice Martin" in html and "/equipe/ajouter/" in html
    entry = last_entry(purposes.READ, purpose=purposes.PATIENT_VIEW)
    assert (entry.actor_id, entry.patient_id, entry.category) == (alice.pk, patient.pk, AuditEntry.Category.ACCESS)


def test_staff_see_the_page_but_cannot_change_the_team(client_for, sam, patient):
    html = client_for(sam).get(page_url(patient.pk)).content.decode()
    assert "BERNARD" in html and "/equipe/ajouter/" not in html and "/oppositions/" not in html


def test_patient_sees_their_own_page_and_may_oppose(client_for, paula, patient):
    html = client_for(paula).get(page_url(patient.pk)).content.decode()
    assert "BERNARD" in html and "/oppositions/" in html and "/equipe/ajouter/" not in html
    entry = last_entry(purposes.READ, purpose=purposes.PATIENT_VIEW)
    assert entry.actor_id == paula.pk and entry.details["basis"] == "self"


@pytest.mark.usefixtures("production_errors")
def test_outsider_gets_the_answer_for_a_missing_patient(client_for, charlie, patient):
    same_as_missing(client_for(charlie), page_url, patient.pk)


@pytest.mark.usefixtures("production_errors")
@pytest.mark.parametrize("forged", ["abc", "-1", "0", "1.5", "9" * 30])
def test_forged_ids_get_the_answer_for_a_missing_patient(client_for, alice, forged):
    client = client_for(alice)
    forged_response, missing = client.get(page_url(forged)), client.get(page_url(MISSING_ID))
    assert forged_response.status_code == missing.status_code == 404
    assert without_csrf(forged_response.content) == without_csrf(missing.content)


@pytest.mark.usefixtures("production_errors")
def test_removed_member_gets_the_answer_for_a_missing_patient(client_for, bob, patient):
    CareTeamMember.objects.filter(patient=patient, member=bob).update(removed_at=timezone.now())
    same_as_missing(client_for(bob), page_url, patient.pk)


@pytest.mark.usefixtures("production_errors")
def test_unverified_professional_gets_the_answer_for_a_missing_patient(client_for, bob, patient):
    Professional.objects.filter(user=bob).update(verification=Professional.Verification.UNVERIFIED)
    same_as_missing(client_for(bob), page_url, patient.pk)


@pytest.mark.usefixtures("production_errors")
def test_staff_not_acting_for_a_team_professional_gets_the_answer_for_a_missing_patient(
    client_for, alice, sam, patient
):
    sam.staff.acts_for.remove(alice.professional)
    same_as_missing(client_for(sam), page_url, patient.pk)


def test_nav_links(client_for, alice, paula, otto):
    assert 'href="/patients/"' in client_for(alice).get("/").content.decode()
    html = client_for(paula).get("/").content.decode()
    assert 'href="/patients/mon-historique/"' in html and 'href="/patients/"' not in html
    html = client_for(otto).get("/").content.decode()
    assert 'href="/securite/alertes/"' in html
    assert 'href="/securite/alertes/"' not in client_for(alice).get("/").content.decode()
