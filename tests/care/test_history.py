"""Patients see who accessed their data (and a treating professional sees it for them), on a
page and as a PDF; both are audited and take a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.history import ENTRIES_PER_PAGE
from cordee.care.models import BreakGlassGrant
from tests.care.conftest import last_entry, same_as_missing

MINE = "/patients/mon-historique/"
MINE_PDF = "/patients/mon-historique/pdf/"


def history_url(patient_id) -> str:
    return f"/patients/{patient_id}/historique/"


def pdf_url(patient_id) -> str:
    return f"/patients/{patient_id}/historique/pdf/"


def _accesses(user, patient, n: int, *, days_apart: bool = False, purpose=purposes.PATIENT_VIEW) -> None:
    """``n`` reads of the record by ``user``: the same day (one row of the history), or one a day."""
    now = timezone.now()
    for i in range(n):
        audit.record(
            purposes.READ,
            actor=user,
            patient_id=patient.pk,
            purpose=purpose,
            category=AuditEntry.Category.ACCESS,
            details={"structure": "Maison de santé des Tilleuls"},
            at=now - dt.timedelta(days=n - i) if days_apart else None,
        )


@pytest.mark.parametrize("url", [MINE, MINE_PDF])
def test_needs_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_patient_sees_who_opened_their_record(client_for, alice, paula, patient):
    client_for(alice).get(f"/patients/{patient.pk}/")
    client = client_for(paula)
    client.get(f"/patients/{patient.pk}/")  # her own reads are not listed
    html = client.get(MINE).content.decode()
    assert "Alice Martin" in html and "RPPS 10000000009" in html and "Médecin" in html
    assert "Maison de santé des Tilleuls" in html
    assert "Paula Bernard" not in html
    entry = last_entry(purposes.READ, purpose=purposes.ACCESS_HISTORY)
    assert (entry.actor_id, entry.patient_id, entry.category) == (paula.pk, patient.pk, AuditEntry.Category.ACCESS)


def test_history_uses_the_display_copies_of_people_who_left(client_for, bob, paula, patient):
    _accesses(bob, patient, 1)
    bob.delete()
    assert "Bob Durand" in client_for(paula).get(MINE).content.decode()


def test_treating_professional_sees_the_access_list_and_it_is_audited(client_for, alice, bob, patient):
    _accesses(bob, patient, 1)
    html = client_for(alice).get(history_url(patient.pk)).content.decode()
    assert "Bob Durand" in html
    entry = last_entry(purposes.READ, purpose=purposes.ACCESS_HISTORY)
    assert (entry.actor_id, entry.patient_id) == (alice.pk, patient.pk)


def test_break_the_glass_holder_does_not_see_the_history(client_for, charlie, patient):
    from django.utils import timezone

    BreakGlassGrant.objects.create(
        professional=charlie, patient=patient, reason="r" * 20, expires_at=timezone.now() + timezone.timedelta(hours=1)
    )
    client = client_for(charlie)
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    assert client.get(history_url(patient.pk)).status_code == 404
    assert client.get(pdf_url(patient.pk)).status_code == 404


@pytest.mark.usefixtures("production_errors")
@pytest.mark.parametrize("url_of", [history_url, pdf_url])
def test_outsider_gets_the_answer_for_a_missing_patient(client_for, charlie, patient, url_of):
    same_as_missing(client_for(charlie), url_of, patient.pk)


@pytest.mark.parametrize("url", [MINE, MINE_PDF])
def test_professionals_have_no_own_history(client_for, alice, url):
    assert client_for(alice).get(url).status_code == 404


def test_history_is_paginated_and_the_pages_keep_the_filters(client_for, alice, paula, patient):
    _accesses(alice, patient, ENTRIES_PER_PAGE + 5, days_apart=True)  # a row per day
    client = client_for(paula)
    assert 'rel="next"' in client.get(MINE).content.decode()
    assert client.get(MINE + "?page=2").status_code == 200
    html = client.get(MINE + f"?personne={alice.pk}").content.decode()
    assert f'href="?personne={alice.pk}&amp;page=2" rel="next"' in html


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())  # lines wrap in cells


def test_pdf_is_a_valid_pdf_with_names_and_accents(client_for, alice, paula, patient):
    _accesses(alice, patient, 3)
    response = client_for(paula).get(MINE_PDF)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"] and "BERNARD" not in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    text = _pdf_text(response.content)
    for expected in (
        "Alice Martin",
        "Médecin",
        "Maison de santé des Tilleuls",
        "BERNARD Paula Marie",
        "RPPS 10000000009",
    ):
        assert expected in text
    entry = last_entry(purposes.EXPORT)
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.category) == (
        paula.pk,
        patient.pk,
        purposes.ACCESS_HISTORY_EXPORT,
        AuditEntry.Category.ACCESS,
    )


def test_pdf_of_a_treating_professional_and_its_entry(client_for, alice, patient):
    response = client_for(alice).get(pdf_url(patient.pk))
    assert response.content.startswith(b"%PDF")
    assert last_entry(purposes.EXPORT).actor_id == alice.pk


def test_pdf_with_many_entries_spans_pages(client_for, alice, paula, patient):
    _accesses(alice, patient, 120, days_apart=True)
    reader = PdfReader(io.BytesIO(client_for(paula).get(MINE_PDF).content))
    assert len(reader.pages) > 1


def test_pdf_is_an_export_and_needs_a_recent_sign_in(client_for, paula):
    response = client_for(paula, recent=False).get(MINE_PDF)
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]


def _queries(client, url: str) -> int:
    client.get(url)  # warm up the session
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("url", [MINE, MINE_PDF])
def test_query_count_does_not_grow_with_the_entries(
    client_for, alice, paula, patient, url, django_assert_max_num_queries
):
    client = client_for(paula)
    _accesses(alice, patient, 1)
    few = _queries(client, url)
    _accesses(alice, patient, 2 * ENTRIES_PER_PAGE)
    assert _queries(client, url) == few
    with django_assert_max_num_queries(few):
        client.get(url)


def test_query_count_of_the_professional_page(client_for, alice, bob, patient, django_assert_max_num_queries):
    client = client_for(alice)
    _accesses(bob, patient, 1)
    few = _queries(client, history_url(patient.pk))
    _accesses(bob, patient, 2 * ENTRIES_PER_PAGE)
    assert _queries(client, history_url(patient.pk)) == few
    with django_assert_max_num_queries(few):
        client.get(history_url(patient.pk))


# --- what the patient reads: words, groups, filters, emergencies (issue 11) ----------------------


def _rows(html: str) -> list[str]:
    rows = re.findall(r"<tr[ >].*?</tr>", html, re.S)[1:]
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def test_every_purpose_is_said_in_words_never_as_a_code(client_for, alice, paula, patient):
    """A conversation about Paula, a file of it, her record: the history names none by its code."""
    from cordee.messaging import access as messaging

    for purpose in (messaging.READ, messaging.DOWNLOAD, messaging.SEND, messaging.MANAGE, purposes.PATIENT_SEARCH):
        _accesses(alice, patient, 1, purpose=purpose)
    audit.record(  # an action written with a free text, as the erasure's reason
        "patient.identity_status_changed", actor=alice, patient_id=patient.pk, category=AuditEntry.Category.ACCESS
    )
    html = unescape(client_for(paula).get(MINE).content.decode())
    for code in ("messaging.", "patient.", "care.", "break-the-glass:"):
        assert code not in " ".join(_rows(html)), code
    for words in (
        "A lu une conversation vous concernant",
        "A ouvert un fichier d'une conversation vous concernant",
        "A écrit dans une conversation vous concernant",
        "A géré une conversation vous concernant",
        "A trouvé le patient en cherchant son nom et sa date de naissance",
        "A changé le statut de votre identité",
    ):
        assert words in html, words


def test_repeated_reads_of_a_day_are_one_row_with_their_count(client_for, alice, bob, paula, patient):
    _accesses(alice, patient, 7)
    _accesses(bob, patient, 2)
    _accesses(alice, patient, 3, days_apart=True)  # three earlier days: three more rows
    rows = _rows(client_for(paula).get(MINE).content.decode())
    today = [row for row in rows if "7 fois" in row]
    assert len(today) == 1 and "Alice Martin" in today[0] and "A ouvert le dossier du patient" in today[0]
    assert any("Bob Durand" in row and "2 fois" in row for row in rows)
    assert len(rows) == 2 + 3


def test_filter_by_person_and_period(client_for, alice, bob, paula, patient):
    _accesses(alice, patient, 3, days_apart=True)  # 3, 2 and 1 days ago
    _accesses(bob, patient, 1)
    client = client_for(paula)
    html = client.get(MINE).content.decode()
    assert f'<option value="{alice.pk}">Alice Martin</option>' in html  # people of the history, to pick
    only_bob = _rows(client.get(MINE + f"?personne={bob.pk}").content.decode())
    assert len(only_bob) == 1 and "Bob Durand" in only_bob[0]
    two_days_ago = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    period = _rows(client.get(MINE + f"?du={two_days_ago}&au={two_days_ago}").content.decode())
    assert len(period) == 1 and "Alice Martin" in period[0]
    assert client.get(MINE + "?personne=abc&du=junk&au=2026-99-99").status_code == 200  # junk is ignored
    empty = client.get(MINE + "?du=1990-01-01&au=1990-01-02").content.decode()
    assert "Aucun accès ne correspond à ces filtres." in empty


def test_the_patient_reads_the_reason_of_an_emergency_access(client_for, charlie, paula, patient, otto):
    from cordee.care.services import check_break_glass

    reason = "Patiente inconsciente aux urgences, recherche d'allergies"
    check_break_glass(charlie, str(patient.pk), reason)
    client_for(charlie).get(f"/patients/{patient.pk}/")
    client = client_for(paula)
    rows = [row for row in _rows(client.get(MINE).content.decode()) if "Charlie Petit" in row]
    assert rows and all("bris de glace" in row and reason in row for row in rows)
    text = _pdf_text(client.get(MINE_PDF).content)
    assert reason in text and "bris de glace" in text


def test_the_pdf_follows_the_grouping_and_the_filters(client_for, alice, bob, paula, patient):
    _accesses(alice, patient, 4)
    _accesses(bob, patient, 1)
    client = client_for(paula)
    text = _pdf_text(client.get(MINE_PDF).content)
    assert "4 fois" in text and "Bob Durand" in text
    text = _pdf_text(client.get(MINE_PDF + f"?personne={alice.pk}").content)
    assert "Alice Martin" in text and "Bob Durand" not in text
    assert "accès d'une seule personne" in text


def test_query_count_of_the_filtered_page_does_not_grow(client_for, alice, paula, patient):
    client = client_for(paula)
    url = MINE + f"?personne={alice.pk}&du=2020-01-01"
    _accesses(alice, patient, 2, days_apart=True)
    few = _queries(client, url)
    _accesses(alice, patient, 30, days_apart=True)
    assert _queries(client, url) == few
