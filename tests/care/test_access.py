"""``access_patient``: who reaches a patient, who gets the answer given for a missing one, and
the audit entry each read writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.forms.models import model_to_dict
from django.http import Http404
from django.utils import timezone

from cordee.accounts.models import Patient, Professional, User
from cordee.audit.models import AuditEntry
from cordee.care import purposes, services
from cordee.care.access import access_patient, access_patient_with_basis
from cordee.care.models import BreakGlassGrant, CareTeamMember
from tests.care.conftest import MISSING_ID, entries, last_entry


def _open(user, patient_id, **kw):
    return access_patient(user, patient_id, purpose=purposes.PATIENT_VIEW, **kw)


@pytest.mark.parametrize("who", ["alice", "bob", "sam", "paula"])
def test_team_members_and_the_patient_reach_the_patient(personas, patient, who):
    assert _open(personas[who], patient.pk) == patient


def test_bases(personas, patient):
    basis = {
        who: access_patient_with_basis(personas[who], patient.pk, purpose="t")[1] for who in ("alice", "sam", "paula")
    }
    assert basis == {"alice": "care_team", "sam": "care_team", "paula": "self"}


@pytest.mark.parametrize(
    "forged", [MISSING_ID, "abc", "1.0", "-1", "0", " 1", "1_0", "１", "9" * 40, None, "", "1; DROP TABLE"]
)
def test_forged_and_missing_ids_are_404(alice, forged):
    with pytest.raises(Http404):
        _open(alice, forged)


def test_outsider_gets_404(charlie, patient):
    with pytest.raises(Http404):
        _open(charlie, patient.pk)


def test_another_patient_gets_404(patient, db):
    other = User.objects.create_user("zoe@cordee.test", "x", kind=User.Kind.PATIENT)
    with pytest.raises(Http404):
        _open(other, patient.pk)


def test_anonymous_and_inactive_users_get_404(alice, patient):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        _open(AnonymousUser(), patient.pk)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    with pytest.raises(Http404):
        _open(alice, patient.pk)


def test_removal_counts_at_once(alice, bob, patient):
    assert _open(bob, patient.pk) == patient
    services.do_remove_from_care_team(CareTeamMember.objects.get(patient=patient, member=bob), by=alice)
    with pytest.raises(Http404):
        _open(bob, patient.pk)


def test_unverified_professional_in_the_team_gets_404(bob, patient):
    Professional.objects.filter(user=bob).update(verification=Professional.Verification.UNVERIFIED)
    bob.refresh_from_db()
    with pytest.raises(Http404):
        _open(bob, patient.pk)


def test_staff_only_while_acting_for_a_professional_of_the_team(alice, sam, patient):
    assert _open(sam, patient.pk) == patient
    sam.staff.acts_for.remove(alice.professional)
    with pytest.raises(Http404):
        _open(sam, patient.pk)


def test_staff_lose_access_when_their_professional_leaves_or_is_unverified(alice, bob, sam, patient):
    Professional.objects.filter(user=alice).update(verification=Professional.Verification.REJECTED)
    with pytest.raises(Http404):
        _open(sam, patient.pk)
    Professional.objects.filter(user=alice).update(verification=Professional.Verification.VERIFIED)
    services.do_remove_from_care_team(CareTeamMember.objects.get(patient=patient, member=alice), by=bob)
    with pytest.raises(Http404):
        _open(sam, patient.pk)


def test_staff_acting_for_a_team_professional_but_not_in_the_team_gets_404(alice, sam, patient):
    CareTeamMember.objects.filter(patient=patient, member=sam).update(removed_at=timezone.now())
    assert sam.staff.acts_for.filter(pk=alice.professional.pk).exists()
    with pytest.raises(Http404):
        _open(sam, patient.pk)


def test_opposition_to_one_member_shuts_them_out_and_those_acting_for_them(alice, bob, sam, paula, patient):
    services.do_record_opposition(patient, by=paula, member=alice)
    for user in (alice, sam):
        with pytest.raises(Http404):
            _open(user, patient.pk)
    assert _open(bob, patient.pk) == patient


def test_opposition_to_the_whole_team_leaves_only_the_patient(alice, bob, sam, paula, patient):
    opposition = services.do_record_opposition(patient, by=paula)
    for user in (alice, bob, sam):
        with pytest.raises(Http404):
            _open(user, patient.pk)
    assert _open(paula, patient.pk) == patient
    services.do_withdraw_opposition(opposition, by=paula)
    assert _open(bob, patient.pk) == patient


def _grant(user, patient, *, minutes: int = 30) -> BreakGlassGrant:
    now = timezone.now()
    return BreakGlassGrant.objects.create(
        professional=user,
        patient=patient,
        reason="test",
        granted_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
    )


def test_break_glass_grant_opens_until_it_expires(charlie, patient):
    grant = _grant(charlie, patient)
    assert access_patient_with_basis(charlie, patient.pk, purpose="t")[1] == "break_glass"
    with pytest.raises(Http404):
        access_patient(charlie, patient.pk, purpose="t", break_glass=False)
    BreakGlassGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(Http404):
        _open(charlie, patient.pk)


def test_break_glass_grant_does_not_open_for_staff_or_an_opposed_professional(charlie, sam, paula, patient):
    CareTeamMember.objects.filter(member=sam).update(removed_at=timezone.now())
    _grant(sam, patient)
    with pytest.raises(Http404):
        _open(sam, patient.pk)
    _grant(charlie, patient)
    services.do_record_opposition(patient, by=paula, member=charlie)
    with pytest.raises(Http404):
        _open(charlie, patient.pk)


def test_each_read_writes_its_access_entry(rf, alice, patient):
    request = rf.get("/", REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="UA/1")
    request.user = alice
    _open(alice, patient.pk, request=request)
    entry = last_entry(purposes.READ)
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category, entry.outcome) == (
        alice.pk,
        patient.pk,
        purposes.PATIENT_VIEW,
        AuditEntry.Category.ACCESS,
        AuditEntry.Outcome.SUCCESS,
    )
    assert entry.ip == "192.0.2.9"
    assert entry.details == {"basis": "care_team", "structure": "Maison de santé des Tilleuls"}
    assert entry.actor_display["name"] == "Alice Martin"


def test_a_read_under_break_glass_says_so_in_its_purpose(charlie, patient):
    grant = _grant(charlie, patient)
    _open(charlie, patient.pk)
    entry = last_entry(purposes.READ, actor_id=charlie.pk, outcome=AuditEntry.Outcome.SUCCESS)
    assert entry.purpose == "break-the-glass: patient.view"
    assert entry.details["grant"] == grant.pk and entry.category == AuditEntry.Category.ACCESS


def test_audit_false_writes_nothing(alice, patient):
    before = AuditEntry.objects.count()
    access_patient(alice, patient.pk, purpose="t", audit=False)
    assert AuditEntry.objects.count() == before


def test_refusals_are_audited_alike_for_missing_and_forbidden(charlie, patient):
    Patient.objects.filter(pk=MISSING_ID).delete()
    for patient_id in (patient.pk, MISSING_ID):
        with pytest.raises(Http404):
            _open(charlie, patient_id)
    forbidden, missing = entries(purposes.READ, actor_id=charlie.pk)[-2:]
    ignore = {"id", "seq", "created_at", "prev_hash", "entry_hash", "content_hash", "mac", "target_id"}
    keep = [f.name for f in AuditEntry._meta.fields if f.name not in ignore]
    assert model_to_dict(forbidden, fields=keep) == model_to_dict(missing, fields=keep)
    assert forbidden.outcome == AuditEntry.Outcome.DENIED
    assert forbidden.patient_id is None and forbidden.category == AuditEntry.Category.SECURITY
