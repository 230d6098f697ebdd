"""Helpers of the record's tests: files of each kind, uploads through the page's endpoint.

The demo gives Paula's care team (Alice, Bob, Sam acting for Alice); Charlie is outside it.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from PIL import Image

from cordee.audit.models import AuditEntry
from cordee.documents.models import Document
from tests.conftest import login_as

MISSING_ID = 987654321


def pdf_bytes(pages: int = 1, text: str = "Résultats de biologie") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    for number in range(pages):
        page.drawString(72, 760, f"{text} — page {number + 1}")
        page.rect(72, 500, 300, 200, fill=1)
        page.showPage()
    page.save()
    return out.getvalue()


def encrypted_pdf_bytes() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf_bytes())).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def image_bomb() -> bytes:
    """A PNG of 12,000 × 12,000 pixels (144 megapixels) in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def client_as(user) -> Client:
    client = Client()
    login_as(client, user)
    return client


def upload(
    client,
    patient_id,
    data: bytes,
    *,
    name: str = "résultat.pdf",
    doc_type: str = "biologie",
    title: str = "Bilan sanguin du 2 mars",
    act_date: str = "2026-03-02",
    source: str = "Laboratoire Cerballiance",
    visible: str | None = None,
):
    headers = {
        "X-File-Name": quote(name),
        "X-Document-Type": doc_type,
        "X-Document-Title": quote(title),
        "X-Act-Date": act_date,
        "X-Document-Source": quote(source),
    }
    if visible is not None:
        headers["X-Visible"] = visible
    return client.post(
        f"/dossier/patient/{patient_id}/televerser/", data, content_type="application/octet-stream", headers=headers
    )


def new_version(client, document_id, data: bytes, *, reason: str = "Potassium corrigé", name: str = "v2.pdf"):
    return client.post(
        f"/dossier/document/{document_id}/version/",
        data,
        content_type="application/octet-stream",
        headers={"X-File-Name": quote(name), "X-Reason": quote(reason)},
    )


def read_all(response) -> bytes:
    if not response.streaming:
        return response.content
    if response.is_async:  # downloads stream from an async iterator (vault.blobs.aiter_blob)

        async def collect() -> bytes:
            return b"".join([part async for part in response.streaming_content])

        return async_to_sync(collect)()
    return b"".join(response.streaming_content)


def last_entry(action: str, **filters) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action, **filters).order_by("-seq").first()
    assert entry is not None, f"no audit entry {action} {filters}"
    return entry


@pytest.fixture
def patient(paula):
    return paula.patient


@pytest.fixture
def lab_result(alice, patient) -> Document:
    """A lab result Alice filed for Paula (hidden from Paula by default)."""
    response = upload(client_as(alice), patient.pk, pdf_bytes(pages=2))
    assert response.status_code == 201, response.content
    return Document.objects.get(pk=response.json()["id"])
