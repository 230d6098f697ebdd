"""Identity gates: only verified professionals open patient data; only prescribing professions prescribe.

Personas: alice (verified doctor), bob (verified nurse), sam (secretary acting for alice),
ada (staff admin, acting for nobody), paula (patient).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from cordee.accounts.guards import can_open_patient_data, can_prescribe
from cordee.accounts.models import Professional


def set_verification(user, value):
    Professional.objects.filter(user=user).update(verification=value)
    user.professional.refresh_from_db()


def test_verified_doctor_opens_and_prescribes(alice):
    assert can_open_patient_data(alice) and can_prescribe(alice)


@pytest.mark.parametrize("status", ["unverified", "rejected"])
def test_unverified_or_rejected_professional_can_do_neither(alice, status):
    set_verification(alice, status)
    assert not can_open_patient_data(alice)
    assert not can_prescribe(alice)


def test_verified_nurse_opens_but_does_not_prescribe(bob):
    assert can_open_patient_data(bob) and not can_prescribe(bob)


@pytest.mark.parametrize(("code", "prescribes"), [("10", True), ("40", True), ("50", True), ("21", False)])
def test_prescribing_follows_the_profession(alice, code, prescribes):
    Professional.objects.filter(user=alice).update(profession_code=code)
    alice.refresh_from_db()
    assert can_prescribe(alice) is prescribes


def test_staff_opens_only_for_a_verified_professional_and_never_prescribes(sam, alice, bob):
    assert can_open_patient_data(sam) and can_open_patient_data(sam, acting_for=alice.professional)
    assert not can_open_patient_data(sam, acting_for=bob.professional)  # sam does not act for bob
    assert not can_prescribe(sam)
    set_verification(alice, "unverified")
    assert not can_open_patient_data(sam) and not can_open_patient_data(sam, acting_for=alice.professional)


def test_staff_acting_for_nobody_patient_anonymous_and_inactive_get_nothing(ada, paula, alice):
    assert not can_open_patient_data(ada) and not can_prescribe(ada)
    assert not can_open_patient_data(paula) and not can_prescribe(paula)
    assert not can_open_patient_data(AnonymousUser()) and not can_prescribe(AnonymousUser())
    assert not can_open_patient_data(None) and not can_prescribe(None)
    alice.is_active = False
    assert not can_open_patient_data(alice) and not can_prescribe(alice)
