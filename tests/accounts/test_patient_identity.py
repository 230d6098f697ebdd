"""Patient identity: the five strict traits, the INS, and the identity-status rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cordee.accounts import services
from cordee.accounts.models import Patient
from cordee.audit.models import AuditEntry

TRAITS = {
    "birth_name": "  Dupont ",
    "birth_given_names": "Jeanne  Marie",
    "birth_date": dt.date(1961, 3, 2),
    "sex": "F",
    "birth_place_code": "2a004",
}


def test_register_normalises_and_audits(alice):
    patient = services.do_register_patient(by=alice, **TRAITS)
    assert (patient.birth_name, patient.birth_given_names, patient.birth_place_code) == (
        "DUPONT",
        "Jeanne Marie",
        "2A004",
    )
    assert patient.first_birth_given_name == "Jeanne"
    assert patient.identity_status == Patient.IdentityStatus.PROVISOIRE
    entry = AuditEntry.objects.get(action="patient.registered")
    assert entry.patient_id == patient.pk and entry.actor_id == alice.pk
    assert "DUPONT" not in str(entry.target_display) + str(entry.details)  # no identity data in the trail


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_name", " "),
        ("birth_date", dt.date(2999, 1, 1)),
        ("sex", "X"),
        ("birth_place_code", "123"),
        ("ins", "185076911234500"),
    ],
)
def test_bad_traits_are_refused_with_the_field_named(alice, field, value):
    before = Patient.objects.count()  # names are encrypted: no filter on them, count the rows instead
    with pytest.raises(ValidationError) as caught:
        services.do_register_patient(by=alice, **{**TRAITS, field: value})
    assert field in caught.value.message_dict
    assert Patient.objects.count() == before


def test_status_goes_up_only_through_allowed_steps(alice):
    patient = services.do_register_patient(by=alice, **TRAITS)
    with pytest.raises(ValidationError):
        services.do_set_identity_status(patient, "qualifiee", by=alice)  # skipping a step
    with pytest.raises(ValidationError):
        services.do_set_identity_status(patient, "recuperee", by=alice)  # no INS yet
    services.do_set_identity_status(patient, "validee", by=alice)
    with pytest.raises(ValidationError):
        services.do_set_identity_status(patient, "qualifiee", by=alice)  # qualified needs the INS
    patient.ins = "285076911234576"
    patient.save(update_fields=["ins"])
    services.do_set_identity_status(patient, "qualifiee", by=alice)
    assert patient.identity_status == "qualifiee"
    assert patient.ins_oid == "1.2.250.1.213.1.4.8"
    with pytest.raises(ValidationError):
        services.do_set_identity_status(patient, "provisoire", by=alice)  # a fall-back needs a reason
    services.do_set_identity_status(patient, "provisoire", by=alice, reason="Doute sur l'identité")
    changes = AuditEntry.objects.filter(action="patient.identity_status_changed").order_by("seq")
    assert [(e.details["before"], e.details["after"]) for e in changes] == [
        ("provisoire", "validee"),
        ("validee", "qualifiee"),
        ("qualifiee", "provisoire"),
    ]


def test_admin_sets_who_staff_acts_for(ada, sam, alice, bob, structure):
    from cordee.accounts.models import Membership

    membership = Membership.objects.get(user=sam, structure=structure)
    services.do_set_acts_for(membership, [alice.professional.pk, bob.professional.pk], by=ada)
    assert set(sam.staff.acts_for.all()) == {alice.professional, bob.professional}
    entry = AuditEntry.objects.get(action="staff.acts_for_changed")
    assert entry.details["after"] == sorted([alice.professional.pk, bob.professional.pk])


def test_acts_for_refuses_outsiders_and_non_admins(ada, sam, bob, structure):
    from django.core.exceptions import PermissionDenied

    from cordee.accounts.models import Membership, Professional, Structure, User

    other = Structure.objects.create(name="Ailleurs", kind="cabinet")
    stranger = User.objects.create_user("loin@cordee.test", "x", kind="professional")
    pro = Professional.objects.create(user=stranger, rpps="10000000058", profession_code="10")
    Membership.objects.create(user=stranger, structure=other)
    membership = Membership.objects.get(user=sam, structure=structure)
    with pytest.raises(ValidationError):
        services.do_set_acts_for(membership, [pro.pk], by=ada)
    with pytest.raises(PermissionDenied):
        services.do_set_acts_for(membership, [bob.professional.pk], by=bob)
