"""An upload cut off by the client, against Cordée really served by uvicorn: nothing is kept."""

from __future__ import annotations

import socket
import time

import pytest
from django.conf import settings

from cordee.messaging.models import Attachment
from cordee.vault.models import Blob
from tests.browser.conftest import cordee_server  # noqa: F401  (uvicorn in a thread, on the test database)
from tests.browser.support import orm
from tests.messaging.conftest import session_cookie, stored_files

pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")


def _post_raw(port: int, cookie: str, conversation_id: int, body: bytes, announced: int) -> bytes:
    csrf = "b" * 32
    head = (
        f"POST /api/messaging/conversations/{conversation_id}/attachments HTTP/1.1\r\n"
        f"Host: localhost:{port}\r\n"
        f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}; {settings.CSRF_COOKIE_NAME}={csrf}\r\n"
        f"X-CSRFToken: {csrf}\r\nX-File-Name: coupe.bin\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {announced}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        if len(body) < announced:
            return b""  # the client goes away in the middle of its upload
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_an_upload_cut_off_by_the_client_leaves_nothing(cordee_server, alice, threads, blob_dir):  # noqa: F811
    port = int(cordee_server.url.rsplit(":", 1)[1])
    cookie = orm(session_cookie, alice)
    data = bytes(range(256)) * 4096  # 1 MiB
    _post_raw(port, cookie, threads["direct"].pk, data[: len(data) // 2], len(data))
    time.sleep(0.5)
    answer = _post_raw(port, cookie, threads["direct"].pk, data, len(data))  # the same upload, whole
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert orm(lambda: (Attachment.objects.count(), Blob.objects.count())) == (1, 1)
    assert len(stored_files(blob_dir)) == 1
