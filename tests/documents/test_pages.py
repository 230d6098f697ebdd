"""The record's pages: the record and its timeline, a document, its download and preview."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cordee.documents import purposes
from cordee.documents.models import RecordItem
from cordee.documents.services import do_add_to_record
from cordee.messaging.models import Conversation
from cordee.messaging.services.sending import SendRequest, do_send_message
from tests.conftest import without_csrf
from tests.documents.conftest import MISSING_ID, client_as, last_entry, pdf_bytes, png_bytes, read_all, upload

pytestmark = pytest.mark.django_db


def test_the_record_page_lists_the_documents_newest_first(alice, patient, lab_result):
    client = client_as(alice)
    upload(client, patient.pk, pdf_bytes(), doc_type="courrier", title="Courrier du cardiologue", act_date="2026-04-01")
    page = client.get(f"/dossier/patient/{patient.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.index("Courrier du cardiologue") < text.index("Bilan sanguin du 2 mars")
    assert "non montré au patient" in text and 'id="upload-form"' in text
    entry = last_entry("patient.read", actor_id=alice.pk)
    assert entry.purpose == purposes.RECORD_VIEW


def test_the_record_of_a_patient_one_cannot_open_is_the_404_of_a_missing_one(charlie, patient):
    client = client_as(charlie)
    forbidden = client.get(f"/dossier/patient/{patient.pk}/")
    missing = client.get(f"/dossier/patient/{MISSING_ID}/")
    assert forbidden.status_code == missing.status_code == 404
    assert without_csrf(forbidden.content) == without_csrf(missing.content)
    assert client.get("/dossier/patient/abc/").status_code == 404


def test_pages_need_a_login(client, lab_result):
    version = lab_result.versions.get()
    for url in (
        f"/dossier/patient/{lab_result.patient_id}/",
        f"/dossier/document/{lab_result.pk}/",
        f"/dossier/version/{version.pk}/telecharger/",
        f"/dossier/version/{version.pk}/apercu/",
    ):
        assert client.get(url).status_code == 302


def test_the_document_page_shows_the_versions_and_the_preview(alice, bob, lab_result):
    from tests.documents.conftest import new_version

    new_version(client_as(alice), lab_result.pk, pdf_bytes(text="corrigé"), reason="Erreur d’unité corrigée")
    page = client_as(bob).get(f"/dossier/document/{lab_result.pk}/")
    text = page.content.decode()
    assert "v2" in text and "v1" in text and "Erreur d’unité corrigée" in text and "Alice Martin" in text
    assert "Page 1 du document" in text
    entry = last_entry(purposes.READ, actor_id=bob.pk)
    assert (entry.purpose, entry.patient_id, entry.category) == (
        purposes.DOCUMENT_VIEW,
        lab_result.patient_id,
        "access",
    )


def test_a_download_is_an_attachment_never_rendered(alice, patient):
    data = b"Compte rendu : 2 < 3 & 4 > 1\n"
    client = client_as(alice)
    document_id = upload(client, patient.pk, data, name="cr.txt", doc_type="cr_consultation").json()["id"]
    version = client.get(f"/dossier/document/{document_id}/").context["current"]
    response = client.get(f"/dossier/version/{version.pk}/telecharger/")
    assert read_all(response) == data
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    entry = last_entry(purposes.DOWNLOADED)
    assert (entry.actor_id, entry.purpose, entry.details["version"]) == (alice.pk, purposes.DOCUMENT_DOWNLOAD, 1)


def test_previews_are_cordees_own_images_of_each_page(alice, lab_result):
    client = client_as(alice)
    version = lab_result.versions.get()
    first = client.get(f"/dossier/version/{version.pk}/apercu/")
    assert first.status_code == 200 and first["Content-Type"] in ("image/png", "image/jpeg")
    second = client.get(f"/dossier/version/{version.pk}/apercu/?page=2")
    assert second.status_code == 200 and second.content != first.content
    assert client.get(f"/dossier/version/{version.pk}/apercu/?page=3").status_code == 404
    assert client.get(f"/dossier/version/{version.pk}/apercu/?page=x").status_code == 404


def test_a_version_one_cannot_reach_is_the_404(charlie, paula, lab_result):
    version = lab_result.versions.get()
    for user in (charlie, paula):  # outside the team; the patient, while the result is hidden from her
        client = client_as(user)
        forbidden = client.get(f"/dossier/version/{version.pk}/telecharger/")
        missing = client.get(f"/dossier/version/{MISSING_ID}/telecharger/")
        assert forbidden.status_code == missing.status_code == 404
        assert without_csrf(forbidden.content) == without_csrf(missing.content)


def test_paula_sees_only_what_is_shown_to_her_and_her_reads_history(alice, bob, paula, patient, lab_result):
    client = client_as(alice)
    letter = upload(client, patient.pk, pdf_bytes(), doc_type="courrier", title="Lettre de sortie").json()["id"]
    client_as(bob).get(f"/dossier/document/{letter}/")
    mine = client_as(paula)
    record = mine.get("/dossier/", follow=True)
    text = record.content.decode()
    assert "Lettre de sortie" in text and "Bilan sanguin" not in text
    assert "Message dans le fil" not in text  # the care team's thread is not hers
    version = mine.get(f"/dossier/document/{letter}/").context["current"]
    assert read_all(mine.get(f"/dossier/version/{version.pk}/telecharger/")).startswith(b"%PDF")
    history = mine.get("/patients/mon-historique/").content.decode()
    assert "A ouvert un document de votre dossier" in history
    assert "Bob" in history and "Alice" in history


def test_the_patient_page_links_to_the_record_and_paula_has_her_card(alice, paula, patient):
    page = client_as(alice).get(f"/patients/{patient.pk}/").content.decode()
    assert f"/dossier/patient/{patient.pk}/" in page and "Dossier : documents et chronologie" in page
    home = client_as(paula).get("/").content.decode()
    assert "Mon dossier" in home and f"/dossier/patient/{patient.pk}/" in home


def test_care_team_messages_are_lines_of_the_timeline_titles_only(alice, patient, personas):
    thread = Conversation.objects.get(kind=Conversation.Kind.CARE_TEAM)
    do_send_message(SendRequest(alice, thread.pk, "Kaliémie à 6,1 : on arrête le spironolactone", "test-key-record-1"))
    item = RecordItem.objects.filter(kind="message").order_by("-pk").first()
    assert (item.patient_id, item.author_id, item.link_id, item.title) == (patient.pk, alice.pk, str(thread.pk), None)
    page = client_as(alice).get(f"/dossier/patient/{patient.pk}/?type=message").content.decode()
    assert "Message dans le fil de l’équipe de soins" in page and "Kaliémie" not in page
    from cordee.messaging.services.editing import do_delete_message

    do_delete_message(alice, item.target_id)
    assert not RecordItem.objects.filter(pk=item.pk).exists()  # a deleted message leaves the timeline


def _fill(patient, alice, count: int) -> None:
    now = timezone.now()
    for n in range(count):
        do_add_to_record(
            patient,
            kind="document",
            target=RecordItem(pk=10_000 + n),
            occurred_at=now - dt.timedelta(hours=n),
            author=alice,
            title=f"Ligne {n}",
            doc_type="courrier",
        )


@pytest.mark.parametrize("count", [3, 30])
def test_the_timeline_costs_the_same_whatever_its_length(alice, patient, count, django_assert_num_queries):
    from cordee.documents import timeline

    _fill(patient, alice, count)
    patient.refresh_from_db()
    with django_assert_num_queries(3):  # count, page, authors
        page = timeline.timeline(patient, "care_team", timeline.Filters(), 1)
        titles = [item.title for item in page.object_list]
        timeline.authors(patient, "care_team")
    assert len(titles) == min(count, timeline.ITEMS_PER_PAGE)


def test_the_record_page_costs_the_same_for_3_and_30_lines(alice, patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(alice)
    counts = []
    for count in (3, 27):  # 3 lines, then 30
        if counts:
            _more(patient, alice, count)
        else:
            _fill(patient, alice, count)
        client.get(f"/dossier/patient/{patient.pk}/")  # the keys' caches warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/dossier/patient/{patient.pk}/").status_code == 200
        counts.append(len(queries))
    assert RecordItem.objects.filter(patient=patient).count() >= 30
    assert counts[0] == counts[1]


def _more(patient, alice, count: int) -> None:
    for n in range(count):
        do_add_to_record(
            patient,
            kind="document",
            target=RecordItem(pk=20_000 + n),
            occurred_at=timezone.now() - dt.timedelta(days=2, hours=n),
            author=alice,
            title=f"Autre ligne {n}",
            doc_type="courrier",
        )


def test_the_timeline_filters_by_type_and_author(alice, bob, patient):
    upload(client_as(alice), patient.pk, pdf_bytes(), doc_type="courrier", title="Courrier A")
    upload(client_as(bob), patient.pk, png_bytes(), name="plaie.png", doc_type="photo", title="Photo de la plaie")
    client = client_as(alice)
    by_type = client.get(f"/dossier/patient/{patient.pk}/?type=photo").content.decode()
    assert "Photo de la plaie" in by_type and "Courrier A" not in by_type
    by_author = client.get(f"/dossier/patient/{patient.pk}/?auteur={alice.pk}").content.decode()
    assert "Courrier A" in by_author and "Photo de la plaie" not in by_author
    junk = client.get(f"/dossier/patient/{patient.pk}/?type=<svg>&auteur=x&page=zz")
    assert junk.status_code == 200  # junk filters are ignored
