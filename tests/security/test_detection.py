"""Intrusion detection (issue 17, items 1-3): replayed attacks raise the right alerts, once per
burst, and a generated normal day raises none; the officer's alert page and actions."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from cordee.accounts.models import Membership
from cordee.accounts.services.lockout import do_record_failure
from cordee.accounts.services.members import do_change_role
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care.services import check_break_glass
from cordee.security import detection
from cordee.security.models import Alert, DetectionCursor, Incident
from cordee.security.services import do_detect
from tests.security.test_register import form_data

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15"
CURL = "python-requests/2.32.3"
OFFICE = "192.0.2.10"


def from_(ip: str, agent: str = FIREFOX):
    return RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def write(action: str, user=None, *, at: dt.datetime, ip: str = OFFICE, agent: str = FIREFOX, **entry) -> AuditEntry:
    return audit.record(action, actor=user, request=from_(ip, agent), at=at, **entry)


def detections(**filters) -> list[Alert]:
    return list(Alert.objects.exclude(kind=Alert.Kind.BREAK_GLASS).filter(**filters).order_by("pk"))


def kinds() -> list[str]:
    return sorted(alert.kind for alert in detections())


@pytest.fixture
def tilleuls(personas):
    return personas["otto"].memberships.get().structure


def history(user, *, days: int = 1, ip: str = OFFICE, agent: str = FIREFOX) -> None:
    """A day of ordinary use ``days`` ago: a sign-in and a few records opened."""
    start = timezone.now() - dt.timedelta(days=days)
    write("login.success", user, at=start, ip=ip, agent=agent, target=user, details={"method": "password"})
    for i in range(5):
        write("patient.read", user, at=start + dt.timedelta(minutes=10 * i), ip=ip, agent=agent, patient_id=9000 + i)


# --- the replayed attacks ---------------------------------------------------------------------


def test_password_spraying_over_50_accounts_raises_one_alert_for_the_structure(
    personas, tilleuls, django_capture_on_commit_callbacks
):
    attacker = from_("203.0.113.7", CURL)
    targets = [f"user{i}@exemple.fr" for i in range(48)] + [personas["alice"].email, personas["charlie"].email]
    for email in targets:
        do_record_failure(email, "203.0.113.7", attacker)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = do_detect()

    assert outcome.scanned >= 50 and outcome.raised >= 1
    spraying = detections(kind=Alert.Kind.PASSWORD_SPRAYING)
    assert len(spraying) == 1
    alert = spraying[0]
    assert alert.structure == tilleuls and alert.severity == Alert.Severity.HIGH
    assert alert.subject == "ip:203.0.113.7" and len(alert.evidence) == 50
    assert alert.figures["measure"] == 50 and alert.figures["threshold"] == 8
    failed = AuditEntry.objects.filter(action="login.failed").values_list("seq", flat=True)
    assert sorted(failed) == alert.evidence
    assert not detections(kind=Alert.Kind.FAILED_LOGINS_ACCOUNT)  # one try each: no account burst
    assert detections(kind=Alert.Kind.FAILED_LOGINS_ADDRESS)  # but the address's burst, yes
    raised = AuditEntry.objects.get(action="security.alert_raised", target_id=str(alert.pk))
    assert raised.details["kind"] == "password_spraying" and raised.details["evidence"] == 50
    # The officers are mailed, without the accounts tried nor the address.
    to_otto = [message for message in mail.outbox if message.to == [personas["otto"].email]]
    assert to_otto
    for message in to_otto:
        assert "203.0.113.7" not in message.body and "exemple.fr" not in message.body
        assert "alice" not in message.body.lower()
    assert any(f"/securite/alertes/{alert.pk}/" in message.body for message in to_otto)

    # The attack goes on: the same burst, so the same alert grows.
    for email in targets[:10]:
        do_record_failure(email, "203.0.113.7", attacker)
    second = do_detect()
    assert second.raised == 0 and second.extended >= 1
    assert len(detections(kind=Alert.Kind.PASSWORD_SPRAYING)) == 1
    alert.refresh_from_db()
    assert len(alert.evidence) == 60 and alert.figures["count"] == 60
    assert DetectionCursor.objects.get(name="audit").seq >= max(alert.evidence)


def test_account_brute_force_raises_a_failed_logins_alert(personas, tilleuls):
    alice = personas["alice"]
    for i in range(12):
        do_record_failure(alice.email, f"198.51.100.{i}", from_(f"198.51.100.{i}", CURL))
    do_detect()
    (alert,) = detections(kind=Alert.Kind.FAILED_LOGINS_ACCOUNT)
    assert alert.subject == f"target_id:{alice.email}" and alert.actor_id == alice.pk
    assert alert.structure == tilleuls and len(alert.evidence) == 12
    assert not detections(kind=Alert.Kind.PASSWORD_SPRAYING)


def test_stolen_session_reused_from_another_address_and_browser(personas, tilleuls):
    charlie = personas["charlie"]
    history(charlie, days=3)
    history(charlie, days=1)
    do_detect()
    assert kinds() == []
    # Charlie works on; his session cookie is replayed from elsewhere, with no sign-in there.
    now = timezone.now()
    write("patient.read", charlie, at=now - dt.timedelta(minutes=5), patient_id=9001)
    for i in range(3):
        write(
            "patient.read",
            charlie,
            at=now + dt.timedelta(seconds=i),
            ip="203.0.113.66",
            agent=SAFARI,
            patient_id=9100 + i,
        )
    do_detect()
    (alert,) = detections(kind=Alert.Kind.NEW_ADDRESS)
    assert alert.actor_id == charlie.pk and alert.severity == Alert.Severity.HIGH
    assert alert.figures["signed_in"] is False and alert.figures["new_address"] is True
    assert alert.subject == f"actor_id:{charlie.pk}:203.0.113.66" and len(alert.evidence) == 3


def test_sign_in_from_a_new_browser_is_a_medium_alert(personas):
    alice = personas["alice"]
    history(alice, days=2)
    write("login.success", alice, at=timezone.now(), ip="192.0.2.99", agent=SAFARI, target=alice)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.NEW_ADDRESS)
    assert alert.severity == Alert.Severity.MEDIUM and alert.figures["signed_in"] is True


def test_compromised_account_scraping_300_patients_at_night(personas, tilleuls, monkeypatch):
    monkeypatch.setattr(detection, "BATCH", 100)  # the burst spans batches: still one alert
    charlie = personas["charlie"]
    # His ordinary days, at least a day before the night (within the last 24 hours): a day of use
    # 24 hours ago fell into the burst's window when the suite ran between 00:00 and 02:40 Paris
    # time, adding its reads to the evidence.
    history(charlie, days=3)
    history(charlie, days=2)
    night = timezone.localtime().replace(hour=2, minute=0, second=0, microsecond=0)
    if night > timezone.now():
        night -= dt.timedelta(days=1)
    for i in range(300):
        at = night + dt.timedelta(seconds=12 * i)
        write("patient.read", charlie, at=at, patient_id=20000 + i, purpose="patient.view")
        if i % 2 == 0:  # a document of every other patient: 150, about 37 in 15 minutes
            write(
                "document.downloaded",
                charlie,
                at=at,
                patient_id=20000 + i,
                target_type="documents.document",
                target_id=i,
            )

    do_detect()

    (mass,) = detections(kind=Alert.Kind.MASS_CONSULTATION)
    assert mass.actor_id == charlie.pk and mass.severity == Alert.Severity.HIGH and mass.structure == tilleuls
    assert len(mass.evidence) == 300 and mass.figures["threshold"] == 40
    (bulk,) = detections(kind=Alert.Kind.BULK_DOWNLOAD)
    assert len(bulk.evidence) == 150 and bulk.severity == Alert.Severity.HIGH
    assert set(kinds()) == {"mass_consultation", "bulk_download"}


def test_insider_browsing_slowly_through_break_the_glass(personas, tilleuls):
    charlie, paula = personas["charlie"], personas["paula"]
    now = timezone.now()
    for days, patient in ((6, 31), (4, 32), (2, 33)):
        write(
            "care.break_glass",
            charlie,
            at=now - dt.timedelta(days=days),
            patient_id=patient,
            purpose="break-the-glass",
            target_type="care.breakglassgrant",
            target_id=patient,
        )
    do_detect()
    first = detections(kind=Alert.Kind.BREAK_GLASS_REPEATED)
    assert len(first) == 1 and len(first[0].evidence) == 3
    check_break_glass(charlie, str(paula.patient.pk), "Appel du SAMU, patiente inconsciente")  # the real service
    do_detect()
    (alert,) = detections(kind=Alert.Kind.BREAK_GLASS_REPEATED)
    assert len(alert.evidence) == 4 and alert.actor_id == charlie.pk
    assert Alert.objects.filter(kind=Alert.Kind.BREAK_GLASS).count() == 1  # the access's own review


def test_privilege_change_and_factor_removed(personas, tilleuls):
    ada, bob = personas["ada"], personas["bob"]
    membership = Membership.objects.get(user=bob, structure=tilleuls)
    do_change_role(membership, Membership.Role.ADMIN, by=ada)
    write("mfa.removed", bob, at=timezone.now(), target=bob, details={"type": "totp"})
    do_detect()
    assert kinds() == ["mfa_removed", "privilege_change"]
    (removed,) = detections(kind=Alert.Kind.MFA_REMOVED)
    assert removed.severity == Alert.Severity.HIGH and removed.structure == tilleuls


def normal_day(personas, day: dt.date, rng: random.Random) -> int:
    """Demo-like traffic: the professionals sign in at the office, open their patients, read and
    download some documents, mistype a password now and then; Paula reads her record at home."""
    written = 0
    start = timezone.make_aware(dt.datetime.combine(day, dt.time(8)))
    staff = {"alice": ("192.0.2.11", FIREFOX), "bob": ("192.0.2.12", SAFARI), "charlie": ("192.0.2.13", FIREFOX)}
    for name, (ip, agent) in staff.items():
        user = personas[name]
        if rng.random() < 0.5:
            do_at = start - dt.timedelta(minutes=1)
            write(
                "login.failed",
                at=do_at,
                ip=ip,
                agent=agent,
                target_type="account",
                target_id=user.email,
                outcome="failure",
            )
        write("login.success", user, at=start, ip=ip, agent=agent, target=user)
        patients = rng.sample(range(5000, 5400), 25)
        for i, patient in enumerate(patients):
            at = start + dt.timedelta(minutes=18 * i + rng.randint(0, 10))
            if i % 6 == 0:  # the list of the day: many names at once, not openings
                for listed in rng.sample(range(5000, 5400), 20):
                    write("patient.read", user, at=at, ip=ip, agent=agent, patient_id=listed, purpose="patient.list")
                    written += 1
            write("patient.read", user, at=at, ip=ip, agent=agent, patient_id=patient, purpose="patient.view")
            write("document.read", user, at=at, ip=ip, agent=agent, patient_id=patient, purpose="record.view")
            if i % 4 == 0:
                write("document.downloaded", user, at=at, ip=ip, agent=agent, patient_id=patient)
                written += 1
            written += 2
        write("logout", user, at=start + dt.timedelta(hours=9), ip=ip, agent=agent, target=user)
        written += 2
    paula = personas["paula"]
    evening = start + dt.timedelta(hours=12)
    write("login.success", paula, at=evening, ip="198.51.100.20", agent=SAFARI, target=paula)
    write("document.read", paula, at=evening, ip="198.51.100.20", agent=SAFARI, patient_id=paula.patient.pk)
    return written + 2


def test_a_normal_day_raises_no_alert(personas):
    rng = random.Random(17)
    today = timezone.localdate()
    written = sum(normal_day(personas, today - dt.timedelta(days=days), rng) for days in (2, 1))
    assert written > 300
    outcome = do_detect()
    assert outcome.scanned >= written
    assert kinds() == []


def test_detect_command_over_a_past_period_raises_once(personas, tilleuls):
    charlie = personas["charlie"]
    history(charlie, days=10)
    past = timezone.now() - dt.timedelta(days=3)
    for i in range(50):
        write("patient.read", charlie, at=past + dt.timedelta(seconds=5 * i), patient_id=30000 + i)
    since = (timezone.now() - dt.timedelta(days=4)).date().isoformat()
    call_command("detect", since=since)
    assert kinds() == ["mass_consultation"]
    call_command("detect", since=since)  # again: the same burst, no second alert
    do_detect()
    assert kinds() == ["mass_consultation"]
    replayed = AuditEntry.objects.filter(action="security.detection_replayed")
    assert replayed.count() == 2 and replayed.first().details["raised"] == 1


def test_detect_command_refuses_a_bad_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("detect", since="yesterday")


# --- the officer's pages and actions ----------------------------------------------------------


@pytest.fixture
def scraping(personas, tilleuls) -> Alert:
    charlie = personas["charlie"]
    history(charlie, days=1)
    now = timezone.now() - dt.timedelta(hours=1)
    for i in range(45):
        write("patient.read", charlie, at=now + dt.timedelta(seconds=i), patient_id=40000 + i)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.MASS_CONSULTATION)
    return alert


def url(alert: Alert, action: str = "") -> str:
    return f"/securite/alertes/{alert.pk}/" + action


def test_officer_sees_the_alert_and_its_evidence(client_for, personas, scraping):
    otto = personas["otto"]
    queue = client_for(otto).get("/securite/alertes/").content.decode()
    assert url(scraping) in queue
    html = client_for(otto).get(url(scraping)).content.decode()
    for seq in scraping.evidence[:5]:
        assert f'id="seq-{seq}"' in html
    assert "40001" in html  # patient numbers only, as in the access history
    viewed = AuditEntry.objects.filter(action="security.alert_viewed").last()
    assert viewed.actor_id == otto.pk and viewed.target_id == str(scraping.pk)


@pytest.mark.parametrize("who", ["alice", "charlie", "paula", "ada"])
def test_others_get_the_404_of_a_missing_alert(client_for, personas, scraping, who):
    client = client_for(personas[who])
    missing = client.get("/securite/alertes/999999/")
    assert missing.status_code == 404
    assert client.get(url(scraping)).status_code == 404
    assert client.post(url(scraping, "prise-en-compte/")).status_code == 404
    assert client.get(f"/securite/incidents/nouveau/?alerte={scraping.pk}").status_code == 404
    scraping.refresh_from_db()
    assert scraping.acknowledged_at is None


def test_acknowledge_then_false_positive_with_a_reason(client_for, personas, scraping):
    otto = personas["otto"]
    client = client_for(otto)
    assert client.post(url(scraping, "prise-en-compte/")).status_code == 302
    scraping.refresh_from_db()
    assert scraping.acknowledged_at is not None
    entry = AuditEntry.objects.get(action="security.alert_acknowledged")
    assert entry.actor_id == otto.pk and entry.target_id == str(scraping.pk)
    assert client.post(url(scraping, "prise-en-compte/")).status_code == 400  # already

    # A false positive needs its reason; a break-the-glass verdict is not offered here.
    assert client.post(url(scraping, "revue/"), {"verdict": "false_positive", "comment": ""}).status_code == 400
    assert client.post(url(scraping, "revue/"), {"verdict": "justified", "comment": "ok ok ok ok"}).status_code == 400
    reason = "Campagne de rappel des vaccins : liste parcourue avec la secrétaire"
    assert client.post(url(scraping, "revue/"), {"verdict": "false_positive", "comment": reason}).status_code == 302
    scraping.refresh_from_db()
    assert scraping.verdict == "false_positive" and scraping.comment == reason
    reviewed = AuditEntry.objects.get(action="security.alert_reviewed")
    assert reviewed.details["verdict"] == "false_positive"


def test_open_an_incident_from_the_alert(client_for, personas, scraping, tilleuls):
    otto = personas["otto"]
    client = client_for(otto)
    form = client.get(f"/securite/incidents/nouveau/?alerte={scraping.pk}").content.decode()
    assert f'name="alerte" value="{scraping.pk}"' in form
    assert f"Alerte {scraping.pk}" in form or f"Alert {scraping.pk}" in form
    data = {"alerte": scraping.pk, "structure": tilleuls.pk, **form_data(title="Consultation massive")}
    response = client.post("/securite/incidents/nouveau/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get()
    scraping.refresh_from_db()
    assert scraping.incident == incident and scraping.acknowledged_at is not None
    linked = AuditEntry.objects.get(action="security.alert_incident_opened")
    assert linked.actor_id == otto.pk and linked.details == {"kind": "mass_consultation", "incident": incident.pk}


def test_the_worker_runs_the_detection_from_its_cursor(personas):
    from cordee.worker.jobs import Scheduler, registered

    (job,) = [job for job in registered() if job.name == "security.detect"]
    alice = personas["alice"]
    for _ in range(12):
        do_record_failure(alice.email, "198.51.100.1", from_("198.51.100.1", CURL))
    assert Scheduler([job]).run_due() == ["security.detect"]
    assert kinds() == ["failed_logins_account"]
    cursor = DetectionCursor.objects.get(name="audit").seq
    assert cursor == AuditEntry.objects.filter(action="login.failed").order_by("-seq").first().seq
    assert do_detect().scanned == AuditEntry.objects.filter(seq__gt=cursor).count()  # only what came since


def test_lock_the_account_and_end_its_sessions(client, personas, scraping):
    from django.test import Client

    from cordee.accounts.models import AccountLock
    from tests.conftest import login_as

    charlie, otto = personas["charlie"], personas["otto"]
    charlies = Client()
    login_as(charlies, charlie)
    assert charlies.get("/").status_code == 200
    login_as(client, otto)
    assert client.post(url(scraping, "verrouiller/")).status_code == 302
    assert AccountLock.objects.get(email=charlie.email).locked_until > timezone.now() + dt.timedelta(hours=23)
    locked = AuditEntry.objects.get(action="security.account_locked")
    assert locked.actor_id == otto.pk and locked.target_id == str(charlie.pk)
    assert locked.details["alert"] == scraping.pk
    assert charlies.get("/").status_code == 302  # his session is over


def test_locking_needs_a_recent_sign_in_and_is_refused_to_others(client_for, personas, scraping):
    from cordee.accounts.models import AccountLock

    response = client_for(personas["otto"], recent=False).post(url(scraping, "verrouiller/"))
    assert "/accounts/reauthenticate/" in response["Location"]
    assert client_for(personas["alice"]).post(url(scraping, "verrouiller/")).status_code == 404
    assert not AccountLock.objects.exists()


def test_the_home_card_links_a_detection_alert_to_its_page(client_for, personas, scraping):
    html = client_for(personas["otto"]).get("/").content.decode()
    assert f'href="{url(scraping)}"' in html
