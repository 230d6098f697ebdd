"""The 72-hour clock of an incident and the officers' reminders at 24 h and 48 h (a clock argument:
no test sleeps)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from cordee.audit.models import AuditEntry
from cordee.security.clock import clock
from cordee.security.models import Incident
from cordee.security.services.incidents import do_declare_incident
from cordee.security.services.reminders import do_send_reminders
from cordee.worker.jobs import Scheduler, registered
from tests.security.test_register import TITLE, facts

AWARE = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def incident(otto, structure) -> Incident:
    return do_declare_incident(structure, facts(aware_at=AWARE), by=otto)


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    def run(now: dt.datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return do_send_reminders(now)

    return run


@pytest.mark.usefixtures("english")
def test_the_clock_runs_then_is_overdue_then_stops(incident):
    running = clock(incident, AWARE + dt.timedelta(hours=50, minutes=30))
    assert (running.state, running.text, running.urgent) == ("running", "21 h 30 min left to notify the CNIL", True)
    assert running.deadline == AWARE + dt.timedelta(hours=72)
    assert not clock(incident, AWARE + dt.timedelta(hours=1)).urgent
    overdue = clock(incident, AWARE + dt.timedelta(hours=75, minutes=5))
    assert (overdue.state, overdue.text) == ("overdue", "Overdue by 3 h 05 min")
    incident.notified_at = AWARE + dt.timedelta(hours=70)
    assert clock(incident, AWARE + dt.timedelta(hours=80)).text == "Notified to the CNIL after 70 h 00 min"
    incident.notified_at = AWARE + dt.timedelta(hours=73)
    assert "late" in clock(incident, AWARE + dt.timedelta(hours=80)).text
    incident.notified_at, incident.cnil_decision = None, Incident.Decision.NO_NOTIFICATION
    assert clock(incident, AWARE + dt.timedelta(hours=80)).state == "not_required"


def test_reminders_at_24_and_48_hours_once_each_without_patient_data(incident, otto, remind):
    assert remind(AWARE + dt.timedelta(hours=23, minutes=59)) == 0
    assert remind(AWARE + dt.timedelta(hours=24)) == 1
    assert remind(AWARE + dt.timedelta(hours=30)) == 0  # sent once
    assert [m.to for m in mail.outbox] == [[otto.email]]
    message = mail.outbox[0]
    assert f"/securite/incidents/{incident.pk}/" in message.body and "48" in message.subject
    assert TITLE not in message.subject + message.body
    entry = AuditEntry.objects.filter(action="security.incident_reminder").get()
    assert entry.details == {"after_hours": 24, "hours_left": 48, "officers": 1} and entry.target_id == str(incident.pk)
    assert remind(AWARE + dt.timedelta(hours=48, minutes=10)) == 1
    assert "23" in mail.outbox[1].subject
    assert remind(AWARE + dt.timedelta(hours=60)) == 0
    assert len(mail.outbox) == 2


def test_a_worker_that_was_down_sends_one_reminder_not_two(incident, remind):
    assert remind(AWARE + dt.timedelta(hours=49)) == 1
    assert len(mail.outbox) == 1
    incident.refresh_from_db()
    assert incident.reminded_24h_at and incident.reminded_48h_at


def test_no_reminder_once_notified_or_decided_not_to(incident, otto, structure, remind):
    incident.notified_at = AWARE + dt.timedelta(hours=2)
    incident.save(update_fields=["notified_at"])
    decided = do_declare_incident(
        structure, facts(aware_at=AWARE, cnil_decision="none", cnil_reasoning="Chiffré"), by=otto
    )
    assert decided.pk and remind(AWARE + dt.timedelta(hours=50)) == 0
    assert mail.outbox == []


def test_the_worker_runs_the_reminders_on_its_schedule(incident, settings):
    job = next(job for job in registered() if job.name == "security.incident_reminders")
    now = AWARE + dt.timedelta(hours=25)
    settings.USE_TZ = True
    ran = Scheduler([job], clock=lambda: now).run_due()
    assert ran == ["security.incident_reminders"]
    # The job reads the real time: the incident (aware in March 2026) is long overdue, its reminders sent.
    incident.refresh_from_db()
    assert incident.reminded_48h_at is not None


def test_the_clock_is_on_the_incident_page(client_for, otto, incident):
    html = client_for(otto).get(f"/securite/incidents/{incident.pk}/").content.decode()
    assert "clock-overdue" in html
