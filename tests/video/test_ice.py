"""ICE servers: STUN as configured, TURN with credentials of the TURN REST scheme (coturn's
use-auth-secret), never the secret itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.urls import reverse

from cordee.video import ice
from tests.conftest import login_as

pytestmark = pytest.mark.django_db

SECRET = "test-turn-secret-0123456789"


@pytest.fixture
def turn(settings):
    settings.VIDEO_STUN_URLS = ["stun:127.0.0.1:3478"]
    settings.VIDEO_TURN_URLS = ["turn:127.0.0.1:3478?transport=udp"]
    settings.VIDEO_TURN_SECRET = SECRET
    settings.VIDEO_TURN_TTL_SECONDS = 600


def test_turn_credentials_follow_the_rest_scheme(turn):
    servers = ice.ice_servers(42, now=1_000_000)["iceServers"]
    assert servers[0] == {"urls": ["stun:127.0.0.1:3478"]}
    turn_server = servers[1]
    assert turn_server["username"] == "1000600:42"
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"1000600:42", hashlib.sha1).digest()).decode()
    assert turn_server["credential"] == expected
    assert SECRET not in json.dumps(servers)


def test_no_turn_without_its_settings(settings):
    settings.VIDEO_STUN_URLS = []
    settings.VIDEO_TURN_URLS = []
    assert ice.ice_servers(1)["iceServers"] == []


def test_ice_endpoint_gives_fresh_credentials_to_the_call_members_only(alice, charlie, turn):
    from cordee.messaging.models import Conversation
    from cordee.video.models import Call

    call = Call.objects.create(conversation=Conversation.objects.get(kind="direct"), started_by=alice)
    url = reverse("video:ice", kwargs={"call_id": call.pk})
    assert Client().get(url).status_code == 302
    outsider = Client()
    login_as(outsider, charlie)
    assert outsider.get(url).status_code == 404
    assert outsider.get(reverse("video:ice", kwargs={"call_id": 999999})).status_code == 404
    client = Client()
    login_as(client, alice)
    response = client.get(url)
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    body = response.json()
    username = body["iceServers"][1]["username"]
    _expiry, user_id = username.split(":")
    assert user_id == str(alice.pk) and body["ttl"] == 600
    assert SECRET not in response.content.decode()
    Call.objects.filter(pk=call.pk).update(state=Call.State.ENDED)
    assert client.get(url).status_code == 404
