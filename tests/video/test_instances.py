"""Calls across two instances (two uvicorn processes on one PostgreSQL and Redis): the signalling
of participants connected to different processes goes through the Redis channel layer, to the
peer's socket (its channel name) and to the conversation's group (the call's end)."""

from __future__ import annotations

import asyncio
import json

import pytest

from cordee.video.models import Call
from tests.messaging.test_instances import _connect, _frame, _session, two_instances  # noqa: F401  (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def test_signalling_between_participants_on_two_instances(two_instances, alice, bob, threads):  # noqa: F811

    port_a, port_b = two_instances
    call = Call.objects.create(conversation=threads["direct"], started_by=alice)
    alice_cookie, _ = _session(alice)
    bob_cookie, _ = _session(bob)

    async def scenario() -> None:
        async with _connect(port_a, alice_cookie) as alice_ws, _connect(port_b, bob_cookie) as bob_ws:
            await _frame(alice_ws, "ready")
            await _frame(bob_ws, "ready")
            await alice_ws.send(json.dumps({"type": "call.join", "call": call.pk}))
            await _frame(alice_ws, "call.joined")
            await bob_ws.send(json.dumps({"type": "call.join", "call": call.pk}))
            assert [p["user"] for p in (await _frame(bob_ws, "call.joined"))["peers"]] == [alice.pk]
            assert (await _frame(alice_ws, "call.participant"))["user"] == bob.pk
            await bob_ws.send(json.dumps({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP}))
            assert (await _frame(alice_ws, "call.offer"))["from"] == bob.pk
            await alice_ws.send(json.dumps({"type": "call.answer", "call": call.pk, "to": bob.pk, "sdp": SDP}))
            assert (await _frame(bob_ws, "call.answer"))["from"] == alice.pk
            await alice_ws.send(json.dumps({"type": "call.end", "call": call.pk}))
            assert (await _frame(bob_ws, "call.ended"))["call"] == call.pk

    asyncio.run(scenario())
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
