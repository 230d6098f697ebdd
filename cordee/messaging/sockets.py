"""The synchronous side of the messaging socket: who may connect, and the reads it makes.

A socket is opened only with the session cookie of a signed-in user who has passed the second
factor where it is mandatory and whose session has not ended by time (idle or maximum age: the
same rules as the pages, see ``cordee.accounts.middleware``); the Origin was checked before
(``cordee.asgi``). While it is open, it closes at once when its session ends: deleted (sign-out,
revocation: ``cordee.accounts.sessions.session_ended``), every session of the user invalidated
(deactivation, password change, last factor removed), or its time up (``session_deadline``,
re-checked against the session store when it comes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404, HttpRequest
from django.utils.crypto import constant_time_compare

from cordee.accounts.middleware import MandatoryMfaMiddleware
from cordee.accounts.models import User
from cordee.accounts.sessions import LAST_SEEN_KEY, is_expired, session_deadline
from cordee.lib.users import is_active_user
from cordee.messaging import events, reading
from cordee.messaging.access import READ, access_conversation, visible_conversations
from cordee.messaging.services import read_state

SESSION_CHECK_SECONDS = 60


def socket_allowed(user: Any, session: SessionBase | None) -> bool:
    if not is_active_user(user) or session is None or session.session_key is None:
        return False
    if not MandatoryMfaMiddleware.passed(user, session):
        return False
    if is_expired(session):
        return False
    session_hash = session.get(HASH_SESSION_KEY)
    if session_hash is not None and not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return False  # the password changed since this session signed in
    getattr(user, "professional", None)  # loaded once: the audit entries of this socket's sends name it
    return True


def fresh_session(user: User, session: SessionBase) -> SessionBase | None:
    """The session as its store holds it now, if it still lets ``user``'s socket stay open."""
    fresh = session.__class__(session.session_key)
    if fresh.get("_auth_user_id") != str(user.pk):  # ended, flushed or expired
        return None
    current = User.objects.filter(pk=user.pk, is_active=True).first()
    if current is None or not socket_allowed(current, fresh):
        return None
    return fresh


def session_still_valid(user: User, session: SessionBase, *, active: bool) -> bool:
    """Re-read the session from its store; on activity, count it as the user being there."""
    fresh = fresh_session(user, session)
    if fresh is None:
        return False
    if active:
        fresh[LAST_SEEN_KEY] = int(time.time())
        fresh.save()
    return True


def seconds_left(user: User, session: SessionBase) -> float | None:
    """Seconds until the session ends by time, as its store says now; None if it has ended."""
    fresh = fresh_session(user, session)
    return None if fresh is None else max(0.0, session_deadline(fresh) - time.time())


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
    return read_state.do_mark_read(user, conversation, seq)
