"""The referral's state machine: each step by the right person, in order, audited; acceptance
joins the care team (or not, when the patient opposed it); the report reaches the record."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from cordee.care.access import team_membership
from cordee.care.services import do_record_opposition
from cordee.documents.models import RecordItem
from cordee.referrals import services
from cordee.referrals.access import access_referral
from cordee.referrals.models import Referral, RequestAttachment, RequestEvent
from tests.referrals.conftest import last_entry

pytestmark = pytest.mark.django_db
State = Referral.State


def test_full_path_with_care_team_join_and_report(
    alice, charlie, patient, referral, mailoutbox, django_capture_on_commit_callbacks
):
    assert referral.state == State.SENT and referral.due_at is not None
    entry = last_entry("referral.send", patient_id=patient.pk)
    assert entry.purpose == "referral.write" and entry.details["basis"] == "referral"
    assert entry.details["role"] == "requester"
    assert team_membership(charlie, patient.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        services.do_transition(charlie, referral.pk, "accept")
    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED and referral.receiver_joined and not referral.receiver_opposed
    assert team_membership(charlie, patient.pk) is not None
    assert last_entry("care.member_added", patient_id=patient.pk).details["member"] == charlie.pk
    assert last_entry("referral.accept").details["role"] == "receiver"
    # The notice carries no health data: no patient, no reason.
    assert mailoutbox and "Palpitations" not in mailoutbox[-1].body and "Paula" not in mailoutbox[-1].body
    services.do_transition(charlie, referral.pk, "appointment", at="2026-12-20T10:30", place="Cabinet de cardiologie")
    services.do_transition(charlie, referral.pk, "seen")
    services.do_transition(charlie, referral.pk, "report", report="Holter normal. Pas de traitement.")
    referral.refresh_from_db()
    assert referral.state == State.REPORTED and referral.report == "Holter normal. Pas de traitement."
    item = RecordItem.objects.get(target_type="referrals.referral", target_id=str(referral.pk))
    assert item.patient_id == patient.pk and item.kind == "referral" and item.author_id == charlie.pk
    services.do_transition(alice, referral.pk, "close")
    referral.refresh_from_db()
    assert referral.state == State.CLOSED
    states = list(RequestEvent.objects.filter(basis="referral", request_id=referral.pk).values_list("state", flat=True))
    assert states == ["draft", "sent", "accepted", "appointment", "seen", "reported", "closed"]
    # Charlie joined the care team: he still reads the closed referral.
    assert access_referral(charlie, referral.pk, purpose="referral.view")[1] == "receiver"


def test_opposition_keeps_the_receiver_out_of_the_team(alice, charlie, paula, patient, referral):
    do_record_opposition(patient, by=paula, member=charlie)
    services.do_transition(charlie, referral.pk, "accept")
    referral.refresh_from_db()
    assert referral.receiver_opposed and not referral.receiver_joined
    assert team_membership(charlie, patient.pk) is None
    # He still reads what the referral carries, until it is closed.
    services.do_transition(charlie, referral.pk, "report", report="Vu.")
    services.do_transition(alice, referral.pk, "close")
    with pytest.raises(Http404):
        access_referral(charlie, referral.pk, purpose="referral.view")


def test_every_read_is_audited_with_patient_purpose_and_basis(charlie, patient, referral):
    access_referral(charlie, referral.pk, purpose="referral.view")
    entry = last_entry("referral.read", patient_id=patient.pk)
    assert entry.actor_id == charlie.pk and entry.purpose == "referral.view"
    assert entry.details["basis"] == "referral" and entry.category == "access"


@pytest.mark.parametrize(
    ("who", "action", "error"),
    [
        ("alice", "accept", PermissionDenied),  # the requester does not accept
        ("bob", "close", PermissionDenied),  # a team member reads, does not act
        ("charlie", "close", PermissionDenied),  # the receiver does not close
        ("charlie", "seen", ValidationError),  # out of order: not yet an appointment
        ("charlie", "report", ValidationError),  # out of order: not accepted
        ("alice", "send", ValidationError),  # already sent
    ],
)
def test_wrong_person_or_out_of_order(personas, referral, who, action, error):
    with pytest.raises(error):
        services.do_transition(personas[who], referral.pk, action, report="x", reason="x")
    referral.refresh_from_db()
    assert referral.state == State.SENT


def test_unknown_step_is_refused(charlie, referral):
    with pytest.raises(ValidationError):
        services.do_transition(charlie, referral.pk, "delete")


def test_outsider_and_forged_ids_get_the_404(personas, referral):
    for user, raw in [
        (personas["otto"], referral.pk),
        (personas["ada"], referral.pk),
        (personas["charlie"], "12abc"),
        (personas["charlie"], 987654321),
        (personas["paula"], "99999999999999999999"),
    ]:
        with pytest.raises(Http404):
            access_referral(user, raw, purpose="referral.view")
    assert last_entry("access.refused", target_type="referrals.referral").outcome == "denied"


def test_decline_needs_a_reason_then_the_requester_closes(alice, charlie, referral):
    with pytest.raises(ValidationError):
        services.do_transition(charlie, referral.pk, "decline", reason="  ")
    services.do_transition(charlie, referral.pk, "decline", reason="Hors de mon champ")
    referral.refresh_from_db()
    assert referral.state == State.DECLINED and referral.decline_reason == "Hors de mon champ"
    services.do_transition(alice, referral.pk, "close")


def test_redirect_to_a_colleague(alice, bob, charlie, referral):
    services.do_transition(charlie, referral.pk, "redirect", receiver_id=bob.pk, reason="Mon associé")
    referral.refresh_from_db()
    assert referral.state == State.REDIRECTED and referral.receiver_id == bob.pk
    with pytest.raises(Http404):  # Charlie no longer reaches it
        access_referral(charlie, referral.pk, purpose="referral.view")
    services.do_transition(bob, referral.pk, "accept")


def test_receiver_must_be_a_verified_professional(alice, patient, paula, sam, personas):
    from cordee.accounts.models import Professional

    charlie = personas["charlie"]
    Professional.objects.filter(user=charlie).update(verification=Professional.Verification.UNVERIFIED)
    for receiver in (charlie.pk, 987654321, "junk", paula.pk, sam.pk, alice.pk):
        with pytest.raises(ValidationError) as excinfo:
            services.check_create_referral(alice, patient.pk, receiver_id=receiver, reason="x", send=True)
        assert "receiver" in excinfo.value.message_dict
    assert not Referral.objects.exists()


def test_only_the_care_team_writes_a_referral(alice, charlie, bob, patient):
    with pytest.raises(Http404):  # outside the team: the patient's 404
        services.check_create_referral(charlie, patient.pk, receiver_id=alice.pk, reason="x")
    services.check_create_referral(bob, patient.pk, receiver_id=charlie.pk, reason="Bilan")  # a nurse of the team


def test_attachment_of_the_same_patient_only(alice, charlie, patient, document, personas):
    referral = services.check_create_referral(
        alice, patient.pk, receiver_id=charlie.pk, reason="x", attachments=[("document", document.pk)], send=True
    )
    assert RequestAttachment.objects.filter(request_id=referral.pk, object_id=str(document.pk)).exists()
    # A document of another patient (Alice cannot open it) is the 404 of a missing one.
    import datetime as dt

    from cordee.accounts.models import Patient
    from cordee.care.services import do_add_to_care_team

    other = Patient.objects.create(
        birth_name="AUTRE", birth_given_names="Jean", birth_date=dt.date(1970, 1, 1), sex="M"
    )
    from cordee.care.models import CareTeamMember

    CareTeamMember.objects.create(patient=other, member=alice)
    do_add_to_care_team(other, charlie, by=alice)
    with pytest.raises(Http404):
        services.check_create_referral(
            alice, other.pk, receiver_id=charlie.pk, reason="x", attachments=[("document", document.pk)]
        )
    for kind, raw in [("document", 987654321), ("document", "x1"), ("prescription", 1)]:
        with pytest.raises(Http404):
            services.check_create_referral(
                alice, patient.pk, receiver_id=charlie.pk, reason="x", attachments=[(kind, raw)]
            )
    assert Referral.objects.count() == 1  # each refused one rolled back


def test_overdue_flag(alice, charlie, patient, referral):
    import datetime as dt

    from django.utils import timezone

    from cordee.referrals.access import filtered, received_by

    assert not referral.overdue
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    referral.refresh_from_db()
    assert referral.overdue
    assert list(filtered(received_by(charlie), overdue=True)) == [referral]


def test_a_structures_service_any_professional_of_the_specialty_takes_it(alice, charlie, bob, patient, structure):
    from cordee.referrals.access import received_by

    referral = services.check_create_referral(
        alice, patient.pk, structure_id=structure.pk, specialty="Cardiologie", reason="Souffle", send=True
    )
    assert referral.receiver_id is None and list(received_by(charlie)) == [referral]
    assert list(received_by(bob)) == []  # a nurse: not of that specialty
    assert access_referral(charlie, referral.pk, purpose="referral.view")[1] == "candidate"
    with pytest.raises(PermissionDenied):  # a candidate takes it or leaves it
        services.do_transition(charlie, referral.pk, "decline", reason="non")
    services.do_transition(charlie, referral.pk, "accept")
    referral.refresh_from_db()
    assert referral.receiver_id == charlie.pk and referral.state == State.ACCEPTED and referral.receiver_joined
    with pytest.raises(ValidationError):  # neither a professional nor a service
        services.check_create_referral(alice, patient.pk, structure_id=structure.pk, specialty="", reason="x")
