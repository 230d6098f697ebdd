"""ICE servers for a call page: STUN as configured, TURN with short-lived credentials.

TURN REST scheme (draft-uberti-behave-turn-rest, coturn's ``use-auth-secret`` with
``static-auth-secret``): ``username = "<expiry unix time>:<user id>"``, ``credential =
base64(HMAC-SHA1(secret, username))``. coturn recomputes the HMAC from its copy of the secret and
refuses a username whose time has passed. Browsers never see the secret nor a lasting password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings


def _now() -> float:
    return time.time()


def turn_credentials(user_id: int, *, secret: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    expiry = int((_now() if now is None else now) + ttl)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(user_id: int, *, now: float | None = None) -> dict[str, Any]:
    """``{"iceServers": [...], "ttl": seconds}`` for ``RTCPeerConnection``."""
    servers: list[dict[str, Any]] = []
    if settings.VIDEO_STUN_URLS:
        servers.append({"urls": list(settings.VIDEO_STUN_URLS)})
    if settings.VIDEO_TURN_URLS and settings.VIDEO_TURN_SECRET:
        username, credential = turn_credentials(
            user_id, secret=settings.VIDEO_TURN_SECRET, ttl=settings.VIDEO_TURN_TTL_SECONDS, now=now
        )
        servers.append({"urls": list(settings.VIDEO_TURN_URLS), "username": username, "credential": credential})
    return {
        "iceServers": servers,
        "iceTransportPolicy": settings.VIDEO_ICE_TRANSPORT_POLICY,
        "ttl": settings.VIDEO_TURN_TTL_SECONDS,
    }
