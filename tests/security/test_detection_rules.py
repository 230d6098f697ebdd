"""The detection rules added for issue 17's remaining list: unusual sign-in hours, one account in
two places at once, a new country, the audit trail failing to verify, imports of unusual size;
the automatic responses and the officers' push. Each replayed, each silent on normal traffic."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.test import Client
from django.utils import timezone

from cordee.accounts.models import AccountLock
from cordee.accounts.services.lockout import do_record_failure
from cordee.audit.models import AuditEntry
from cordee.lib import modules
from cordee.security import networks
from cordee.security.models import Alert
from cordee.security.services import do_detect
from tests.audit.conftest import TABLE, attacker, sql
from tests.conftest import login_as
from tests.security.test_detection import CURL, FIREFOX, detections, from_, kinds, normal_day, write

HOME, CAFE = "198.51.100.20", "203.0.113.66"


@pytest.fixture
def tilleuls(personas):
    return personas["otto"].memberships.get().structure


@pytest.fixture
def countries(settings, tmp_path):
    path = tmp_path / "countries.csv"
    path.write_text("network,country\n192.0.2.0/24,FR\n198.51.100.0/24,FR\n203.0.113.0/24,BR\n2001:db8::/32,DE\n")
    settings.DETECT_COUNTRY_DATABASE = str(path)
    networks._database.cache_clear()
    yield path
    networks._database.cache_clear()


def at_hour(days: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def sign_ins(user, *, days: int, hour: int = 8, ip: str = "192.0.2.11") -> None:
    """One sign-in a day around ``hour`` for ``days`` days, ending two days ago."""
    for day in range(days + 1, 1, -1):
        write("login.success", user, at=at_hour(day, hour, 10 * (day % 5)), ip=ip, target=user)


# --- networks and countries -------------------------------------------------------------------


def test_network_distance_and_countries(settings, countries):
    assert networks.network("192.0.2.77") == "192.0.0.0/16"
    assert not networks.distant("192.0.2.1", "192.0.200.1")  # the same /16
    assert networks.distant("192.0.2.1", "198.51.100.20")
    assert not networks.distant("192.0.2.1", "2001:db8::1")  # dual stack: not called distant
    assert not networks.distant("192.0.2.1", "not an address")
    assert networks.distant("2001:db8::1", "2001:db9::1")
    assert networks.country("192.0.2.9") == "FR" and networks.country("203.0.113.1") == "BR"
    assert networks.country("2001:db8::5") == "DE" and networks.country("10.0.0.1") == ""
    settings.DETECT_PREFIX_V4 = 8
    assert not networks.distant("192.0.2.1", "192.168.1.1")


def test_without_a_country_database_there_is_no_country(settings):
    settings.DETECT_COUNTRY_DATABASE = ""
    assert not networks.has_countries() and networks.country("192.0.2.9") == ""
    settings.DETECT_COUNTRY_DATABASE = "/nonexistent/countries.csv"
    networks._database.cache_clear()
    assert not networks.has_countries() and networks.country("192.0.2.9") == ""
    networks._database.cache_clear()


# --- unusual hours ----------------------------------------------------------------------------


def test_a_sign_in_at_night_for_a_daytime_account(personas, tilleuls):
    alice = personas["alice"]
    sign_ins(alice, days=12)
    do_detect()
    assert kinds() == []
    write("login.success", alice, at=at_hour(0, 3, 12), ip="192.0.2.11", target=alice)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.UNUSUAL_HOURS)
    assert alert.actor_id == alice.pk and alert.structure == tilleuls and alert.severity == Alert.Severity.MEDIUM
    assert alert.figures["hour"] == 3 and alert.figures["signins"] == 12 and alert.figures["usual"] == [8]
    # An hour next to a known one is not unusual (DETECT_HOURS_MARGIN = 1).
    write("login.success", alice, at=at_hour(0, 9, 30), ip="192.0.2.11", target=alice)
    do_detect()
    assert len(detections(kind=Alert.Kind.UNUSUAL_HOURS)) == 1


def test_no_profile_before_enough_sign_ins(personas, settings):
    bob = personas["bob"]
    sign_ins(bob, days=settings.DETECT_HOURS_MIN_SIGNINS - 1)
    write("login.success", bob, at=at_hour(0, 3), ip="192.0.2.11", target=bob)
    do_detect()
    assert kinds() == []


def test_each_account_is_judged_on_its_own_period_when_read_together(personas, settings):
    """The profiles of a batch's accounts are read in one query, from the earliest account's
    period: each still counts only its own ``DETECT_HOURS_HISTORY_DAYS`` before its sign-in."""
    settings.DETECT_HOURS_HISTORY_DAYS, settings.DETECT_HOURS_MIN_SIGNINS = 7, 3
    alice, bob = personas["alice"], personas["bob"]
    for day in range(20, 9, -1):  # Bob's nights, long ago (outside his 7 days)...
        write("login.success", bob, at=at_hour(day, 3), ip="192.0.2.11", target=bob)
    for day in range(6, 1, -1):  # ...and his mornings of the last days
        write("login.success", bob, at=at_hour(day, 8), ip="192.0.2.11", target=bob)
    do_detect()
    assert all(alert.figures["hour"] == 8 for alert in detections(kind=Alert.Kind.UNUSUAL_HOURS))  # the change
    # One batch: Alice's sign-in two weeks ago (her period reaches back to Bob's nights), Bob's tonight.
    write("login.success", alice, at=at_hour(14, 8), ip="192.0.2.11", target=alice)
    write("login.success", bob, at=at_hour(0, 3, 5), ip="192.0.2.11", target=bob)
    do_detect()
    (alert,) = [alert for alert in detections(kind=Alert.Kind.UNUSUAL_HOURS) if alert.figures["hour"] == 3]
    assert alert.actor_id == bob.pk and alert.figures["usual"] == [8] and alert.figures["signins"] == 5


# --- two places at once, and the automatic revocation -----------------------------------------


def test_a_session_used_from_two_networks_at_once_is_revoked(personas, tilleuls, django_capture_on_commit_callbacks):
    charlie, otto = personas["charlie"], personas["otto"]
    browser = Client()
    login_as(browser, charlie)
    assert browser.get("/").status_code == 200
    start = timezone.now() - dt.timedelta(minutes=3)
    # Charlie at the office; his cookie replayed from a café, back and forth within minutes.
    for i, ip in enumerate(["192.0.2.13", CAFE, "192.0.2.13", CAFE, "192.0.2.13"]):
        write("patient.read", charlie, at=start + dt.timedelta(seconds=30 * i), ip=ip, patient_id=7000 + i)
    pushed = []

    def listen(sender, entry, user_ids, **kwargs):
        pushed.append((entry, user_ids() if callable(user_ids) else user_ids))

    modules.something_waits.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            do_detect()
    finally:
        modules.something_waits.disconnect(listen)

    (alert,) = detections(kind=Alert.Kind.TWO_PLACES)
    assert alert.actor_id == charlie.pk and alert.severity == Alert.Severity.HIGH
    assert alert.figures["switches"] == 4 and alert.figures["networks"] == 2 and len(alert.evidence) == 5
    (response,) = alert.responses
    assert response["action"] == "sessions_revoked" and response["sessions"] >= 1 and response["by"] == "detection"
    automatic = AuditEntry.objects.get(action="security.auto_response")
    assert automatic.target_id == str(charlie.pk) and automatic.details["alerts"] == [alert.pk]
    assert browser.get("/").status_code == 302  # his sessions are over
    # The officers' browsers are told an alert waits: the entry only, no account, no patient.
    assert ("alertes", [otto.pk]) in pushed
    # The officer sees the response on the alert's page.
    html = Client()
    login_as(html, otto)
    page = html.get(f"/securite/alertes/{alert.pk}/").content.decode()
    assert 'id="responses"' in page


def test_moving_once_to_another_network_is_not_two_places(personas):
    bob = personas["bob"]
    start = timezone.now() - dt.timedelta(minutes=30)
    for i in range(4):
        write("patient.read", bob, at=start + dt.timedelta(minutes=i), ip="192.0.2.12", patient_id=7100 + i)
    for i in range(4):  # the 4G of his phone on the way to a home visit
        write("patient.read", bob, at=start + dt.timedelta(minutes=10 + i), ip=HOME, patient_id=7200 + i)
    do_detect()
    assert not detections(kind=Alert.Kind.TWO_PLACES)


def test_no_automatic_revocation_when_turned_off(personas, settings):
    settings.DETECT_AUTO_REVOKE = False
    charlie = personas["charlie"]
    start = timezone.now() - dt.timedelta(minutes=3)
    for i, ip in enumerate(["192.0.2.13", CAFE, "192.0.2.13"]):
        write("patient.read", charlie, at=start + dt.timedelta(seconds=30 * i), ip=ip, patient_id=7000 + i)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.TWO_PLACES)
    assert alert.responses == [] and not AuditEntry.objects.filter(action="security.auto_response").exists()


# --- brute force locked automatically ---------------------------------------------------------


def test_an_account_under_brute_force_is_locked(personas, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1000  # the sign-in lockout alone would not lock it
    alice = personas["alice"]
    for i in range(12):
        do_record_failure(alice.email, f"198.51.100.{i}", from_(f"198.51.100.{i}", CURL))
    assert not AccountLock.objects.filter(email=alice.email).exists()
    do_detect()
    (alert,) = detections(kind=Alert.Kind.FAILED_LOGINS_ACCOUNT)
    assert alert.responses[0]["action"] == "locked"
    lock = AccountLock.objects.get(email=alice.email)
    assert lock.locked_until > timezone.now() + dt.timedelta(hours=settings.DETECT_LOCK_HOURS - 1)
    automatic = AuditEntry.objects.get(action="security.auto_response")
    assert automatic.target_id == str(alice.pk) and automatic.details["action"] == "locked"


def test_no_automatic_lock_when_turned_off(personas, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1000
    settings.DETECT_AUTO_LOCK = False
    alice = personas["alice"]
    for i in range(12):
        do_record_failure(alice.email, f"198.51.100.{i}", from_(f"198.51.100.{i}", CURL))
    do_detect()
    (alert,) = detections(kind=Alert.Kind.FAILED_LOGINS_ACCOUNT)
    assert alert.responses == [] and not AccountLock.objects.filter(email=alice.email).exists()


# --- a new country ----------------------------------------------------------------------------


def test_a_sign_in_from_a_new_country(personas, tilleuls, countries):
    alice = personas["alice"]
    sign_ins(alice, days=3)
    write("login.success", alice, at=timezone.now(), ip="203.0.113.9", agent=FIREFOX, target=alice)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.NEW_COUNTRY)
    assert alert.severity == Alert.Severity.HIGH and alert.figures["country"] == "BR"
    assert alert.figures["known"] == ["FR"] and alert.structure == tilleuls


def test_no_new_country_without_the_database(personas, settings):
    settings.DETECT_COUNTRY_DATABASE = ""
    alice = personas["alice"]
    sign_ins(alice, days=3)
    write("login.success", alice, at=timezone.now(), ip="203.0.113.9", target=alice)
    do_detect()
    assert not detections(kind=Alert.Kind.NEW_COUNTRY)


# --- the audit trail fails to verify ----------------------------------------------------------


def test_an_altered_entry_raises_an_audit_verification_alert(personas):
    alice = personas["alice"]
    sign_ins(alice, days=2)
    assert do_detect().verified
    entry = write("patient.read", alice, at=timezone.now(), patient_id=7300)
    write("patient.read", alice, at=timezone.now(), patient_id=7301)
    with attacker():
        sql(f"UPDATE {TABLE} SET patient_id = 7399 WHERE seq = %s", [entry.seq])  # noqa: S608
    outcome = do_detect()
    assert not outcome.verified
    (alert,) = detections(kind=Alert.Kind.AUDIT_VERIFICATION)
    assert alert.structure is None and alert.severity == Alert.Severity.HIGH  # the operator's queue
    assert alert.figures["seq"] == entry.seq and alert.figures["problem"] == "altered"
    assert alert.evidence == [entry.seq]
    do_detect()  # still broken: the same problem, no second alert
    assert len(detections(kind=Alert.Kind.AUDIT_VERIFICATION)) == 1


def test_the_verification_can_be_turned_off(personas, settings):
    settings.DETECT_AUDIT_VERIFY = False
    entry = write("patient.read", personas["alice"], at=timezone.now(), patient_id=7300)
    with attacker():
        sql(f"UPDATE {TABLE} SET patient_id = 7399 WHERE seq = %s", [entry.seq])  # noqa: S608
    assert do_detect().verified
    assert not detections(kind=Alert.Kind.AUDIT_VERIFICATION)


# --- imports of unusual size ------------------------------------------------------------------


def imported(user, rows: int, *, at: dt.datetime, structure: int | None = None, action: str = "annuaire.imported"):
    return write(
        action,
        user,
        at=at,
        target_type="accounts.annuaireimport",
        target_id=rows,
        details={"structure": structure, "rows": rows, "kind": "bdpm" if action.startswith("drugs") else None},
    )


def test_an_import_ten_times_the_usual_size(personas, tilleuls):
    ada = personas["ada"]
    start = timezone.now() - dt.timedelta(days=30)
    for week, rows in enumerate((1000, 1100, 950, 1050)):
        imported(ada, rows, at=start + dt.timedelta(days=7 * week), structure=tilleuls.pk)
    imported(ada, 1200, at=timezone.now() - dt.timedelta(hours=2), structure=tilleuls.pk)  # usual
    imported(ada, 9000, at=timezone.now() - dt.timedelta(hours=1), structure=None)  # another series: no history
    do_detect()
    assert not detections(kind=Alert.Kind.IMPORT_SIZE)
    big = imported(ada, 12000, at=timezone.now(), structure=tilleuls.pk)
    do_detect()
    (alert,) = detections(kind=Alert.Kind.IMPORT_SIZE)
    assert alert.evidence == [big.seq] and alert.figures["rows"] == 12000 and alert.figures["median"] == 1050
    assert alert.structure == tilleuls
    shrunk = imported(ada, 100, at=timezone.now(), structure=tilleuls.pk)  # a tenth: replaced by a stub?
    do_detect()
    assert [alert.evidence for alert in detections(kind=Alert.Kind.IMPORT_SIZE)][-1] == [shrunk.seq]


# --- false positives --------------------------------------------------------------------------


def test_a_normal_fortnight_raises_no_alert_of_the_new_rules(personas, countries):
    """Fourteen generated normal days (the same generator as the first rules'): enough sign-ins
    for every professional's hour profile, with the country database on; nothing is raised."""
    rng = random.Random(1717)
    today = timezone.localdate()
    written = sum(normal_day(personas, today - dt.timedelta(days=days), rng) for days in range(14, 0, -1))
    assert written > 2000
    do_detect()
    assert kinds() == []
