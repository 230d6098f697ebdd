"""STOW-RS senders: systems that push studies over HTTP with a bearer token (``models.Sender``).

- ``do_add_sender(structure, name)``: a new sender and its token, shown once (only its SHA-256 is
  stored); ``do_revoke_sender(name)``: the token stops working at once.
- ``sender_of(request)``: the sender whose token the request's ``Authorization: Bearer`` carries;
  ``None`` without the header; ``SenderRefused`` for a token unknown or revoked (audited, with
  the address, for intrusion detection: a guessed token looks like a failed sign-in). Past
  ``REFUSED_PER_MINUTE`` refusals from one address in a minute, ``SenderThrottled`` answers
  without looking the token up nor auditing it again: guessing cannot flood the audit trail.
All three are audited; the token itself is never logged nor audited.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.accounts.models import Structure
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.imaging import purposes
from cordee.imaging.models import Sender
from cordee.lib import ratelimit

REFUSED_PER_MINUTE = 30  # refused tokens per address and minute before the answers are 429
TOKEN_PREFIX = "cdw_"  # noqa: S105  # a prefix, not a secret: recognisable in a leaked file or by a secret scanner


class SenderRefused(Exception):
    pass


class SenderThrottled(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


def _refusals_key(request: HttpRequest, now: float) -> str:
    return f"stow-refused:{request.META.get('REMOTE_ADDR', '')}:{int(now // 60)}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """A sender's name is shown like a DICOM AE title: 1 to 16 printable ASCII characters."""
    name = name.strip()
    if not 1 <= len(name) <= 16 or not name.isascii() or not name.isprintable() or "\\" in name:
        raise ValueError("A sender's name is 1 to 16 printable ASCII characters (like an AE title), without \\.")
    if Sender.objects.filter(name=name).exists():
        raise ValueError(f"A sender named {name!r} exists already.")
    return name


def do_add_sender(structure: Structure, name: str) -> tuple[Sender, str]:
    name = check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        sender = Sender.objects.create(structure=structure, name=name, token_sha256=_digest(token))
        audit_trail.record(purposes.SENDER_ADDED, target=sender, details={"structure": structure.pk, "name": name})
    return sender, token


def do_revoke_sender(name: str) -> Sender:
    with transaction.atomic():
        sender = Sender.objects.select_for_update().get(name=name.strip(), revoked_at__isnull=True)
        sender.revoked_at = timezone.now()
        sender.save(update_fields=["revoked_at"])
        audit_trail.record(purposes.SENDER_REVOKED, target=sender, details={"name": sender.name})
    return sender


def sender_of(request: HttpRequest) -> Sender | None:
    scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
    if not scheme:
        return None
    token = token.strip()
    counters, now = caches["ratelimit"], time.time()
    key = _refusals_key(request, now)
    if (counters.get(key) or 0) >= REFUSED_PER_MINUTE:
        raise SenderThrottled(60 - int(now % 60))
    sender = None
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        sender = Sender.objects.filter(token_sha256=_digest(token), revoked_at__isnull=True).first()
    if sender is None:
        ratelimit.hit(counters, key, 60)
        audit_trail.record(
            purposes.SENDER_REFUSED,
            request=request,
            actor=None,
            outcome=AuditEntry.Outcome.DENIED,
            details={"scheme": scheme.lower()[:16]},
        )
        raise SenderRefused
    Sender.objects.filter(pk=sender.pk).update(last_used_at=timezone.now())
    return sender
