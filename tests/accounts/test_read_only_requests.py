"""A signed-in read writes nothing (issue 21): no session save, no user-session row, no audit
entry unless the page audits a read. "Last seen" is refreshed at most once a minute per session."""

from __future__ import annotations

import re
import time

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.accounts.sessions import LAST_SEEN_KEY

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
READS = ["/", "/messagerie/", "/api/messaging/conversations", "/comptes/securite/"]


def writes_of(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return [q["sql"] for q in captured.captured_queries if WRITE.match(q["sql"])]


@pytest.mark.parametrize("path", READS)
def test_a_signed_in_read_writes_nothing(client_for, alice, path):
    client = client_for(alice)
    client.get("/")  # the first request of the minute notes "last seen"
    assert writes_of(client, path) == []


def test_last_seen_is_refreshed_once_a_minute_with_the_sessions_page_row(client_for, alice):
    client = client_for(alice)
    client.get("/")
    assert UserSession.objects.filter(user=alice).count() == 1
    seen = client.session[LAST_SEEN_KEY]
    session = client.session
    session[LAST_SEEN_KEY] = seen - 61  # a minute later
    session.save()
    before = UserSession.objects.get(user=alice).last_seen_at
    time.sleep(0.01)
    writes = writes_of(client, "/messagerie/")
    assert writes, "a minute later, the request notes that the session was seen"
    assert client.session[LAST_SEEN_KEY] >= seen
    assert UserSession.objects.get(user=alice).last_seen_at > before
    assert writes_of(client, "/messagerie/") == []  # and not again within the minute
