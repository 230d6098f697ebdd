"""Automatic scoping (issue 17, item 7) against a scenario whose ground truth the test knows.

Bob's account was used by an attacker between T1 and T2. The trail holds what the attacker did
through it, and what must not count: Bob before T1 and at T2 (the window is [T1, T2)), Alice in
the window, Bob's refused attempts, Bob's entries that name no patient. Runs on SQLite and, with
DATABASE_URL, on PostgreSQL (CI runs both).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from cordee.accounts.models import Patient
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.security.models import BreachNotice
from cordee.security.services.incidents import do_declare_incident
from cordee.security.services.scoping import accessed_by, do_scope_incident
from tests.audit.conftest import TABLE, attacker, sql
from tests.security.test_register import facts

T1 = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
INSIDE = T1 + dt.timedelta(hours=2)


def _patient(name: str) -> Patient:
    return Patient.objects.create(
        birth_name=name, birth_given_names="Test", birth_date=dt.date(1980, 1, 1), sex="F", birth_place_code="75056"
    )


def _entry(actor, action: str, patient: Patient | None, *, at=INSIDE, target=("", ""), purpose="", outcome="success"):
    audit.record(
        action,
        actor=actor,
        target_type=target[0],
        target_id=target[1],
        patient_id=patient.pk if patient else None,
        purpose=purpose,
        outcome=outcome,
        category=AuditEntry.Category.ACCESS if patient else AuditEntry.Category.SECURITY,
        at=at,
    )


@pytest.fixture
def scenario(alice, bob, paula):
    p1, p2, p3, p4 = paula.patient, _patient("DEUX"), _patient("TROIS"), _patient("QUATRE")
    me = ("accounts.patient", str(p1.pk))
    # Through Bob's account, in the window:
    for _ in range(3):
        _entry(bob, "patient.read", p1, target=me, purpose="patient.view")
    _entry(bob, "conversation.read", p1, target=("messaging.conversation", "10"), purpose="messaging.read")
    _entry(bob, "conversation.read", p1, target=("messaging.conversation", "10"), purpose="messaging.read")
    _entry(bob, "conversation.read", p1, target=("messaging.conversation", "11"), purpose="messaging.read")
    _entry(bob, "message.sent", p1, target=("messaging.message", "501"), purpose="messaging.send")
    _entry(bob, "conversation.read", p1, target=("messaging.conversation", "10"), purpose="messaging.download")
    _entry(bob, "conversation.read", p1, target=("messaging.conversation", "10"), purpose="messaging.download")
    _entry(bob, "patient.export", p2, target=("accounts.patient", str(p2.pk)), purpose="patient.access_history.export")
    _entry(bob, "care.member_added", p2, target=("accounts.user", "77"), purpose="care_team.change")
    # What must not count:
    _entry(bob, "patient.read", p3, target=("accounts.patient", str(p3.pk)), outcome="denied")  # refused
    _entry(bob, "patient.read", p3, at=T1 - dt.timedelta(seconds=1))  # before the window
    _entry(bob, "patient.read", p3, at=T2)  # the window's end is excluded
    _entry(alice, "patient.read", p4, purpose="patient.view")  # another account
    _entry(bob, "login.success", None)  # no patient
    return p1, p2, p3, p4


EXPECTED = {
    ("p1", "identity"): {"entries": 3, "records": 1, "reads": 3, "downloads": 0, "changes": 0},
    ("p1", "messages"): {"entries": 4, "records": 3, "reads": 3, "downloads": 0, "changes": 1},
    ("p1", "files"): {"entries": 2, "records": 1, "reads": 0, "downloads": 2, "changes": 0},
    ("p2", "identity"): {"entries": 1, "records": 1, "reads": 0, "downloads": 1, "changes": 0},
    ("p2", "care_team"): {"entries": 1, "records": 1, "reads": 0, "downloads": 0, "changes": 1},
}


def test_the_grouped_query_finds_exactly_the_ground_truth_in_one_query(scenario, bob, django_assert_num_queries):
    p1, p2, *_ = scenario
    names = {p1.pk: "p1", p2.pk: "p2"}
    with django_assert_num_queries(1):
        rows = accessed_by([bob.pk], T1, T2)
    found = {(names[r["patient_id"]], r["category_"]): {k: r[k] for k in EXPECTED[("p1", "identity")]} for r in rows}
    assert found == EXPECTED


def test_scoping_an_incident_stores_the_figures_drafts_notices_and_is_audited(scenario, otto, bob, structure):
    p1, p2, *_ = scenario
    incident = do_declare_incident(structure, facts(), by=otto)
    incident = do_scope_incident(incident, [bob], T1, T2, by=otto)
    scope = incident.scope
    assert scope["audit_verified"] is True and scope["ciphertext_only"] is False
    assert scope["totals"] == {"patients": 2, "records": 7, "entries": 11}
    assert scope["by_category"]["messages"] == {"patients": 1, "records": 3, "entries": 4}
    assert scope["by_category"]["identity"] == {"patients": 2, "records": 2, "entries": 4}
    assert set(scope["patients"]) == {str(p1.pk), str(p2.pk)}
    notices = {n.patient_id: n for n in BreachNotice.objects.filter(incident=incident)}
    assert set(notices) == {p1.pk, p2.pk} and all(n.sent_at is None for n in notices.values())
    assert notices[p2.pk].categories["care_team"]["changes"] == 1
    entry = AuditEntry.objects.filter(action="security.incident_scoped").get()
    assert (entry.actor_id, entry.target_id) == (otto.pk, str(incident.pk))
    assert entry.details["accounts"] == [bob.pk] and entry.details["totals"]["patients"] == 2
    assert entry.patient_id is None and "DEUX" not in str(entry.details)


def test_a_database_copy_without_the_key_exposes_only_ciphertext(scenario, otto, structure):
    incident = do_declare_incident(structure, facts(), by=otto)
    incident = do_scope_incident(incident, [], T1, T2, dump=True, by=otto)
    assert incident.scope["ciphertext_only"] is True
    assert incident.scope["dump_patients"] == Patient.objects.count()
    assert not BreachNotice.objects.filter(incident=incident).exists()  # art. 34(3)(a): no letter owed
    from cordee.security.services.scoping import reasoning

    with_key = do_scope_incident(incident, [], T1, T2, dump=True, key_exposed=True, by=otto)
    assert with_key.scope["ciphertext_only"] is False
    assert BreachNotice.objects.filter(incident=incident).count() == Patient.objects.count()
    assert len(reasoning(with_key.scope)) == 1


@pytest.mark.usefixtures("english")
def test_the_reasoning_names_art_34_3_a(scenario, otto, structure):
    from cordee.security.services.scoping import reasoning

    incident = do_scope_incident(do_declare_incident(structure, facts(), by=otto), [], T1, T2, dump=True, by=otto)
    said = " ".join(reasoning(incident.scope))
    assert "art. 34(3)(a)" in said and "key encryption key" in said


def test_a_tampered_trail_is_said_so(scenario, otto, bob, structure):
    victim = AuditEntry.objects.filter(action="message.sent").get()
    with attacker():
        sql(f"UPDATE {TABLE} SET target_id = %s WHERE seq = %s", ["999", victim.seq])  # noqa: S608 (constant table)
    incident = do_scope_incident(do_declare_incident(structure, facts(), by=otto), [bob], T1, T2, by=otto)
    assert incident.scope["audit_verified"] is False and incident.scope["audit_problems"] >= 1


def test_the_officer_scopes_from_the_incident_page(client_for, otto, bob, structure, scenario):
    incident = do_declare_incident(structure, facts(), by=otto)
    url = f"/securite/incidents/{incident.pk}/perimetre/"
    window = {"start": "2026-03-01T23:00", "end": "2026-03-02T07:00"}  # Paris time = T1, T2
    client = client_for(otto)
    response = client.post(url, {"accounts": [bob.pk], **window})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.scope["totals"]["patients"] == 2
    html = client.get(f"/securite/incidents/{incident.pk}/").content.decode()
    assert "scope-caption" in html and "DEUX" not in html
    # Bad input: nothing compromised, a reversed window, an account of another structure.
    assert client.post(url, window).status_code == 400
    assert client.post(url, {"accounts": [bob.pk], "start": window["end"], "end": window["start"]}).status_code == 400
    assert client.post(url, {"accounts": [999999], **window}).status_code == 400


def test_scoping_needs_a_recent_sign_in_and_others_get_404(client_for, otto, alice, bob, structure, settings):
    settings.DEBUG = False
    incident = do_declare_incident(structure, facts(), by=otto)
    url = f"/securite/incidents/{incident.pk}/perimetre/"
    data = {"accounts": [bob.pk], "start": "2026-03-01T23:00", "end": "2026-03-02T07:00"}
    assert "/accounts/reauthenticate/" in client_for(otto, recent=False).post(url, data)["Location"]
    assert client_for(alice).post(url, data).status_code == 404
    incident.refresh_from_db()
    assert incident.scope == {}


def test_runs_on_the_database_of_the_run():
    assert connection.vendor in ("sqlite", "postgresql")


def test_the_chain_is_verified_from_the_last_checkpoint_before_the_window(scenario, otto, bob, structure):
    from cordee.audit.checkpoints import make_checkpoint
    from cordee.security.services.scoping import verify_window

    old = AuditEntry.objects.order_by("seq").first()
    sealed = make_checkpoint(now=T1 - dt.timedelta(days=2))
    assert sealed is not None and sealed.seq > old.seq
    audit.record("login.success", actor=bob)
    after = verify_window(T1)
    assert after.ok and (after.first_seq, after.entries) == (sealed.seq + 1, 1)  # only what follows the seal
    with attacker():  # an entry the checkpoint sealed before the window: not walked again
        sql(f"UPDATE {TABLE} SET target_id = %s WHERE seq = %s", ["999", old.seq])  # noqa: S608 (constant table)
    assert verify_window(T1).ok
    assert not verify_window(T1 - dt.timedelta(days=3)).ok  # a window before the checkpoint: the whole walk
