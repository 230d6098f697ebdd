"""Attachments: streamed and encrypted, typed from their bytes, previewed by Cordée, all or nothing."""

from __future__ import annotations

import io

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from PIL import Image

from cordee.audit.models import AuditEntry
from cordee.messaging.models import Attachment, Message
from cordee.messaging.services.attachments import UploadError, do_upload_attachment
from cordee.vault.models import Blob
from tests.messaging.conftest import client_as, new_key, stored_files

API = "/api/messaging"
pytestmark = pytest.mark.django_db


def png_bytes(size=(900, 600), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.save(out, "PNG", pnginfo=None)
    return out.getvalue()


def pdf_bytes() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 760, "Compte rendu de consultation")
    page.rect(72, 500, 300, 200, fill=1)
    page.showPage()
    page.save()
    return out.getvalue()


def upload(client, conversation_id, data: bytes, name: str, claimed_type: str = "application/octet-stream"):
    return client.post(
        f"{API}/conversations/{conversation_id}/attachments",
        data,
        content_type=claimed_type,
        headers={"X-File-Name": name},
    )


def read_all(response) -> bytes:
    if not response.streaming:
        return response.content
    if response.is_async:  # downloads stream from an async iterator (vault.blobs.aiter_blob)

        async def collect() -> bytes:
            return b"".join([part async for part in response.streaming_content])

        return async_to_sync(collect)()
    return b"".join(response.streaming_content)


def test_an_image_is_typed_from_its_bytes_previewed_and_downloaded_intact(alice, bob, threads):
    client = client_as(alice)
    data = png_bytes()
    response = upload(client, threads["direct"].pk, data, "radio%20genou.png", claimed_type="text/html")
    assert response.status_code == 201
    attachment = response.json()
    assert (attachment["content_type"], attachment["size"], attachment["preview"]) == ("image/png", len(data), "image")
    assert attachment["name"] == "radio genou.png"
    sent = client.post(
        f"{API}/conversations/{threads['direct'].pk}/messages",
        {"body": "", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    )
    assert sent.status_code == 201 and sent.json()["attachments"][0]["id"] == attachment["id"]
    download = client_as(bob).get(attachment["url"])
    assert download.status_code == 200
    assert read_all(download) == data
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;")
    preview = client_as(bob).get(attachment["preview_url"])
    assert preview.status_code == 200 and preview["Content-Type"] in ("image/png", "image/jpeg")
    thumbnail = Image.open(io.BytesIO(read_all(preview)))
    assert max(thumbnail.size) <= 480 and read_all(preview) != data  # our own re-encoding
    entry = AuditEntry.objects.get(action="attachment.uploaded")
    assert entry.details == {"conversation": threads["direct"].pk, "size": len(data), "content_type": "image/png"}


def test_a_pdf_gets_a_first_page_preview(alice, threads):
    response = upload(client_as(alice), threads["care"].pk, pdf_bytes(), "compte-rendu.pdf")
    assert response.status_code == 201
    assert (response.json()["content_type"], response.json()["preview"]) == ("application/pdf", "pdf")
    preview = read_all(client_as(alice).get(response.json()["preview_url"]))
    assert Image.open(io.BytesIO(preview)).size[1] == 480  # A4 portrait, fitted in 480 × 480


def test_html_and_script_stay_text_in_name_and_content(alice, bob, threads):
    client = client_as(alice)
    name = '"><img src=x onerror=alert(1)>\r\nSet-Cookie: x=1.html'
    from urllib.parse import quote

    response = upload(client, threads["direct"].pk, b"<script>alert(1)</script>", quote(name), claimed_type="text/html")
    attachment = response.json()
    assert attachment["content_type"] == "text/plain"  # never text/html, whatever the client says
    assert attachment["name"] == '"><img src=x onerror=alert(1)>Set-Cookie: x=1.html'  # kept as text, no line break
    client.post(
        f"{API}/conversations/{threads['direct'].pk}/messages",
        {"body": "voir pièce jointe", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    )
    download = client_as(bob).get(attachment["url"])
    assert download["Content-Type"] == "text/plain; charset=utf-8"
    disposition = download["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') == 2  # the quote in the name cannot close the parameter


def test_an_oversized_upload_is_refused_and_leaves_nothing(alice, threads, settings, blob_dir):
    settings.MESSAGING_ATTACHMENT_MAX_BYTES = 1024
    response = upload(client_as(alice), threads["direct"].pk, b"x" * 2048, "big.bin")
    assert response.status_code == 413
    assert not Attachment.objects.exists() and not Blob.objects.exists()
    assert stored_files(blob_dir) == []


class _CutStream(io.RawIOBase):
    """A body that stops after ``keep`` bytes: short (``fail`` False) or with an error."""

    def __init__(self, data: bytes, keep: int, *, fail: bool) -> None:
        self.data, self.keep, self.fail, self.pos = data, keep, fail, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.keep:
            if self.fail:
                raise OSError("connection reset by peer")
            return b""
        end = min(self.keep, self.pos + (size if size and size > 0 else self.keep))
        chunk, self.pos = self.data[self.pos : end], end
        return chunk


@pytest.mark.parametrize("fail", [False, True])
def test_an_upload_cut_off_halfway_leaves_nothing(alice, threads, blob_dir, fail):
    data = png_bytes((2000, 2000)) * 3
    with pytest.raises(UploadError) as refused:
        do_upload_attachment(
            alice, threads["direct"].pk, _CutStream(data, len(data) // 2, fail=fail), name="cut.png", length=len(data)
        )
    assert refused.value.code == "incomplete"
    assert not Attachment.objects.exists() and not Blob.objects.exists()
    assert stored_files(blob_dir) == []


def test_an_upload_needs_its_length(alice, threads):
    with pytest.raises(UploadError) as refused:
        do_upload_attachment(alice, threads["direct"].pk, io.BytesIO(b"abc"), name="a.txt", length=None)
    assert refused.value.code == "no_length"


def test_outsiders_and_strangers_get_the_missing_answer(alice, bob, charlie, threads):
    client = client_as(alice)
    attachment = upload(client, threads["direct"].pk, b"hello", "a.txt").json()
    assert client_as(bob).get(attachment["url"]).status_code == 404  # not sent yet: the uploader's alone
    client.post(
        f"{API}/conversations/{threads['direct'].pk}/messages",
        {"body": "ci-joint", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    )
    missing = client_as(charlie).get(f"{API}/attachments/987654")
    forbidden = client_as(charlie).get(attachment["url"])
    assert forbidden.status_code == missing.status_code == 404 and forbidden.json() == missing.json()
    assert client_as(charlie).get(f"{API}/attachments/abc").status_code == 404
    assert upload(client_as(charlie), threads["direct"].pk, b"intrus", "x.txt").status_code == 404
    assert Client().get(attachment["url"]).status_code == 401


def test_an_attachment_cannot_be_sent_twice_nor_by_someone_else(alice, bob, threads):
    client = client_as(alice)
    attachment = upload(client, threads["direct"].pk, b"hello", "a.txt").json()
    theft = client_as(bob).post(
        f"{API}/conversations/{threads['direct'].pk}/messages",
        {"body": "à moi", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    )
    assert theft.status_code == 400
    payload = {"body": "", "key": new_key(), "attachments": [attachment["id"]]}
    url = f"{API}/conversations/{threads['direct'].pk}/messages"
    assert client.post(url, payload, content_type="application/json").status_code == 201
    payload["key"] = new_key()
    assert client.post(url, payload, content_type="application/json").status_code == 400


def test_downloading_from_a_patient_thread_is_audited_and_deleting_removes_the_files(alice, paula, threads, blob_dir):
    client = client_as(alice)
    attachment = upload(client, threads["patient"].pk, png_bytes(), "plaie.png").json()
    message = client.post(
        f"{API}/conversations/{threads['patient'].pk}/messages",
        {"body": "Photo de la plaie", "key": new_key(), "attachments": [attachment["id"]]},
        content_type="application/json",
    ).json()
    read_all(client_as(paula).get(attachment["url"]))
    entry = AuditEntry.objects.filter(action="conversation.read", actor_id=paula.pk).get()
    assert (entry.patient_id, entry.purpose) == (paula.patient.pk, "messaging.download")
    assert len(stored_files(blob_dir)) == 2  # the file and its preview, both encrypted
    assert all(b"PNG" not in path.read_bytes()[:64] for path in stored_files(blob_dir))
    assert client.delete(f"{API}/messages/{message['id']}").status_code == 204
    assert not Attachment.objects.exists() and not Blob.objects.exists()
    assert Message.objects.get(pk=message["id"]).deleted_at is not None


@pytest.mark.django_db(transaction=True)  # the ASGI handler runs the view in a thread of its own
def test_a_download_through_asgi_is_streamed_segment_by_segment_not_held_whole(alice, threads, blob_dir):
    """Django's ASGI handler reads a synchronous iterator whole before sending (a 12 MiB download
    held 12 MiB); the download's asynchronous iterator decrypts a segment at a time (issue 21)."""
    import asyncio
    import os
    import tracemalloc

    from django.conf import settings

    from cordee.asgi import application
    from tests.messaging.conftest import session_cookie

    data = os.urandom(12 * 1024 * 1024)
    attachment = do_upload_attachment(alice, threads["direct"].pk, io.BytesIO(data), name="scan.bin", length=len(data))
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookie(alice)}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{API}/attachments/{attachment.pk}",
        "raw_path": f"{API}/attachments/{attachment.pk}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    received: list[bytes] = []
    status: list[int] = []

    async def serve() -> None:
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                received.append(len(message.get("body", b"")))  # sizes only: the test keeps no copy

        await application(scope, receive, send)

    async_to_sync(serve)()  # a first request imports and builds what the process keeps (not measured)
    received.clear()
    tracemalloc.start()
    try:
        async_to_sync(serve)()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == [200, 200] and sum(received) == len(data)
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MiB held at once for a {len(data) / 2**20:.0f} MiB download"
