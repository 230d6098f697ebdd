"""What an opposition cuts, per kind of thread (issue 10, finding 5; docs/security.md).

- care-team thread: the opposed person leaves it, and staff reading for them lose it;
- the patient's own thread with the opposed professional: it is hers, and stays open unless she
  closes it (the opposition form offers to, checked by default); once closed, the professional
  neither reads, downloads nor writes in it, and cannot start it again; staff reading for the
  professional lose it at once, as for every patient-linked thread;
- conversations between professionals that are not about the patient (direct, group): untouched.
"""

from __future__ import annotations

import pytest

from cordee.audit.models import AuditEntry
from cordee.care import services as care
from cordee.messaging.models import Member
from tests.messaging.conftest import client_as, new_key

API = "/api/messaging"


def _send(client, conversation_id: int, body: str = "message"):
    return client.post(
        f"{API}/conversations/{conversation_id}/messages",
        {"body": body, "key": new_key()},
        content_type="application/json",
    )


def _attach(client, conversation_id: int) -> str:
    uploaded = client.post(
        f"{API}/conversations/{conversation_id}/attachments",
        b"compte rendu",
        content_type="text/plain",
        headers={"X-File-Name": "cr.txt"},
    )
    assert uploaded.status_code == 201, uploaded.content
    attachment = uploaded.json()
    sent = client.post(
        f"{API}/conversations/{conversation_id}/messages",
        {"body": "pièce jointe", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    )
    assert sent.status_code == 201
    return attachment["url"]


def _paths(client, conversation_id: int, attachment_url: str) -> dict[str, int]:
    """What ``client`` gets on every path into the conversation."""
    return {
        "read": client.get(f"{API}/conversations/{conversation_id}/messages").status_code,
        "detail": client.get(f"{API}/conversations/{conversation_id}").status_code,
        "download": client.get(attachment_url).status_code,
        "send": _send(client, conversation_id).status_code,
    }


@pytest.fixture
def do_record_opposition(django_capture_on_commit_callbacks):
    """Record an opposition and commit (care-team threads follow the team once it is committed)."""

    def record(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return care.do_record_opposition(*args, **kwargs)

    return record


CUT = {"read": 404, "detail": 404, "download": 404, "send": 404}
OPEN = {"read": 200, "detail": 200, "download": 200, "send": 201}


@pytest.fixture
def attachments(alice, threads):
    client = client_as(alice)
    return {kind: _attach(client, threads[kind].pk) for kind in ("care", "patient", "direct")}


def test_opposition_to_alice_cuts_her_and_her_secretary_from_the_care_team_thread(
    alice, bob, sam, paula, threads, attachments, do_record_opposition
):
    care = threads["care"].pk
    assert client_as(sam).get(f"{API}/conversations/{care}/messages").status_code == 200  # before: delegated
    do_record_opposition(paula.patient, by=paula, member=alice)
    assert _paths(client_as(alice), care, attachments["care"]) == CUT
    assert client_as(sam).get(f"{API}/conversations/{care}/messages").status_code == 404
    assert client_as(sam).get(attachments["care"]).status_code == 404
    assert _paths(client_as(bob), care, attachments["care"]) == OPEN


def test_the_patients_own_thread_stays_open_unless_she_closes_it(
    alice, sam, paula, threads, attachments, do_record_opposition
):
    patient_thread = threads["patient"].pk
    do_record_opposition(paula.patient, by=paula, member=alice)  # without closing her thread
    assert _paths(client_as(alice), patient_thread, attachments["patient"]) == OPEN
    # Staff reading for Alice reach patient-linked threads only through the care team: cut.
    assert client_as(sam).get(f"{API}/conversations/{patient_thread}/messages").status_code == 404


def test_opposing_from_the_patient_page_closes_her_thread_with_that_professional(
    alice, paula, threads, attachments, client_for, django_capture_on_commit_callbacks
):
    patient_thread = threads["patient"].pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(paula).post(
            f"/patients/{paula.patient.pk}/oppositions/", {"scope": str(alice.pk), "close_thread": "1"}
        )
    assert response.status_code == 302
    assert _paths(client_as(alice), patient_thread, attachments["patient"]) == CUT
    assert not Member.objects.filter(conversation_id=patient_thread, user=alice).exists()
    entry = AuditEntry.objects.get(action="conversation.closed_by_patient")
    assert (entry.actor_id, entry.patient_id, entry.details["members_removed"]) == (
        paula.pk,
        paula.patient.pk,
        [alice.pk],
    )
    # Paula keeps her history; nobody writes any more; Alice cannot start it again.
    paula_client = client_as(paula)
    assert paula_client.get(f"{API}/conversations/{patient_thread}/messages").status_code == 200
    assert _send(paula_client, patient_thread).status_code in (400, 403)
    again = client_as(alice).post(
        f"{API}/conversations/patient", {"patient_id": paula.patient.pk}, content_type="application/json"
    )
    assert again.status_code == 404  # the opposition shuts her out of the patient itself


def test_the_patient_closes_her_thread_herself_and_only_she_may(
    alice, bob, paula, threads, attachments, do_record_opposition
):
    patient_thread = threads["patient"].pk
    assert client_as(alice).post(f"{API}/conversations/{patient_thread}/close").status_code == 403
    assert client_as(bob).post(f"{API}/conversations/{patient_thread}/close").status_code == 404
    assert client_as(paula).post(f"{API}/conversations/{threads['care'].pk}/close").status_code == 404
    assert client_as(paula).post(f"{API}/conversations/{patient_thread}/close").status_code == 200
    assert _paths(client_as(alice), patient_thread, attachments["patient"]) == CUT
    assert client_as(paula).post(f"{API}/conversations/{patient_thread}/close").status_code == 400
    # Without any opposition, Alice still may not start the closed thread again.
    again = client_as(alice).post(
        f"{API}/conversations/patient", {"patient_id": paula.patient.pk}, content_type="application/json"
    )
    assert again.status_code == 400


def test_a_team_wide_opposition_cuts_the_care_team_thread_for_everyone(
    alice, bob, sam, paula, threads, attachments, do_record_opposition
):
    do_record_opposition(paula.patient, by=paula, member=None)
    for user in (alice, bob, sam):
        assert client_as(user).get(f"{API}/conversations/{threads['care'].pk}/messages").status_code == 404
    assert client_as(paula).get(f"{API}/conversations/{threads['patient'].pk}/messages").status_code == 200


def test_conversations_not_about_the_patient_are_untouched(
    alice, bob, paula, threads, attachments, do_record_opposition
):
    do_record_opposition(paula.patient, by=paula, member=alice)
    assert _paths(client_as(alice), threads["direct"].pk, attachments["direct"]) == OPEN
    assert _paths(client_as(bob), threads["direct"].pk, attachments["direct"]) == OPEN
