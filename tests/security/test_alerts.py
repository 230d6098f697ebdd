"""The security officer's review of break-the-glass alerts: who sees them, the review, its entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from cordee.accounts.models import Membership, Structure
from cordee.audit.models import AuditEntry
from cordee.care.services import check_break_glass
from cordee.security.models import Alert
from cordee.security.services import do_review_alert
from tests.conftest import without_csrf

URL = "/securite/alertes/"
REASON = "Patiente inconsciente aux urgences, traitement à vérifier"


def review_url(alert_id) -> str:
    return f"/securite/alertes/{alert_id}/revue/"


@pytest.fixture
def alert(charlie, patient) -> Alert:
    check_break_glass(charlie, str(patient.pk), REASON)
    return Alert.objects.get()


@pytest.fixture
def patient(paula):
    return paula.patient


def _last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-seq").first()
    assert entry is not None
    return entry


def test_queue_needs_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_officer_sees_the_alert_with_its_reason_and_the_view_is_audited(client_for, otto, alert):
    html = client_for(otto).get(URL).content.decode()
    assert "Charlie Petit" in html and "RPPS 10000000025" in html and REASON in html
    assert review_url(alert.pk) in html
    assert "BERNARD" not in html  # the officer reviews the access, not the record
    entry = _last("security.alerts_viewed")
    assert entry.actor_id == otto.pk and entry.details == {"alerts": [alert.pk]}
    assert entry.category == AuditEntry.Category.SECURITY


@pytest.mark.parametrize("who", ["alice", "charlie", "sam", "paula"])
def test_others_get_404(client_for, personas, alert, who):
    client = client_for(personas[who])
    assert client.get(URL).status_code == 404
    assert client.post(review_url(alert.pk), {"verdict": "justified", "comment": "ok"}).status_code == 404
    alert.refresh_from_db()
    assert not alert.is_reviewed


def test_officer_review_is_saved_and_audited(client_for, otto, alert):
    client = client_for(otto)
    response = client.post(review_url(alert.pk), {"verdict": "unjustified", "comment": "Pas d'urgence ce jour-là."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.verdict, alert.comment, alert.reviewed_by_id) == ("unjustified", "Pas d'urgence ce jour-là.", otto.pk)
    entry = _last("security.alert_reviewed")
    assert (entry.actor_id, entry.patient_id, entry.target_id) == (otto.pk, alert.patient_id, str(alert.pk))
    assert entry.details == {"kind": "break_glass", "verdict": "unjustified", "grant": alert.break_glass_id}
    assert "urgence" not in str(entry.details)  # the comment stays with the alert
    assert "Pas d&#x27;urgence ce jour-là." in client.get(URL).content.decode()


@pytest.mark.parametrize(
    "data",
    [{}, {"verdict": "justified"}, {"verdict": "justified", "comment": "   "}, {"verdict": "maybe", "comment": "x"}],
)
def test_incomplete_review_is_refused_and_keeps_what_was_typed(client_for, otto, alert, data):
    response = client_for(otto).post(review_url(alert.pk), data)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    if data.get("comment", "").strip():
        assert data["comment"] in response.content.decode()
    alert.refresh_from_db()
    assert not alert.is_reviewed


@pytest.mark.usefixtures("english")
def test_a_review_is_final(otto, alert):
    do_review_alert(alert, "justified", "Urgence réelle.", by=otto)
    with pytest.raises(Exception, match="already reviewed"):
        do_review_alert(alert, "unjustified", "Non.", by=otto)


@pytest.mark.usefixtures("english")
def test_officers_cannot_review_their_own_access(otto, alert):
    alert.actor_id = otto.pk
    alert.save(update_fields=["actor_id"])
    with pytest.raises(Exception, match="own emergency"):
        do_review_alert(alert, "justified", "Moi.", by=otto)


def test_officer_of_another_structure_gets_the_answer_for_a_missing_alert(client_for, otto, alert, settings):
    settings.DEBUG = False
    elsewhere = Structure.objects.create(name="Ailleurs", kind=Structure.Kind.CABINET)
    Membership.objects.filter(user=otto).update(structure=elsewhere)
    client = client_for(otto)
    forbidden = client.post(review_url(alert.pk), {"verdict": "justified", "comment": "x"})
    missing = client.post(review_url(999999), {"verdict": "justified", "comment": "x"})
    assert forbidden.status_code == missing.status_code == 404
    assert without_csrf(forbidden.content) == without_csrf(missing.content)
    with pytest.raises(PermissionDenied):
        do_review_alert(alert, "justified", "x", by=otto)


def test_review_needs_a_recent_sign_in(client_for, otto, alert):
    response = client_for(otto, recent=False).post(review_url(alert.pk), {"verdict": "justified", "comment": "x"})
    assert "/accounts/reauthenticate/" in response["Location"]
    alert.refresh_from_db()
    assert not alert.is_reviewed
