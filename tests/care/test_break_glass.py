"""Break-the-glass: a written reason, a time-limited grant, an audit entry, alerts and a mail
to the security officers that carries no patient data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from cordee.accounts.models import Membership, Professional
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.models import BreakGlassGrant
from cordee.security.models import Alert
from tests.care.conftest import MISSING_ID, last_entry

URL = "/patients/acces-urgence/"
REASON = "Patiente inconsciente aux urgences, traitement à vérifier"


def _post(client, identifier, reason=REASON):
    return client.post(URL, {"identifier": identifier, "reason": reason})


def test_form_needs_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_form_is_offered_to_verified_professionals(client_for, charlie):
    html = client_for(charlie).get(URL).content.decode()
    assert 'name="reason"' in html and 'name="identifier"' in html


@pytest.mark.parametrize("who", ["sam", "paula", "otto"])
def test_staff_and_patients_cannot_break_the_glass(client_for, personas, patient, who):
    client = client_for(personas[who])
    assert client.get(URL).status_code == 404
    assert _post(client, patient.pk).status_code == 404
    assert not BreakGlassGrant.objects.exists()


def test_unverified_professionals_cannot_break_the_glass(client_for, charlie, patient):
    Professional.objects.filter(user=charlie).update(verification=Professional.Verification.UNVERIFIED)
    assert _post(client_for(charlie), patient.pk).status_code == 404
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Écrivez le motif de cet accès"),
        ("   \n\t ", "Écrivez le motif de cet accès"),
        ("urgence", "Expliquez le motif en 15 caractères au moins."),
        ("   a   b   c   d  e  f  g  ", "Expliquez le motif en 15 caractères au moins."),
    ],
)
def test_no_reason_or_a_short_one_is_refused_with_a_message(client_for, charlie, patient, reason, message):
    client = client_for(charlie)
    before = AuditEntry.objects.count()
    response = _post(client, patient.pk, reason)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'value="{patient.pk}"' in html  # what was typed stays in the form
    assert not BreakGlassGrant.objects.exists() and not Alert.objects.exists()
    assert AuditEntry.objects.count() == before
    assert client.get(f"/patients/{patient.pk}/").status_code == 404


@pytest.mark.parametrize("identifier", [str(MISSING_ID), "abc", "-1", "", "1" * 40])
def test_unknown_patient_number_is_refused(client_for, charlie, identifier):
    response = _post(client_for(charlie), identifier)
    assert response.status_code == 400
    assert REASON in response.content.decode()  # the reason typed is not lost
    assert not BreakGlassGrant.objects.exists()


def test_break_the_glass_opens_for_a_while_and_alerts_the_officer(
    client_for, charlie, otto, patient, django_capture_on_commit_callbacks, settings
):
    settings.BREAK_GLASS_MINUTES = 30
    client = client_for(charlie)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, f" {patient.pk} ")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"

    grant = BreakGlassGrant.objects.get()
    assert grant.professional == charlie and grant.reason == REASON
    assert dt.timedelta(minutes=29) < grant.expires_at - timezone.now() <= dt.timedelta(minutes=30)

    entry = last_entry("care.break_glass")
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category) == (
        charlie.pk,
        patient.pk,
        "break-the-glass",
        AuditEntry.Category.ACCESS,
    )
    assert REASON not in str(entry.details) and entry.details["grant"] == grant.pk

    alert = Alert.objects.get()
    assert (alert.kind, alert.actor_id, alert.patient_id, alert.break_glass) == (
        "break_glass",
        charlie.pk,
        patient.pk,
        grant,
    )
    assert alert.structure == Membership.objects.get(user=otto).structure

    assert [message.to for message in mail.outbox] == [[otto.email]]
    message = mail.outbox[0]
    text = message.subject + message.body
    assert "/securite/alertes/" in text
    for secret in ("BERNARD", "Paula", "285076911234576", "1985", REASON, "urgences", "Charlie", str(patient.pk) + "/"):
        assert secret not in text

    page = client.get(f"/patients/{patient.pk}/")
    assert page.status_code == 200 and "BERNARD" in page.content.decode()
    read = last_entry(purposes.READ, actor_id=charlie.pk, outcome="success")
    assert read.purpose == "break-the-glass: patient.view"

    BreakGlassGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(f"/patients/{patient.pk}/").status_code == 404


def test_break_the_glass_needs_a_recent_sign_in(client_for, charlie, patient):
    response = _post(client_for(charlie, recent=False), patient.pk)
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert not BreakGlassGrant.objects.exists()


def test_a_team_member_needs_no_grant(client_for, alice, patient):
    response = _post(client_for(alice), patient.pk)
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert not BreakGlassGrant.objects.exists() and not Alert.objects.exists()


def test_a_professional_the_patient_opposed_is_answered_as_for_a_missing_patient(client_for, charlie, paula, patient):
    from cordee.care.services import do_record_opposition

    do_record_opposition(patient, by=paula, member=charlie)
    client = client_for(charlie)
    opposed, missing = _post(client, patient.pk), _post(client, MISSING_ID)
    assert opposed.status_code == missing.status_code == 400
    assert opposed.context["form"].errors == missing.context["form"].errors
    assert not BreakGlassGrant.objects.exists()


def test_without_a_security_officer_to_review_it_is_refused(client_for, charlie, patient):
    Membership.objects.update(security_officer=False)
    response = _post(client_for(charlie), patient.pk)
    assert response.status_code == 400
    assert not BreakGlassGrant.objects.exists()


def test_the_patient_sees_the_break_the_glass_in_their_history(client_for, charlie, paula, patient):
    _post(client_for(charlie), patient.pk)
    html = client_for(paula).get("/patients/mon-historique/").content.decode()
    assert "Charlie Petit" in html and "badge warn" in html


def test_the_patient_is_found_by_exact_ins(client_for, charlie, patient):
    response = _post(client_for(charlie), "2 85 07 69 112 345 76")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert BreakGlassGrant.objects.get().patient == patient


def test_an_unknown_ins_is_answered_as_a_missing_patient(client_for, charlie, patient):
    client = client_for(charlie)
    unknown, missing = _post(client, "185077512345608"), _post(client, MISSING_ID)
    assert unknown.status_code == missing.status_code == 400
    assert unknown.context["form"].errors == missing.context["form"].errors
    assert not BreakGlassGrant.objects.exists()


def test_a_malformed_ins_gets_a_clear_message(client_for, charlie):
    response = _post(client_for(charlie), "285076911234599")
    assert response.status_code == 400
    assert response.context["form"].errors["identifier"]
    assert not BreakGlassGrant.objects.exists()


def test_the_reason_is_stored_encrypted(client_for, charlie, patient):
    from django.db import connection

    _post(client_for(charlie), patient.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM care_breakglassgrant")
        stored = bytes(cursor.fetchone()[0])
    assert REASON.encode() not in stored and b"inconsciente" not in stored
    assert BreakGlassGrant.objects.get().reason == REASON
