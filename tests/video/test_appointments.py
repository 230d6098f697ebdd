"""Planned teleconsultations: a professional of a patient's thread plans one, the thread says it,
the patient sees it (thread, list, navigation count, access history); it is cancelled or held by
starting the teleconsultation near its time. Refusals: the patient, an outsider, forged ids, bad
dates and lengths, too many planned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cordee.audit.models import AuditEntry
from cordee.messaging.models import Message
from cordee.video import appointments, purposes
from cordee.video.models import Appointment, Call
from tests.conftest import login_as

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client()
    login_as(client, user)
    return client


def local(at: dt.datetime) -> str:
    """The value a ``datetime-local`` input sends."""
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


def plan(user, thread, when, minutes="20"):
    return client_of(user).post(
        reverse("video:plan", kwargs={"conversation_id": thread.pk}), {"when": when, "minutes": minutes}, follow=True
    )


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_professional_plans_the_thread_says_it_and_the_patient_sees_it(alice, paula, threads):
    thread = threads["patient"]
    tomorrow = (timezone.now() + dt.timedelta(days=1)).replace(hour=14, minute=30, second=0, microsecond=0)
    before = Message.objects.filter(conversation=thread).count()
    response = plan(alice, thread, local(tomorrow), "30")
    assert response.redirect_chain[-1][0] == reverse("messaging:conversation", kwargs={"conversation_id": thread.pk})
    appointment = Appointment.objects.get()
    assert appointment.starts_at == tomorrow and appointment.minutes == 30 and appointment.planned_by == alice
    assert appointment.state == Appointment.State.PLANNED
    # Said in the thread by Alice (the patient is notified as for any message)…
    said = Message.objects.filter(conversation=thread).order_by("-seq").first()
    assert Message.objects.filter(conversation=thread).count() == before + 1 and said.sender == alice
    assert "30 min" in said.body and appointments.when_text(appointment) in said.body
    # …audited with the patient, who reads it in her history.
    entry = AuditEntry.objects.get(action=purposes.PLANNED)
    assert entry.actor_id == alice.pk and entry.patient_id == thread.patient_id and entry.purpose == purposes.PLANNED
    history = client_of(paula).get("/patients/mon-historique/").content.decode()
    assert "A planifié une téléconsultation avec vous" in history or "Planned a teleconsultation with you" in history
    # Paula's thread page shows it (no form for her), her list and her navigation count too.
    paula_client = client_of(paula)
    thread_page = paula_client.get(reverse("messaging:conversation", kwargs={"conversation_id": thread.pk}))
    html = thread_page.content.decode()
    assert "data-planned" in html and "data-call-plan" not in html and "data-appointment-cancel" not in html
    listing = paula_client.get(reverse("video:appointments"))
    assert listing.status_code == 200 and appointments.when_text(appointment) in listing.content.decode()
    assert alice.display_name in listing.content.decode()
    assert appointments.due_soon(paula).count() == (1 if tomorrow <= appointments.due_window()[1] else 0)
    # Alice's page has the form and the cancel button; her list names the patient.
    alice_html = client_of(alice).get(reverse("messaging:conversation", kwargs={"conversation_id": thread.pk}))
    assert "data-call-plan" in alice_html.content.decode() and "data-appointment-cancel" in alice_html.content.decode()
    assert not AuditEntry.objects.filter(action=purposes.LISTED).exists()  # Paula's own list: no access to audit
    assert "BERNARD" in client_of(alice).get(reverse("video:appointments")).content.decode()
    listed = AuditEntry.objects.get(action=purposes.LISTED)  # Alice's list showed Paula's: a read
    assert listed.actor_id == alice.pk and listed.patient_id == thread.patient_id


def test_bad_dates_and_lengths_are_refused_and_nothing_is_planned(alice, threads):
    thread = threads["patient"]
    soon = timezone.now() + dt.timedelta(hours=2)
    cases = [
        ("", "20"),
        ("demain 14h", "20"),
        ("2026-02-30T10:00", "20"),
        (local(timezone.now() - dt.timedelta(hours=1)), "20"),
        (local(timezone.now() + dt.timedelta(days=400)), "20"),
        (local(soon), "25"),
        (local(soon), "nine"),
    ]
    for when, minutes in cases:
        response = plan(alice, thread, when, minutes)
        assert response.status_code == 200 and page_messages(response), (when, minutes)
    assert not Appointment.objects.exists()
    assert not AuditEntry.objects.filter(action=purposes.PLANNED).exists()


def test_only_a_professional_of_the_thread_plans(alice, bob, charlie, paula, threads):
    thread = threads["patient"]
    when = local(timezone.now() + dt.timedelta(days=2))
    assert page_messages(plan(paula, thread, when))  # the patient: told, nothing planned
    assert plan(charlie, thread, when).status_code == 404  # not a member: as for a missing thread
    assert (
        client_of(charlie).post(reverse("video:plan", kwargs={"conversation_id": 999999}), {"when": when}).status_code
        == 404
    )
    assert (
        client_of(alice).post(reverse("video:plan", kwargs={"conversation_id": "1; DROP"}), {"when": when}).status_code
        == 404
    )
    assert page_messages(plan(alice, threads["direct"], when))  # not a patient's thread
    assert not Appointment.objects.exists()


def test_at_most_ten_to_come_per_thread(alice, threads, monkeypatch):
    thread = threads["patient"]
    for day in range(1, appointments.MAX_PLANNED + 2):
        plan(alice, thread, local(timezone.now() + dt.timedelta(days=day)))
    assert Appointment.objects.filter(state=Appointment.State.PLANNED).count() == appointments.MAX_PLANNED


def test_cancel_by_the_professional_only_and_once(alice, charlie, paula, threads):
    thread = threads["patient"]
    plan(alice, thread, local(timezone.now() + dt.timedelta(days=3)))
    appointment = Appointment.objects.get()
    url = reverse("video:cancel", kwargs={"appointment_id": appointment.pk})
    missing = reverse("video:cancel", kwargs={"appointment_id": 999999})
    assert client_of(charlie).post(url).status_code == client_of(charlie).post(missing).status_code == 404
    assert page_messages(client_of(paula).post(url, follow=True))  # the patient asks in the thread instead
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.PLANNED
    response = client_of(alice).post(url, follow=True)
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CANCELLED and appointment.cancelled_at is not None
    entry = AuditEntry.objects.get(action=purposes.CANCELLED)
    assert entry.actor_id == alice.pk and entry.patient_id == thread.patient_id
    said = Message.objects.filter(conversation=thread).order_by("-seq").first()
    assert said.sender == alice and appointments.when_text(appointment) in said.body
    assert page_messages(client_of(alice).post(url, follow=True))  # not twice
    assert AuditEntry.objects.filter(action=purposes.CANCELLED).count() == 1
    assert "data-planned" not in response.content.decode()


def test_starting_the_teleconsultation_near_its_time_holds_it(alice, threads):
    thread = threads["patient"]
    plan(alice, thread, local(timezone.now() + dt.timedelta(minutes=10)))
    later = Appointment.objects.create(
        conversation=thread, planned_by=alice, starts_at=timezone.now() + dt.timedelta(days=7)
    )
    response = client_of(alice).post(reverse("video:start", kwargs={"conversation_id": thread.pk}))
    assert response.status_code == 302
    call = Call.objects.get()
    held = Appointment.objects.get(state=Appointment.State.HELD)
    assert held.call == call and held.pk != later.pk
    later.refresh_from_db()
    assert later.state == Appointment.State.PLANNED  # next week's stays planned


def test_the_members_are_reminded_once_shortly_before(alice, paula, threads, django_capture_on_commit_callbacks):
    from cordee.lib import modules
    from cordee.worker.jobs import registered

    thread = threads["patient"]
    now = timezone.now()
    soon = Appointment.objects.create(conversation=thread, planned_by=alice, starts_at=now + dt.timedelta(minutes=10))
    Appointment.objects.create(conversation=thread, planned_by=alice, starts_at=now + dt.timedelta(hours=2))
    Appointment.objects.create(
        conversation=thread,
        planned_by=alice,
        starts_at=now + dt.timedelta(minutes=5),
        state=Appointment.State.CANCELLED,
    )
    sent = []

    def heard(sender, entry, user_ids, **kwargs):
        sent.append((entry, sorted(user_ids)))

    modules.something_waits.connect(heard)
    try:
        (job,) = [job for job in registered() if job.name == "video.teleconsultation_reminders"]
        assert job.shared and job.every() == dt.timedelta(minutes=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert job.run() == "1 teleconsultation reminder(s)"
        with django_capture_on_commit_callbacks(execute=True):
            assert job.run() == ""  # once
    finally:
        modules.something_waits.disconnect(heard)
    assert sent == [("teleconsultations", sorted([alice.pk, paula.pk]))]
    soon.refresh_from_db()
    assert soon.reminded_at is not None
    assert Appointment.objects.filter(reminded_at__isnull=False).count() == 1
    # The push names nothing: the entry's words only.
    entry = modules.entry("teleconsultations")
    assert str(entry.push_text) in ("A teleconsultation starts soon", "Une téléconsultation commence bientôt")
