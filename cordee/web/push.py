"""Notifications outside Cordée: Web Push (VAPID, ``pywebpush``) to the browsers a user turned on.

- Opt-in, per browser: the notifications page asks the browser for permission and a push
  subscription, and posts it here (audited). A user may turn it off, and every subscription of a
  user goes when their sessions are all invalidated (password change, deactivation, lost factor).
- An app sends ``modules.something_waits`` after its commit (a message arrived…); while any
  subscription exists, a task sends each subscribed browser of those users the entry's text
  ("New secure message"), at most once per ``PUSH_MIN_INTERVAL_SECONDS``. The payload names no
  person, patient, conversation nor count: nothing of health data, whoever sees the screen.
- Cordée posts only to known push services (``PUSH_SERVICE_HOSTS``, https): the endpoint URL
  comes from the browser, and must not make the server call anything else.
- An open tab learns of the push from the service worker (``/sw.js``): it refreshes its counts
  (badges, title) and plays its sound instead of showing a notification.

E-mail notices (the modules' own, debounced) stay, as the fallback.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from cordee.accounts.sessions import sessions_invalidated
from cordee.lib import modules
from cordee.web.models import PushSubscription

logger = logging.getLogger(__name__)
TTL_SECONDS = 12 * 3600  # a browser offline longer than this misses the notice (the e-mail follows)
_vapid_lock = threading.Lock()
_vapid: dict[str, Any] = {}


# --- the VAPID key ----------------------------------------------------------------------------


def vapid() -> Vapid | None:
    """The VAPID key (created in DEBUG on first use), or None when push is not configured."""
    path = Path(settings.VAPID_PRIVATE_KEY_PATH)
    with _vapid_lock:
        if _vapid.get("path") == path:
            return _vapid["key"]
        key = None
        if not path.exists() and settings.VAPID_CREATE_MISSING_KEY:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Vapid()
            key.generate_keys()
            key.save_key(str(path))
            path.chmod(0o600)
            logger.warning("DEBUG: created a NEW VAPID key for push notifications at %s", path)
        elif path.exists():
            key = Vapid.from_file(str(path))
        _vapid.update(path=path, key=key)
        return key


def public_key() -> str:
    """The application server key browsers subscribe with (base64url, uncompressed P-256 point)."""
    key = vapid()
    if key is None:
        return ""
    raw = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --- subscriptions ----------------------------------------------------------------------------


def b64url_bytes(value: Any) -> bytes:
    text = str(value or "")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def allowed_endpoint(endpoint: str) -> bool:
    """An https URL of a known push service (or, when allowed, of a loopback address for tests)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and settings.PUSH_ALLOW_HTTP_LOOPBACK:
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return False
    return any(host == known or host.endswith("." + known) for known in settings.PUSH_SERVICE_HOSTS)


@receiver(sessions_invalidated)
def _forget_browsers(sender: Any, user_id: int, **kwargs: Any) -> None:
    """Every session of the user ended for a reason of security: their browsers are told nothing more."""
    PushSubscription.objects.filter(user_id=user_id).delete()


# --- sending ----------------------------------------------------------------------------------

_in_use: dict[str, float | bool] = {"until": 0.0, "value": False}
_IN_USE_SECONDS = 30.0


def forget_whether_in_use() -> None:
    """A subscription was added or removed: the next send re-reads whether any exists."""
    _in_use.update(until=0.0)


def push_in_use() -> bool:
    """Whether any browser is subscribed (re-read every 30 s): without any, nothing is computed."""
    now = time.monotonic()
    if now >= float(_in_use["until"]):
        _in_use.update(until=now + _IN_USE_SECONDS, value=PushSubscription.objects.exists())
    return bool(_in_use["value"])


@receiver(modules.something_waits)
def _on_something_waits(sender: Any, entry: str, user_ids: Any, **kwargs: Any) -> None:
    if not push_in_use():
        return
    ids = sorted(set(user_ids() if callable(user_ids) else user_ids))
    if not ids:
        return
    from cordee.web.tasks import send_push  # tasks imports this module: a real cycle

    try:
        send_push.enqueue(ids, entry)
    except Exception:  # a push is a courtesy: never fail what was already committed
        logger.exception("push: the notification task could not be enqueued")


def _payload(entry: modules.Entry, language: str) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return json.dumps(
            {
                "title": "Cordée",
                "body": str(entry.push_text),
                "url": reverse(entry.url_name),
                "tag": f"cordee-{entry.key}",
                "icon": static("web/icons/cordee-192.png"),
            }
        )


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy nor .netrc from the environment
    session.max_redirects = 0  # a push service answers; it does not send the server elsewhere
    return session


def send_push(user_ids: list[int], entry_key: str) -> int:
    """Notify the subscribed browsers of these users that something waits in ``entry_key``.

    Returns how many were sent. A browser notified less than ``PUSH_MIN_INTERVAL_SECONDS`` ago is
    skipped (the notification of the same tag is still on its screen); one the push service says
    is gone (404, 410) is deleted.
    """
    entry = modules.entry(entry_key)
    key = vapid()
    if entry is None or not entry.push_text or key is None:
        return 0
    now = timezone.now()
    recent = now - dt.timedelta(seconds=settings.PUSH_MIN_INTERVAL_SECONDS)
    subscriptions = PushSubscription.objects.filter(user_id__in=user_ids, user__is_active=True).exclude(
        last_sent_at__gt=recent
    )
    sent = 0
    with _session() as session:
        for subscription in subscriptions:
            if not allowed_endpoint(subscription.endpoint):
                continue
            info = {
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            }
            try:
                webpush(
                    info,
                    data=_payload(entry, subscription.language),
                    vapid_private_key=key,
                    vapid_claims={"sub": settings.VAPID_SUBJECT},
                    ttl=TTL_SECONDS,
                    timeout=10,
                    headers={"Urgency": "normal"},
                    requests_session=session,
                )
            except WebPushException as exc:
                status = getattr(exc.response, "status_code", None)
                if status in (404, 410):
                    subscription.delete()
                else:
                    PushSubscription.objects.filter(pk=subscription.pk).update(failures=subscription.failures + 1)
                    logger.warning("push: the push service refused a notification (%s)", status)
                continue
            except requests.RequestException as exc:
                PushSubscription.objects.filter(pk=subscription.pk).update(failures=subscription.failures + 1)
                logger.warning("push: the push service could not be reached (%s)", type(exc).__name__)
                continue
            PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=now, failures=0)
            sent += 1
    return sent
