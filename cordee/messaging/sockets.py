"""The synchronous side of the messaging socket: who may connect, and the reads it makes.

A socket is opened only with the session cookie of a signed-in user who has passed the second
factor where it is mandatory and whose session is not idle (the same rules as the pages, see
``cordee.accounts.middleware``); the Origin was checked before (``cordee.asgi``). While it is
open, the session is re-checked at most once a minute of activity: a session ended elsewhere
(sign-out, revocation, expiry) closes the socket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404, HttpRequest

from cordee.accounts.middleware import LAST_SEEN_KEY, MandatoryMfaMiddleware
from cordee.accounts.models import User
from cordee.messaging import events, reading
from cordee.messaging.access import READ, access_conversation, is_active_user, visible_conversations

SESSION_CHECK_SECONDS = 60


def socket_allowed(user: Any, session: SessionBase | None) -> bool:
    if not is_active_user(user) or session is None or session.session_key is None:
        return False
    if user.mfa_mandatory and not session.get(MandatoryMfaMiddleware.SESSION_KEY):
        return False
    last_seen = session.get(LAST_SEEN_KEY)
    if last_seen is not None and time.time() - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return False
    getattr(user, "professional", None)  # loaded once: the audit entries of this socket's sends name it
    return True


def session_still_valid(user: User, session: SessionBase, *, active: bool) -> bool:
    """Re-read the session from its store; on activity, count it as the user being there."""
    fresh = session.__class__(session.session_key)
    if fresh.get("_auth_user_id") != str(user.pk):  # ended, flushed or expired
        return False
    if not User.objects.filter(pk=user.pk, is_active=True).exists() or not socket_allowed(user, fresh):
        return False
    if active:
        fresh[LAST_SEEN_KEY] = int(time.time())
        fresh.save()
    return True


def socket_request(scope: dict[str, Any], user: User) -> HttpRequest:
    """A stand-in request carrying the socket's address and user agent, for the audit entries."""
    request = HttpRequest()
    client = scope.get("client") or (None, None)
    headers = dict(scope.get("headers") or [])
    request.META = {
        "REMOTE_ADDR": client[0] or "",
        "HTTP_USER_AGENT": headers.get(b"user-agent", b"").decode("latin-1"),
    }
    request.user = user
    return request


def visible_ids(user: User) -> set[int]:
    return set(visible_conversations(user).values_list("pk", flat=True))


def still_visible(user: User, conversation_id: int) -> bool:
    return visible_conversations(user).filter(pk=conversation_id).exists()


@dataclass
class Opened:
    conversation_id: int
    frame: dict[str, Any]


def open_thread(user: User, conversation_id: Any, after: Any, request: HttpRequest) -> Opened:
    """Open a thread on the socket: an audited read, and its latest page or a catch-up."""
    conversation = access_conversation(user, conversation_id, purpose=READ, request=request)
    if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 0):
        raise Http404
    page = reading.thread_page(conversation, after=after)
    membership = conversation.membership
    frame = {
        "type": "history",
        "conversation": conversation.pk,
        "messages": page.messages,
        "last_seq": page.last_seq,
        "more_before": page.more_before,
        "more_after": page.more_after,
        "state": events.conversation_state(conversation),
        "can_write": membership is not None,
        "last_read_seq": membership.last_read_seq if membership else None,
    }
    return Opened(conversation.pk, frame)


def mark_read(user: User, conversation_id: Any, seq: Any, request: HttpRequest) -> int:
    conversation = access_conversation(user, conversation_id, purpose="messaging.read_state", request=request)
    return reading.do_mark_read(user, conversation, seq)
