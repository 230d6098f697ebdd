"""Tele-expertise: consent before sending, the expert sees only the request until accepting, the
question pauses the deadline, the answer reaches the record, access ends at closing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from cordee.documents.models import RecordItem
from cordee.expertise import services
from cordee.expertise.access import access_expertise, received_by
from cordee.expertise.models import Expertise
from cordee.referrals.models import RequestEvent
from tests.expertise.conftest import last_entry

pytestmark = pytest.mark.django_db
State = Expertise.State


def ask(alice, patient, charlie, **kw):
    values = {
        "question": "Lésion pigmentée du dos ?",
        "expert_id": charlie.pk if charlie else None,
        "consent_how": "oral",
        "consent_at": timezone.localdate(),
        "send": True,
    }
    values.update(kw)
    return services.check_create_expertise(alice, patient.pk, **values)


def test_full_path_with_question_pausing_the_deadline(alice, charlie, paula, patient):
    expertise = ask(alice, patient, charlie, deadline_days=5)
    assert expertise.state == State.SENT and expertise.consent_recorded_by_id == alice.pk
    assert last_entry("expertise.send", patient_id=patient.pk).details["basis"] == "expertise"
    # Before accepting, the expert reads the request; he is not in the care team.
    assert access_expertise(charlie, expertise.pk, purpose="expertise.view")[1] == "receiver"
    services.do_transition(charlie, expertise.pk, "accept")
    expertise.refresh_from_db()
    due = expertise.due_at
    assert due is not None and (due - expertise.accepted_at) == dt.timedelta(days=5)
    services.do_transition(charlie, expertise.pk, "question", text="Taille de la lésion ?")
    expertise.refresh_from_db()
    assert expertise.state == State.QUESTION and expertise.paused_at is not None
    Expertise.objects.filter(pk=expertise.pk).update(paused_at=timezone.now() - dt.timedelta(days=2))
    with pytest.raises(ValidationError):  # no answer while the question waits
        services.do_transition(charlie, expertise.pk, "answer", text="x")
    services.do_transition(alice, expertise.pk, "reply", text="8 mm, bords irréguliers")
    expertise.refresh_from_db()
    assert expertise.state == State.ACCEPTED and expertise.paused_at is None
    assert expertise.due_at - due >= dt.timedelta(days=2)  # the pause extends the deadline
    services.do_transition(
        charlie,
        expertise.pk,
        "answer",
        text="Exérèse conseillée",
        course_of_action="Dermatologue",
        consultation_needed="1",
    )
    expertise.refresh_from_db()
    assert expertise.state == State.ANSWERED and expertise.consultation_needed is True
    assert RecordItem.objects.filter(
        target_type="expertise.expertise", target_id=str(expertise.pk), kind="expertise"
    ).exists()
    kinds = list(RequestEvent.objects.filter(basis="expertise", request_id=expertise.pk).values_list("kind", flat=True))
    assert kinds.count("question") == 1 and kinds.count("reply") == 1
    services.do_transition(alice, expertise.pk, "close")
    # Closed: the expert (not in the care team) no longer reaches it, nor answers again.
    with pytest.raises(Http404):
        access_expertise(charlie, expertise.pk, purpose="expertise.view")
    with pytest.raises(Http404):
        services.do_transition(charlie, expertise.pk, "answer", text="Encore")
    # The patient reads it (state, who, when) in her space.
    assert access_expertise(paula, expertise.pk, purpose="expertise.view")[1] == "self"


def test_no_consent_no_sending(alice, charlie, patient):
    with pytest.raises(ValidationError):
        ask(alice, patient, charlie, consent_how="", consent_at=None)
    assert not Expertise.objects.exists()
    draft = ask(alice, patient, charlie, consent_how="", consent_at=None, send=False)
    with pytest.raises(ValidationError):
        services.do_transition(alice, draft.pk, "send")
    with pytest.raises(ValidationError):  # a consent dated in the future
        services.do_transition(
            alice, draft.pk, "send", consent_how="oral", consent_at=timezone.localdate() + dt.timedelta(days=2)
        )
    services.do_transition(alice, draft.pk, "send", consent_how="written", consent_at=timezone.localdate())
    with pytest.raises(Http404):  # a draft is the requester's only
        access_expertise(charlie, ask(alice, patient, charlie, send=False).pk, purpose="expertise.view")


@pytest.mark.parametrize(
    ("who", "action", "error"),
    [
        ("alice", "accept", PermissionDenied),
        ("bob", "close", PermissionDenied),
        ("charlie", "close", PermissionDenied),
        ("charlie", "answer", ValidationError),
        ("alice", "reply", ValidationError),
        ("ada", "accept", Http404),
    ],
)
def test_wrong_person_or_out_of_order(personas, alice, charlie, patient, who, action, error):
    expertise = ask(alice, patient, charlie)
    with pytest.raises(error):
        services.do_transition(personas[who], expertise.pk, action, text="x")
    expertise.refresh_from_db()
    assert expertise.state == State.SENT


def test_a_specialty_of_a_structure_any_expert_takes_it(alice, charlie, patient, structure):
    expertise = ask(alice, patient, None, expert_id=None, structure_id=structure.pk, specialty="cardiologie")
    assert expertise.expert_id is None
    assert list(received_by(charlie)) == [expertise]
    with pytest.raises(PermissionDenied):  # a candidate takes it or leaves it, does not decline it
        services.do_transition(charlie, expertise.pk, "decline", text="non")
    services.do_transition(charlie, expertise.pk, "accept")
    expertise.refresh_from_db()
    assert expertise.expert_id == charlie.pk and expertise.state == State.ACCEPTED


def test_unknown_or_unverified_expert(alice, patient, paula, charlie):
    from cordee.accounts.models import Professional

    Professional.objects.filter(user=charlie).update(verification="unverified")
    for expert in (charlie.pk, 987654321, paula.pk, "x"):
        with pytest.raises(ValidationError):
            ask(alice, patient, None, expert_id=expert)
    with pytest.raises(ValidationError):  # neither an expert nor a structure's specialty
        ask(alice, patient, None, expert_id=None)


def test_deadline_bounds(alice, charlie, patient):
    for days in ("0", "61", "x"):
        with pytest.raises(ValidationError):
            ask(alice, patient, charlie, deadline_days=days)
