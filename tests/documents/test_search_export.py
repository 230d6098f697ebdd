"""Search in the record (encrypted titles matched in memory) and the ZIP export, audited."""

from __future__ import annotations

import io
import tempfile
import zipfile

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from pypdf import PdfReader

from cordee.documents import purposes
from cordee.documents.export import SpooledStream
from tests.documents.conftest import MISSING_ID, client_as, last_entry, pdf_bytes, png_bytes, read_all, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(alice, bob, paula, patient):
    alice_client, bob_client = client_as(alice), client_as(bob)
    upload(alice_client, patient.pk, pdf_bytes(), doc_type="biologie", title="Bilan rénal", act_date="2026-01-10")
    upload(
        alice_client,
        patient.pk,
        pdf_bytes(),
        doc_type="courrier",
        title="Lettre à l’Hôpital Nord",
        act_date="2026-02-01",
    )
    upload(
        bob_client,
        patient.pk,
        png_bytes(),
        name="plaie.png",
        doc_type="photo",
        title="Plaie du talon",
        act_date="2026-03-05",
    )
    upload(client_as(paula), patient.pk, pdf_bytes(), doc_type="autre", title="Mon carnet", act_date="2026-03-06")


def _titles(response) -> list[str]:
    return [document.title for document in response.context["results"]]


def test_search_by_words_without_case_nor_accents(alice, patient, record):
    client = client_as(alice)
    assert _titles(client.get(f"/dossier/patient/{patient.pk}/recherche/", {"q": "hopital"})) == [
        "Lettre à l’Hôpital Nord"
    ]
    assert _titles(client.get(f"/dossier/patient/{patient.pk}/recherche/", {"q": "BILAN renal"})) == ["Bilan rénal"]
    assert _titles(client.get(f"/dossier/patient/{patient.pk}/recherche/", {"q": "absent"})) == []
    entry = last_entry("patient.read", actor_id=alice.pk)
    assert entry.purpose == purposes.RECORD_SEARCH


def test_search_by_type_author_and_dates(alice, bob, patient, record):
    client = client_as(alice)
    url = f"/dossier/patient/{patient.pk}/recherche/"
    assert _titles(client.get(url, {"type": "photo"})) == ["Plaie du talon"]
    assert _titles(client.get(url, {"auteur": bob.pk})) == ["Plaie du talon"]
    assert _titles(client.get(url, {"du": "2026-02-01", "au": "2026-03-05"})) == [
        "Plaie du talon",
        "Lettre à l’Hôpital Nord",
    ]
    junk = client.get(url, {"type": "x", "auteur": "'; drop", "du": "demain", "q": "<svg>" * 50})
    assert junk.status_code == 200 and junk.context["results"] == []


def test_the_patient_searches_only_what_she_sees(paula, patient, record):
    titles = _titles(client_as(paula).get(f"/dossier/patient/{patient.pk}/recherche/", {"du": "2000-01-01"}))
    assert "Bilan rénal" not in titles and "Plaie du talon" not in titles  # results and photos wait for her doctor
    assert set(titles) == {"Lettre à l’Hôpital Nord", "Mon carnet"}


def test_searching_a_record_one_cannot_open_is_the_404(charlie, patient):
    client = client_as(charlie)
    assert client.get(f"/dossier/patient/{patient.pk}/recherche/", {"q": "bilan"}).status_code == 404
    assert client.get(f"/dossier/patient/{MISSING_ID}/recherche/", {"q": "bilan"}).status_code == 404


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.is_async  # an async iterator: Django's ASGI handler would read a sync one whole
    data = read_all(response)
    assert len(data) == int(response["Content-Length"])
    return zipfile.ZipFile(io.BytesIO(data))


def test_a_professional_exports_the_whole_record(alice, patient, record):
    archive = _zip(client_as(alice).post(f"/dossier/patient/{patient.pk}/export/"))
    names = archive.namelist()
    assert names[0] == "index.pdf" and len(names) == 5
    index = "".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read("index.pdf"))).pages)
    assert "Bilan rénal" in index and "Plaie du talon" in index
    photo = next(name for name in names if name.endswith(".png"))
    assert archive.read(photo).startswith(b"\x89PNG")
    entry = last_entry(purposes.EXPORTED)
    assert (entry.actor_id, entry.patient_id, entry.purpose, entry.details["documents"]) == (
        alice.pk,
        patient.pk,
        purposes.RECORD_EXPORT,
        4,
    )


def test_the_patient_exports_what_she_sees(paula, patient, record):
    archive = _zip(client_as(paula).post(f"/dossier/patient/{patient.pk}/export/"))
    assert len(archive.namelist()) == 3  # the index, the letter, her own document
    assert last_entry(purposes.EXPORTED).actor_id == paula.pk


def test_the_export_needs_a_recent_login_and_the_right_to_open(alice, charlie, sam, patient, record, client):
    from tests.conftest import login_as

    login_as(client, alice, recent=False)
    stale = client.post(f"/dossier/patient/{patient.pk}/export/")
    assert stale.status_code == 302 and "reauthenticate" in stale["Location"]
    for user in (charlie, sam):
        assert client_as(user).post(f"/dossier/patient/{patient.pk}/export/").status_code == 404
    assert client_as(alice).get(f"/dossier/patient/{patient.pk}/export/").status_code == 405


def test_exported_bytes_are_the_documents(alice, patient):
    data = pdf_bytes(text="Exact")
    upload(client_as(alice), patient.pk, data, doc_type="courrier")
    archive = _zip(client_as(alice).post(f"/dossier/patient/{patient.pk}/export/"))
    (name,) = [n for n in archive.namelist() if n.startswith("documents/")]
    assert archive.read(name) == data


def _spool(data: bytes):
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the stream under test)
    spool.write(data)
    spool.seek(0)
    return spool


def test_the_spooled_archive_is_read_in_chunks_then_closed():
    data = bytes(range(256)) * 40
    spool = _spool(data)
    stream = SpooledStream(spool, chunk_size=1000)

    async def collect() -> list[bytes]:
        return [chunk async for chunk in stream]

    chunks = async_to_sync(collect)()
    assert b"".join(chunks) == data and len(chunks) == 11 and max(map(len, chunks)) == 1000
    assert spool.closed


def test_the_spool_is_closed_when_the_client_goes_away_mid_way():
    spool = _spool(b"x" * 5000)
    stream = SpooledStream(spool, chunk_size=1000)

    async def first_then_leave() -> bytes:
        chunks = aiter(stream)
        first = await anext(chunks)
        await chunks.aclose()  # what the ASGI server does when the client disconnects
        return first

    assert async_to_sync(first_then_leave)() == b"x" * 1000
    assert spool.closed


def test_the_spool_is_closed_with_an_answer_never_read():
    spool = _spool(b"x" * 10)
    response = StreamingHttpResponse(SpooledStream(spool), content_type="application/zip")
    response.close()  # the handler closes every answer it sent (or did not send)
    assert spool.closed
