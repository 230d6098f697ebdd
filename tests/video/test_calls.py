"""Calls over the real ASGI stack: start (HTTP), join, signalling relayed only between the call's
participants, teleconsultation's waiting room, refusals audited, rate limit, membership."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from cordee.audit.models import AuditEntry
from cordee.care import history
from cordee.messaging import services as messaging
from cordee.video import purposes
from cordee.video.models import Call, Participant
from tests.conftest import login_as
from tests.messaging.conftest import communicator, receive_type, session_cookie
from tests.video.conftest import connected, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def start(user, conversation) -> Client:
    client = Client()
    login_as(client, user)
    return client.post(reverse("video:start", kwargs={"conversation_id": conversation.pk}))


def actions(action, **filters):
    return AuditEntry.objects.filter(action=action, **filters)


def test_a_member_starts_a_call_the_others_hear_it_ring(alice, bob, threads):
    bob_cookie = session_cookie(bob)

    async def scenario():
        b = await connected(bob_cookie)
        response = await sync_to_async(start)(alice, threads["direct"])
        assert response.status_code == 302
        ring = await receive_type(b, "call.ring")
        call = await sync_to_async(Call.objects.get)()
        assert response["Location"] == reverse("video:call", kwargs={"call_id": call.pk})
        assert ring["call"] == call.pk and ring["conversation"] == threads["direct"].pk
        assert ring["url"] == response["Location"] and ring["kind"] == "call"
        await b.disconnect()

    run(scenario)
    entry = actions(purposes.STARTED).get()
    assert entry.actor_id == alice.pk and entry.patient_id is None
    # Starting again joins the call in progress: no second call.
    assert start(bob, threads["direct"])["Location"] == reverse("video:call", kwargs={"call_id": Call.objects.get().pk})
    assert Call.objects.count() == 1


def test_a_page_opened_after_a_call_started_rings_from_the_sockets_first_frame(alice, bob, charlie, threads):
    """The ready frame lists the calls in progress the user may join: those someone is in, in the
    user's conversations, that the user is not in; nothing once it ended."""
    start(alice, threads["direct"])
    call = Call.objects.get()
    cookies = session_cookie(alice), session_cookie(bob), session_cookie(charlie)

    async def ready_calls(cookie):
        comm = communicator(cookie)
        assert (await comm.connect())[0]
        calls = (await receive_type(comm, "ready"))["calls"]
        await comm.disconnect()
        return calls

    async def scenario():
        assert await ready_calls(cookies[1]) == []  # started, nobody in it yet: nothing rings
        a = await connected(cookies[0])
        await a.send_json_to({"type": "call.join", "call": call.pk})
        await receive_type(a, "call.joined")
        ring = {
            "type": "call.ring",
            "call": call.pk,
            "conversation": threads["direct"].pk,
            "kind": "call",
            "from": alice.display_name,
            "url": reverse("video:call", kwargs={"call_id": call.pk}),
        }
        assert await ready_calls(cookies[1]) == [ring]  # Bob, on any page he opens
        assert await ready_calls(cookies[2]) == []  # Charlie is not in that conversation
        assert await ready_calls(cookies[0]) == []  # Alice is in the call already
        await a.send_json_to({"type": "call.leave", "call": call.pk})  # the last one out: it ends
        await receive_type(a, "call.left")
        await a.disconnect()
        assert await ready_calls(cookies[1]) == []

    run(scenario)
    assert Call.objects.get().state == Call.State.ENDED


def test_outsider_and_anonymous_cannot_start_nor_open_a_call(alice, charlie, threads):
    start(alice, threads["direct"])
    call = Call.objects.get()
    assert start(charlie, threads["direct"]).status_code == 404
    client = Client()
    login_as(client, charlie)
    paths = [reverse("video:call", kwargs={"call_id": call_id}) for call_id in (999999, call.pk)]
    missing, forbidden = (client.get(path) for path in paths)
    assert missing.status_code == forbidden.status_code == 404
    assert [t.name for t in missing.templates] == [t.name for t in forbidden.templates]  # (tokens differ)
    assert actions(purposes.REFUSED, actor_id=charlie.pk, outcome="denied").exists()  # the missing one
    assert actions("messaging.refused", actor_id=charlie.pk, outcome="denied").exists()  # someone else's
    anonymous = Client().get(reverse("video:call", kwargs={"call_id": call.pk}))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert Client().post(reverse("video:start", kwargs={"conversation_id": threads["direct"].pk})).status_code == 302
    assert Call.objects.count() == 1


def test_signalling_goes_only_between_participants_and_outsiders_are_refused(alice, bob, charlie, threads):
    start(alice, threads["direct"])
    call = Call.objects.get()
    cookies = session_cookie(alice), session_cookie(bob), session_cookie(charlie)

    async def scenario():
        a, b, c = [await connected(cookie) for cookie in cookies]
        await a.send_json_to({"type": "call.join", "call": call.pk})
        joined = await receive_type(a, "call.joined")
        assert joined["state"] == "joined" and joined["peers"] == [] and joined["host"]
        await b.send_json_to({"type": "call.join", "call": call.pk})
        joined = await receive_type(b, "call.joined")
        assert [p["user"] for p in joined["peers"]] == [alice.pk]
        arrived = await receive_type(a, "call.participant")
        assert arrived["user"] == bob.pk and arrived["state"] == "joined"
        # Bob (the newcomer) offers to Alice; she answers; candidates both ways.
        await b.send_json_to({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP})
        offer = await receive_type(a, "call.offer")
        assert offer == {"type": "call.offer", "call": call.pk, "from": bob.pk, "sdp": SDP}
        await a.send_json_to({"type": "call.answer", "call": call.pk, "to": bob.pk, "sdp": SDP})
        assert (await receive_type(b, "call.answer"))["from"] == alice.pk
        candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
        await a.send_json_to({"type": "call.ice", "call": call.pk, "to": bob.pk, "candidate": candidate})
        assert (await receive_type(b, "call.ice"))["candidate"] == candidate
        # Charlie is in no call: he cannot join, nor signal into it, nor reach a peer.
        await c.send_json_to({"type": "call.join", "call": call.pk})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await c.send_json_to({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await c.send_json_to({"type": "call.ice", "call": 999999, "to": bob.pk, "candidate": candidate})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        assert await a.receive_nothing(timeout=0.3)
        # A candidate for a peer who is not in the call (Charlie) is refused too.
        await a.send_json_to({"type": "call.ice", "call": call.pk, "to": charlie.pk, "candidate": candidate})
        assert (await receive_type(a, "error"))["code"] == "not_found"
        # Bob leaves: Alice hears it; his frames are refused from then on.
        await b.send_json_to({"type": "call.leave", "call": call.pk})
        assert (await receive_type(a, "call.participant"))["state"] == "left"
        await b.send_json_to({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP})
        assert (await receive_type(b, "error"))["code"] == "not_found"
        for comm in (a, b, c):
            await comm.disconnect()

    run(scenario)
    refused = actions(purposes.SIGNAL_REFUSED, outcome="denied")
    assert refused.filter(actor_id=charlie.pk).count() == 2
    assert refused.filter(actor_id=alice.pk).count() == 1 and refused.filter(actor_id=bob.pk).count() == 1
    assert actions(purposes.JOINED).count() == 2 and actions(purposes.LEFT).count() >= 1
    # Alice's socket closed last: the call emptied, so it ended, audited with its participants.
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    ended = actions(purposes.ENDED).get()
    assert ended.details["participants"] == sorted([alice.pk, bob.pk]) and ended.details["reason"] == "empty"


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "call.offer", "call": "x", "to": 1, "sdp": SDP},
        {"type": "call.offer", "to": 1, "sdp": SDP},
        {"type": "call.offer", "call": 1, "to": True, "sdp": SDP},
        {"type": "call.answer", "call": 1, "to": 2, "sdp": 42},
        {"type": "call.answer", "call": 1, "to": 2, "sdp": "not an sdp"},
        {"type": "call.offer", "call": 1, "to": 2, "sdp": SDP + "a=x\r\n" * 5000},  # over VIDEO_MAX_SDP_BYTES
        {"type": "call.ice", "call": 1, "to": 2, "candidate": "candidate:1"},
        {"type": "call.ice", "call": 1, "to": 2, "candidate": {"candidate": "x" * 5000}},
        {"type": "call.ice", "call": 1, "to": 2, "candidate": {"candidate": "c", "sdpMLineIndex": "0"}},
        {"type": "call.ice", "call": 1, "to": 2, "candidate": {"candidate": "c", "extra": 1}},
    ],
)
def test_malformed_signalling_gets_bad_request_and_is_audited(alice, frame):
    cookie = session_cookie(alice)

    async def scenario():
        a = await connected(cookie)
        await a.send_json_to(frame)
        assert (await receive_type(a, "error"))["code"] == "bad_request"
        await a.disconnect()

    run(scenario)
    assert actions(purposes.SIGNAL_MALFORMED, actor_id=alice.pk, outcome="failure").count() == 1


def test_a_socket_that_keeps_sending_junk_is_closed(alice):
    cookie = session_cookie(alice)

    async def scenario():
        a = await connected(cookie)
        for _ in range(20):
            await a.send_json_to({"type": "call.offer", "call": 1, "to": 2})
        closed = False
        for _ in range(40):
            output = await a.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                closed = True
                break
        assert closed

    run(scenario)


def test_teleconsultation_waiting_room_admission_and_end_for_everyone(alice, bob, paula, threads):
    thread = threads["patient"]
    assert start(paula, thread).status_code == 302  # refused with a message: the professional starts it
    assert not Call.objects.exists()
    start(alice, thread)
    call = Call.objects.get()
    assert call.kind == Call.Kind.TELECONSULTATION
    assert start(bob, thread).status_code == 404  # not a member of Alice's thread with Paula
    cookies = session_cookie(alice), session_cookie(paula), session_cookie(bob)

    async def scenario():
        a, p, b = [await connected(cookie) for cookie in cookies]
        await a.send_json_to({"type": "call.join", "call": call.pk})
        assert (await receive_type(a, "call.joined"))["host"]
        await p.send_json_to({"type": "call.join", "call": call.pk})
        waiting = await receive_type(p, "call.joined")
        assert waiting["state"] == "waiting" and waiting["peers"] == []
        assert (await receive_type(a, "call.waiting"))["user"] == paula.pk
        # Not admitted yet: Paula cannot signal to Alice.
        await p.send_json_to({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP})
        assert (await receive_type(p, "error"))["code"] == "not_found"
        # Only the host admits; Bob cannot even join.
        await p.send_json_to({"type": "call.admit", "call": call.pk, "user": paula.pk})
        assert (await receive_type(p, "error"))["code"] == "not_allowed"
        await b.send_json_to({"type": "call.join", "call": call.pk})
        assert (await receive_type(b, "error"))["code"] == "not_found"
        await a.send_json_to({"type": "call.admit", "call": call.pk, "user": paula.pk})
        admitted = await receive_type(p, "call.admitted")
        assert [peer["user"] for peer in admitted["peers"]] == [alice.pk]
        assert (await receive_type(a, "call.participant"))["user"] == paula.pk
        await p.send_json_to({"type": "call.offer", "call": call.pk, "to": alice.pk, "sdp": SDP})
        assert (await receive_type(a, "call.offer"))["from"] == paula.pk
        # Paula cannot end it; Alice ends it for everyone.
        await p.send_json_to({"type": "call.end", "call": call.pk})
        assert (await receive_type(p, "error"))["code"] == "not_allowed"
        await a.send_json_to({"type": "call.end", "call": call.pk})
        assert (await receive_type(p, "call.ended"))["call"] == call.pk
        for comm in (a, p, b):
            await comm.disconnect()

    run(scenario)
    call.refresh_from_db()
    assert call.state == Call.State.ENDED
    patient = thread.patient
    for action in (purposes.STARTED, purposes.WAITING, purposes.ADMITTED, purposes.ENDED):
        entry = actions(action).get()
        assert entry.patient_id == patient.pk and entry.category == AuditEntry.Category.ACCESS, action
    assert actions(purposes.ADMITTED).get().details["admitted"] == paula.pk
    # Paula reads Alice's teleconsultation actions in her access history (her own are not listed).
    listed = set(history.access_entries(patient).values_list("action", flat=True))
    assert {purposes.STARTED, purposes.ADMITTED, purposes.ENDED} <= listed
    assert purposes.WAITING not in listed
    rows = history.rows(list(history.grouped(patient)), patient)
    assert any(
        "téléconsultation" in str(row.purpose).lower() or "teleconsultation" in str(row.purpose).lower() for row in rows
    )


def test_call_starts_are_rate_limited_and_audited(alice, threads, settings):
    settings.VIDEO_CALL_START_RATE = "2/m"
    for _ in range(2):
        start(alice, threads["direct"])
        Call.objects.filter(state=Call.State.ACTIVE).update(state=Call.State.ENDED)
    response = start(alice, threads["direct"])
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:conversation", kwargs={"conversation_id": threads["direct"].pk})
    assert Call.objects.count() == 2
    assert actions(purposes.START_LIMITED, actor_id=alice.pk, outcome="denied").count() == 1


def test_leaving_the_conversation_ends_call_access(alice, bob, charlie):
    group = messaging.do_create_group(alice, "Coordination", [bob.pk, charlie.pk])
    start(bob, group)
    call = Call.objects.get()
    cookies = session_cookie(bob), session_cookie(charlie)

    async def scenario():
        b, c = [await connected(cookie) for cookie in cookies]
        await b.send_json_to({"type": "call.join", "call": call.pk})
        await receive_type(b, "call.joined")
        await c.send_json_to({"type": "call.join", "call": call.pk})
        await receive_type(c, "call.joined")
        await receive_type(b, "call.participant")
        await sync_to_async(messaging.do_remove_member)(alice, group.pk, charlie.pk)
        gone = await receive_type(b, "call.participant")
        assert gone["user"] == charlie.pk and gone["state"] == "left"
        over = await receive_type(c, "call.ended")  # his page stops: the call is over for him
        assert over["call"] == call.pk and over["reason"] == "removed"
        await c.send_json_to({"type": "call.offer", "call": call.pk, "to": bob.pk, "sdp": SDP})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await c.send_json_to({"type": "call.join", "call": call.pk})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await b.disconnect()
        await c.disconnect()

    run(scenario)
    assert Participant.objects.get(call=call, user=charlie).state == Participant.State.LEFT


def test_the_mesh_takes_four_participants_at_most(alice, bob, charlie, personas, settings):
    settings.VIDEO_MESH_MAX_PARTICIPANTS = 2
    group = messaging.do_create_group(alice, "Trois", [bob.pk, charlie.pk])
    start(alice, group)
    call = Call.objects.get()
    cookies = [session_cookie(u) for u in (alice, bob, charlie)]

    async def scenario():
        comms = [await connected(cookie) for cookie in cookies]
        for comm in comms[:2]:
            await comm.send_json_to({"type": "call.join", "call": call.pk})
            await receive_type(comm, "call.joined")
        await comms[2].send_json_to({"type": "call.join", "call": call.pk})
        assert (await receive_type(comms[2], "error"))["code"] == "full"
        for comm in comms:
            await comm.disconnect()

    run(scenario)
