"""Pages of referrals: each one anonymous (to the login), outsider (the 404 of a missing one),
allowed (rendered, audited)."""

from __future__ import annotations

import pytest
from django.test import Client

from cordee.referrals import services
from cordee.referrals.models import Referral, RequestAttachment
from tests.conftest import without_csrf
from tests.documents.conftest import read_all
from tests.referrals.conftest import MISSING_ID, client_as, last_entry

pytestmark = pytest.mark.django_db


def pages(referral):
    return [f"/adressages/{referral.pk}/", f"/adressages/{referral.pk}/lettre.pdf"]


def test_anonymous_goes_to_the_login(referral, patient):
    for url in [
        *pages(referral),
        "/adressages/",
        "/adressages/envoyes/",
        f"/adressages/patient/{patient.pk}/nouveau/",
        "/adressages/annuaire/?q=petit",
    ]:
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_outsider_gets_the_same_404_as_missing(referral, personas):
    otto = client_as(personas["otto"])
    for url in pages(referral):
        missing = otto.get(url.replace(str(referral.pk), str(MISSING_ID)))
        forbidden = otto.get(url)
        assert missing.status_code == forbidden.status_code == 404
        assert without_csrf(missing.content) == without_csrf(forbidden.content)
    assert otto.get(f"/adressages/{referral.pk}/accept/").status_code == 405
    assert otto.post(f"/adressages/{referral.pk}/accept/").status_code == 404
    referral.refresh_from_db()
    assert referral.state == Referral.State.SENT


def test_write_a_referral_with_an_attachment(alice, charlie, patient, document):
    client = client_as(alice)
    page = client.get(f"/adressages/patient/{patient.pk}/nouveau/")
    assert page.status_code == 200 and "ECG du 2 mars" in page.content.decode()
    found = client.get("/adressages/annuaire/?q=cardio")
    assert "Charlie Petit" in found.content.decode() and "10000000025" in found.content.decode()
    response = client.post(
        f"/adressages/patient/{patient.pk}/nouveau/",
        {"receiver": charlie.pk, "reason": "Palpitations", "urgency": "urgent", "document": [document.pk], "send": "1"},
    )
    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/adressages/{referral.pk}/"
    assert referral.state == "sent" and RequestAttachment.objects.filter(request_id=referral.pk).count() == 1
    # Without a receiver: the form again, with the message.
    again = client.post(
        f"/adressages/patient/{patient.pk}/nouveau/", {"reason": "x", "urgency": "routine", "send": "1"}
    )
    assert again.status_code == 400 and "professionnel vérifié" in again.content.decode()


def test_receiver_reads_downloads_and_steps(alice, charlie, patient, document):
    referral = services.check_create_referral(
        alice, patient.pk, receiver_id=charlie.pk, reason="Souffle", attachments=[("document", document.pk)], send=True
    )
    client = client_as(charlie)
    page = client.get(f"/adressages/{referral.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "Souffle" in text and "ECG du 2 mars" in text
    assert last_entry("referral.read", patient_id=patient.pk).actor_id == charlie.pk
    row = RequestAttachment.objects.get(request_id=referral.pk)
    download = client.get(f"/adressages/{referral.pk}/piece/{row.pk}/")
    assert download.status_code == 200 and read_all(download).startswith(b"%PDF")
    assert last_entry("referral.downloaded", patient_id=patient.pk).actor_id == charlie.pk
    assert client.get(f"/adressages/{referral.pk}/piece/{MISSING_ID}/").status_code == 404
    letter = client.get(f"/adressages/{referral.pk}/lettre.pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    assert client.post(f"/adressages/{referral.pk}/accept/").status_code == 302
    # Out of order: back to the page with the message, nothing changed.
    response = client.post(f"/adressages/{referral.pk}/seen/", follow=True)
    assert "pas possible" in response.content.decode()
    received = client.get("/adressages/")
    assert f"/adressages/{referral.pk}/" in received.content.decode()


def test_lists_filters_and_overdue_flag(alice, charlie, referral):
    import datetime as dt

    from django.utils import timezone

    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - dt.timedelta(days=1))
    sent = client_as(alice).get("/adressages/envoyes/?retard=1&urgence=week&etat=sent")
    assert f"/adressages/{referral.pk}/" in sent.content.decode() and "en retard" in sent.content.decode()
    none = client_as(alice).get("/adressages/envoyes/?urgence=urgent")
    assert f"/adressages/{referral.pk}/" not in none.content.decode()
    assert client_as(alice).get("/adressages/envoyes/?etat=junk&urgence=%00&page=x").status_code == 200
    assert client_as(personas_user(referral)).get("/adressages/").status_code == 404  # a patient has no list


def personas_user(referral):
    return referral.patient.user


def test_patient_sees_state_who_when_not_the_text(paula, referral):
    client = client_as(paula)
    page = client.get(f"/adressages/{referral.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "Envoyé" in text and "Charlie Petit" in text
    assert "Palpitations" not in text and "Amlodipine" not in text
    assert client.get(f"/adressages/{referral.pk}/lettre.pdf").status_code == 404
    mine = client.get("/avis/mes-demandes/")
    assert f"/adressages/{referral.pk}/" in mine.content.decode()


def test_reads_appear_in_the_patients_access_history(charlie, paula, referral):
    client_as(charlie).get(f"/adressages/{referral.pk}/")
    history = client_as(paula).get("/patients/mon-historique/").content.decode()
    assert "Charlie Petit" in history and "A lu un adressage vous concernant" in history


def test_report_with_a_file_of_the_record(alice, charlie, referral, document):
    client = client_as(charlie)
    client.post(f"/adressages/{referral.pk}/accept/")  # he joins the care team: the record opens to him
    page = client.get(f"/adressages/{referral.pk}/").content.decode()
    assert "ECG du 2 mars" in page
    client.post(f"/adressages/{referral.pk}/report/", {"report": "Vu, RAS.", "document": [document.pk]})
    row = RequestAttachment.objects.get(request_id=referral.pk)
    assert row.in_report and row.object_id == str(document.pk)
    assert "avec le compte rendu" in client_as(alice).get(f"/adressages/{referral.pk}/").content.decode()


def test_the_lists_name_the_patient_and_say_so_once_her_data_are_erased(alice, charlie, patient, personas):
    from cordee.expertise.demo import seed_requests
    from cordee.vault import services as vault

    seed_requests(personas)  # a referral and a tele-expertise request for Paula, from Alice to Charlie
    for url in ("/adressages/", "/avis/"):
        page = client_as(charlie).get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "Paula BERNARD (" in page, url
    for url in ("/adressages/envoyes/", "/avis/envoyes/"):
        assert "Paula BERNARD (" in client_as(alice).get(url).content.decode(), url
    vault.do_shred(patient, by=alice, reason="Demande d'effacement (RGPD art. 17)")
    for url in ("/adressages/", "/avis/"):
        response = client_as(charlie).get(url, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200 and "Paula" not in response.content.decode()
        assert "patient effacé" in response.content.decode(), url


def test_the_directory_finds_by_city_and_postcode_and_says_where(alice, charlie):
    from cordee.accounts.models import Membership, Structure

    elsewhere = Structure.objects.create(name="Cabinet du Vieux-Port", city="Marseille", postcode="13002")
    Membership.objects.create(user=charlie, structure=elsewhere)
    client = client_as(alice)

    def names(query: str) -> str:
        return client.get("/adressages/annuaire/", {"q": query}).content.decode()

    assert "Charlie Petit" in names("marseille") and "Alice Martin" not in names("marseille")
    assert "Charlie Petit" in names("cardio marseille") and "Charlie Petit" not in names("cardio brest")
    assert "Charlie Petit" in names("130") and "Charlie Petit" not in names("29200")
    assert "Lyon, Marseille" in names("petit")  # where he works, to tell namesakes apart
    assert "Charlie Petit" in names("10000000025")  # an RPPS still works
    assert names("petit").count("Charlie Petit") == 1  # two structures, one line
