"""The demo care team of CONVENTIONS.md's personas."""

from __future__ import annotations

from cordee import demo as cordee_demo
from cordee.care.access import team_access_user_ids
from cordee.care.models import CareTeamMember


def test_paulas_team_is_alice_bob_and_sam_acting_for_alice(alice, bob, sam, charlie, patient):
    team = {row.member: row for row in CareTeamMember.objects.filter(patient=patient)}
    assert set(team) == {alice, bob, sam}
    assert all(row.added_by_id == alice.pk and row.removed_at is None for row in team.values())
    assert team[sam].acting_for == alice.professional
    assert team_access_user_ids(patient.pk) == {alice.pk, bob.pk, sam.pk}
    assert charlie.pk not in team_access_user_ids(patient.pk)


def test_seeding_twice_adds_nobody(personas, patient):
    cordee_demo.seed()
    assert CareTeamMember.objects.filter(patient=patient).count() == 3
