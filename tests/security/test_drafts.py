"""Drafts from an incident (issue 17, item 8): the CNIL notification (art. 33(3)), the patients'
letters (art. 34), their approval by an officer, and the notice in the patient's space."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cordee.audit.models import AuditEntry
from cordee.security import drafts
from cordee.security.models import BreachNotice, Incident
from cordee.security.services.incidents import do_declare_incident, do_update_incident
from cordee.security.services.notices import do_approve_drafts
from cordee.security.services.scoping import do_scope_incident
from tests.security.test_register import facts
from tests.security.test_scoping import T1, T2, scenario  # noqa: F401  (the fixture of the known scenario)

CONSEQUENCES = "Un tiers a pu lire des messages de suivi."


@pytest.fixture
def scoped(otto, bob, structure, scenario) -> Incident:  # noqa: F811  (the fixture imported above)
    incident = do_declare_incident(
        structure,
        facts(consequences=CONSEQUENCES, measures_taken="Compte de Bob bloqué, sessions révoquées."),
        by=otto,
    )
    return do_scope_incident(incident, [bob], T1, T2, by=otto)


def _decide(incident, otto, decision="notify"):
    values = {"patients_decision": decision, "patients_reasoning": "Messages lus : risque élevé pour les patients."}
    return do_update_incident(incident, values, by=otto)


def _last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-seq").first()
    assert entry is not None
    return entry


@pytest.mark.usefixtures("english")
def test_the_cnil_draft_has_the_fields_of_art_33_3(scoped):
    fields = dict(drafts.cnil_fields(scoped))
    for label in (
        "(a) Nature of the breach",
        "(a) Categories of data concerned",
        "(a) Approximate number of people and of records concerned",
        "(b) Contact point (data protection officer)",
        "(c) Likely consequences",
        "(d) Measures taken",
        "(d) Measures proposed, including to mitigate the effects",
    ):
        assert label in fields
    assert fields["(a) Approximate number of people and of records concerned"].startswith("2 patients, 7 records")
    assert "Messages" in fields["(a) Categories of data concerned"]
    assert fields["(c) Likely consequences"] == CONSEQUENCES
    assert drafts.cnil_pdf(scoped).startswith(b"%PDF")


@pytest.mark.usefixtures("english")
def test_the_letter_says_what_happened_what_data_and_whom_to_contact(scoped, paula):
    notice = BreachNotice.objects.get(incident=scoped, patient=paula.patient)
    letter = dict(drafts.letter(notice))
    assert list(letter) == [
        "What happened",
        "Which of your data",
        "What it may mean for you",
        "What was done",
        "Whom to contact",
    ]
    assert "Messages" in letter["Which of your data"] and "Files" in letter["Which of your data"]
    assert "dpo@example.org" in letter["Whom to contact"]
    assert drafts.letter_pdf(notice).startswith(b"%PDF")


def test_nothing_is_sent_before_approval_and_approval_needs_a_decision(scoped, otto, paula, client_for):
    assert not BreachNotice.objects.filter(sent_at__isnull=False).exists()
    assert client_for(paula).get("/securite/mes-avis/").status_code == 404
    with pytest.raises(ValidationError):
        do_approve_drafts(scoped, by=otto)  # the patients' decision is still pending


def test_approval_sends_the_notices_audited_per_patient(scoped, otto, paula, client_for):
    client = client_for(otto)
    _decide(scoped, otto)
    response = client.post(f"/securite/incidents/{scoped.pk}/approuver/")
    assert response.status_code == 302
    scoped.refresh_from_db()
    assert scoped.approved_at is not None
    assert BreachNotice.objects.filter(incident=scoped, sent_at__isnull=False).count() == 2
    approved = _last("security.drafts_approved")
    assert approved.actor_id == otto.pk and approved.details == {"notices": 2, "patients_decision": "notify"}
    sent = AuditEntry.objects.filter(action="security.notice_sent")
    assert sent.count() == 2 and paula.patient.pk in set(sent.values_list("patient_id", flat=True))
    assert client.post(f"/securite/incidents/{scoped.pk}/approuver/").status_code == 302  # refused: already approved
    assert AuditEntry.objects.filter(action="security.drafts_approved").count() == 1


def test_paula_sees_her_notice_in_her_space(scoped, otto, paula, client_for):
    _decide(scoped, otto)
    do_approve_drafts(scoped, by=otto)
    client = client_for(paula)
    assert "/securite/mes-avis/" in client.get("/").content.decode()
    html = client.get("/securite/mes-avis/").content.decode()
    assert CONSEQUENCES in html and "Compte de Bob bloqué" in html
    notice = BreachNotice.objects.get(incident=scoped, patient=paula.patient)
    opened = _last("security.notice_opened")
    assert (opened.actor_id, opened.patient_id, opened.purpose) == (paula.pk, paula.patient.pk, "security.notice_view")
    response = client.get(f"/securite/mes-avis/{notice.pk}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_no_notice_is_sent_when_the_decision_is_not_to_inform(scoped, otto):
    _decide(scoped, otto, decision="none")
    do_approve_drafts(scoped, by=otto)
    assert not BreachNotice.objects.filter(sent_at__isnull=False).exists()
    assert _last("security.drafts_approved").details["notices"] == 0


def test_approval_needs_a_recent_sign_in(scoped, otto, client_for):
    _decide(scoped, otto)
    response = client_for(otto, recent=False).post(f"/securite/incidents/{scoped.pk}/approuver/")
    assert "/accounts/reauthenticate/" in response["Location"]
    scoped.refresh_from_db()
    assert scoped.approved_at is None


def test_officer_downloads_the_drafts_audited(scoped, otto, paula, client_for):
    client = client_for(otto)
    response = client.get(f"/securite/incidents/{scoped.pk}/notification-cnil.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _last("security.cnil_draft_downloaded").target_id == str(scoped.pk)
    notice = BreachNotice.objects.get(incident=scoped, patient=paula.patient)
    response = client.get(f"/securite/incidents/{scoped.pk}/avis/{notice.pk}.pdf")
    assert response.status_code == 200
    opened = _last("security.notice_opened")
    assert (opened.actor_id, opened.patient_id) == (otto.pk, paula.patient.pk)
    html = client.get(f"/securite/incidents/{scoped.pk}/").content.decode()
    assert "notices-caption" in html and "BERNARD" not in html  # the page names patients by number only


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "paula"])
def test_others_get_404_for_the_drafts(scoped, personas, otto, client_for, who, settings):
    settings.DEBUG = False
    notice = BreachNotice.objects.filter(incident=scoped).first()
    client = client_for(personas[who])
    for url in (
        f"/securite/incidents/{scoped.pk}/notification-cnil.pdf",
        f"/securite/incidents/{scoped.pk}/avis/{notice.pk}.pdf",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/securite/incidents/{scoped.pk}/approuver/").status_code == 404
    scoped.refresh_from_db()
    assert scoped.approved_at is None


def test_another_patient_cannot_open_paulas_notice(scoped, otto, paula, client_for, settings):
    settings.DEBUG = False
    _decide(scoped, otto)
    do_approve_drafts(scoped, by=otto)
    other = BreachNotice.objects.exclude(patient=paula.patient).get(incident=scoped)
    assert client_for(paula).get(f"/securite/mes-avis/{other.pk}.pdf").status_code == 404
    assert client_for(paula).get("/securite/mes-avis/abc.pdf").status_code == 404


# --- the ARS / CERT Santé report, and the notices as secure messages (issue 17, items 8) ---------


@pytest.mark.usefixtures("english")
def test_the_ars_report_has_the_sections_of_the_national_form(scoped, client_for, otto):
    fields = dict(drafts.ars_fields(scoped))
    for label in (
        "1. Structure concerned",
        "1. Declarant (name, function, contact)",
        "2. Date and time the incident was found",
        "2. Perimeter",
        "2. Information systems and data concerned",
        "2. State of handling",
        "3. Impact on the data",
        "3. Impact on the people (patients, professionals)",
        "4. Causes, if identified",
    ):
        assert label in fields
    assert fields["2. Perimeter"].startswith("1 compromised account(s) in Cordée between")
    assert "2 patients, 7 records" in fields["3. Impact on the data"]
    assert fields["3. Patients concerned"] == "2"
    response = client_for(otto).get(f"/securite/incidents/{scoped.pk}/signalement-ars.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _last("security.ars_draft_downloaded").target_id == str(scoped.pk)
    assert 'id="ars-fields"' in client_for(otto).get(f"/securite/incidents/{scoped.pk}/").content.decode()


@pytest.mark.parametrize("who", ["alice", "bob", "paula"])
def test_others_get_404_for_the_ars_report(scoped, personas, client_for, who):
    assert client_for(personas[who]).get(f"/securite/incidents/{scoped.pk}/signalement-ars.pdf").status_code == 404
    assert not AuditEntry.objects.filter(action="security.ars_draft_downloaded").exists()


def test_the_approved_notice_reaches_paula_as_a_secure_message(
    scoped, otto, paula, client_for, django_capture_on_commit_callbacks
):
    from cordee.messaging.models import Conversation, Message

    _decide(scoped, otto)
    assert not Conversation.objects.filter(pair_key__startswith="s:").exists()  # nothing before approval
    with django_capture_on_commit_callbacks(execute=True):
        do_approve_drafts(scoped, by=otto)
    notice = BreachNotice.objects.get(incident=scoped, patient=paula.patient)
    conversation = Conversation.objects.get(pair_key=f"s:{notice.pk}")
    assert set(conversation.members.values_list("user_id", flat=True)) == {otto.pk, paula.pk}
    (message,) = Message.objects.filter(conversation=conversation)
    assert message.sender_id == otto.pk and CONSEQUENCES in message.body
    # The other patient has no account: her letter is the PDF to post, no message.
    assert Conversation.objects.filter(pair_key__startswith="s:").count() == 1
    client = client_for(paula)
    assert client.get(f"/messagerie/{conversation.pk}/").status_code == 200
    page = client.get(f"/api/messaging/conversations/{conversation.pk}/messages").json()
    assert CONSEQUENCES in str(page)
