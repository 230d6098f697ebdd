"""Fixtures of the messaging tests: the demo conversations, sessions for sockets, a socket client.

The personas' demo data (``cordee.messaging.demo``) gives three conversations: Alice↔Bob
(direct), Paula's care-team thread (Alice, Bob, Sam acting for Alice) and Alice↔Paula.
"""

from __future__ import annotations

import itertools

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from cordee.messaging.models import Conversation
from tests.conftest import login_as

_keys = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys):06d}"


@pytest.fixture
def threads(personas) -> dict[str, Conversation]:
    return {
        "direct": Conversation.objects.get(kind=Conversation.Kind.DIRECT, pair_key__startswith="d:"),
        "care": Conversation.objects.get(kind=Conversation.Kind.CARE_TEAM),
        "patient": Conversation.objects.get(kind=Conversation.Kind.PATIENT),
    }


@pytest.fixture
def in_memory_layer(settings):
    """Consumer tests use the in-process channel layer (the embedded default's) even when REDIS_URL is set."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "cordee.messaging.layers.LocalChannelLayer"}}


def session_cookie(user) -> str:
    client = Client()
    login_as(client, user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def communicator(cookie: str | None, *, origin: str = "http://localhost") -> WebsocketCommunicator:
    from cordee.asgi import application

    headers = [(b"host", b"localhost"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/messagerie/", headers=headers)


async def receive_type(comm: WebsocketCommunicator, kind: str, *, timeout: float = 3) -> dict:
    """The next frame of type ``kind``, skipping others (notices, read marks…)."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame


@pytest.fixture(autouse=True)
def blob_dir(settings, tmp_path):
    """Attachments of each test in their own directory (the vault's blob store)."""
    settings.BLOB_BACKEND = "local"
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR


def stored_files(root) -> list:
    """Every file left in a blob directory (ciphertexts and any half-written upload)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def client_as(user) -> Client:
    """A browser of its own for ``user`` (``client_for`` re-uses one client for everybody)."""
    client = Client()
    login_as(client, user)
    return client
