"""Web Push notifications (issue 11, item 8), against a push service that runs on loopback.

The "browser" is a P-256 key pair and an auth secret made here; the push service is a local HTTP
server that records what Cordée posts, so that the tests read the encrypted payload back and
check that it carries no health data. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cordee.accounts.sessions import invalidate_user_sessions
from cordee.audit.models import AuditEntry
from cordee.messaging.models import Conversation
from cordee.messaging.services.sending import SendRequest, do_send_message
from cordee.web import push, services
from cordee.web.models import PushSubscription

BODY = "Les résultats de Mme Bernard sont arrivés"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class PushService:
    url: str
    received: list[dict] = field(default_factory=list)
    status: int = 201


@pytest.fixture
def push_service():
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (the standard library's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            holder["service"].received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(holder["service"].status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service = PushService(url=f"http://127.0.0.1:{server.server_address[1]}")
    holder["service"] = service
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture
def vapid_key(settings, tmp_path):
    settings.VAPID_PRIVATE_KEY_PATH = tmp_path / "vapid.pem"
    settings.VAPID_CREATE_MISSING_KEY = True
    settings.PUSH_ALLOW_HTTP_LOOPBACK = True
    push._vapid.clear()
    push._in_use.update(until=0.0)
    yield push.vapid()
    push._vapid.clear()


@dataclass
class Browser:
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}

    def read(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


def a_browser(service: PushService, name: str = "alice") -> Browser:
    return Browser(ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{service.url}/push/{name}")


def test_a_user_turns_notifications_on_for_a_browser_and_it_is_audited(client_for, bob, push_service, vapid_key):
    browser = a_browser(push_service)
    client = client_for(bob)
    page = client.get("/notifications/").content.decode()
    assert push.public_key() in page and "Nouveau message sécurisé" in page
    response = client.post("/notifications/abonnement/", browser.subscription(), content_type="application/json")
    assert response.status_code == 200
    subscription = PushSubscription.objects.get(user=bob)
    assert subscription.endpoint == browser.endpoint and subscription.language == "fr"
    assert AuditEntry.objects.filter(action="push.subscribed", actor_id=bob.pk).exists()
    response = client.post(
        "/notifications/desabonnement/", {"endpoint": browser.endpoint}, content_type="application/json"
    )
    assert response.json() == {"ok": True} and not PushSubscription.objects.exists()
    assert AuditEntry.objects.filter(action="push.unsubscribed", actor_id=bob.pk).exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.test/x",  # not https
        "https://internal.example.test/admin",  # not a push service
        "https://fcm.googleapis.com.evil.test/x",  # only the real host and its subdomains
        "https://user:pw@fcm.googleapis.com/x",
        "http://10.0.0.1/x",  # plain http only on loopback, and only when allowed
    ],
)
def test_cordee_posts_only_to_known_push_services(client_for, bob, vapid_key, push_service, endpoint):
    browser = a_browser(push_service)
    data = browser.subscription() | {"endpoint": endpoint}
    response = client_for(bob).post("/notifications/abonnement/", data, content_type="application/json")
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


def test_a_subscription_with_junk_keys_is_refused(client_for, bob, vapid_key, push_service):
    data = a_browser(push_service).subscription()
    data["keys"]["p256dh"] = "abc"
    assert client_for(bob).post("/notifications/abonnement/", data, content_type="application/json").status_code == 400


def test_a_new_message_pushes_a_notification_without_health_data(
    client_for, alice, bob, push_service, vapid_key, django_capture_on_commit_callbacks
):
    browser = a_browser(push_service, "bob")
    client_for(bob).post("/notifications/abonnement/", browser.subscription(), content_type="application/json")
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    with django_capture_on_commit_callbacks(execute=True):
        do_send_message(SendRequest(user=alice, conversation_id=direct.pk, body=BODY, client_key="push-test-01"))
    (request,) = push_service.received
    assert request["path"] == "/push/bob"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    assert headers["authorization"].startswith("vapid t=") and f"k={push.public_key()}" in headers["authorization"]
    payload = browser.read(request["body"])
    assert payload["body"] == "Nouveau message sécurisé" and payload["url"] == "/messagerie/"
    text = json.dumps(payload, ensure_ascii=False)
    for secret in (BODY, "Bernard", "Alice", "Martin", f"/{direct.pk}/"):
        assert secret not in text
    # The sender's own browser is not told of her own message.
    assert PushSubscription.objects.get().last_sent_at is not None


def test_at_most_one_notification_a_minute_per_browser(bob, push_service, vapid_key):
    browser = a_browser(push_service, "bob")
    services.do_subscribe(bob, browser.subscription())
    assert push.send_push([bob.pk], "messagerie") == 1
    assert push.send_push([bob.pk], "messagerie") == 0
    assert len(push_service.received) == 1


def test_a_browser_the_push_service_says_is_gone_is_forgotten(bob, push_service, vapid_key):
    services.do_subscribe(bob, a_browser(push_service, "bob").subscription())
    push_service.status = 410
    assert push.send_push([bob.pk], "messagerie") == 0
    assert not PushSubscription.objects.exists()


def test_nothing_is_sent_without_opt_in_nor_to_the_sender(alice, bob, push_service, vapid_key):
    services.do_subscribe(alice, a_browser(push_service, "alice").subscription())
    direct = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    do_send_message(SendRequest(user=alice, conversation_id=direct.pk, body=BODY, client_key="push-test-02"))
    assert push_service.received == []  # Bob did not turn notifications on; Alice sent it


def test_a_security_reset_of_the_sessions_forgets_the_browsers(
    bob, push_service, vapid_key, django_capture_on_commit_callbacks
):
    services.do_subscribe(bob, a_browser(push_service, "bob").subscription())
    with django_capture_on_commit_callbacks(execute=True):
        invalidate_user_sessions(bob.pk, "password_changed")
    assert not PushSubscription.objects.exists()


def test_the_service_worker_is_served_from_the_root(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert b"showNotification" in response.content and b"caches" not in response.content
