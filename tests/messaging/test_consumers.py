"""The messaging socket through the real ASGI stack (Origin check, session cookie, routing).

In-memory channel layer; ``transaction=True`` because the consumer's database work runs in
another thread.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from cordee.audit.models import AuditEntry
from cordee.messaging import services
from cordee.messaging.models import Member, Message
from tests.messaging.conftest import communicator, new_key, receive_type, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def connected(user_cookie):
    comm = communicator(user_cookie)
    ok, _code = await comm.connect()
    assert ok
    ready = await receive_type(comm, "ready")
    return comm, ready


def test_anonymous_socket_is_refused(personas):
    async def scenario():
        comm = communicator(None)
        ok, code = await comm.connect()
        assert not ok and code == 403 or not ok
        await comm.disconnect()

    run(scenario)


def test_socket_from_another_origin_is_refused(alice):
    cookie = session_cookie(alice)

    async def scenario():
        comm = communicator(cookie, origin="http://evil.example")
        ok, _code = await comm.connect()
        assert not ok
        await comm.disconnect()

    run(scenario)


def test_session_without_second_factor_is_refused(alice):
    from django.test import Client

    client = Client()
    client.force_login(alice)  # password only: the mandatory second factor was not passed
    cookie = client.cookies["cordee_session"].value

    async def scenario():
        comm = communicator(cookie)
        ok, _code = await comm.connect()
        assert not ok
        await comm.disconnect()

    run(scenario)


def test_send_is_acknowledged_after_commit_and_reaches_the_other_member(alice, bob, threads):
    direct = threads["direct"]
    alice_cookie, bob_cookie = session_cookie(alice), session_cookie(bob)
    key = new_key()

    async def scenario():
        a, ready = await connected(alice_cookie)
        b, _ = await connected(bob_cookie)
        assert direct.pk in ready["conversations"]
        await b.send_json_to({"type": "open", "conversation": direct.pk, "after": None})
        history = await receive_type(b, "history")
        assert [m["seq"] for m in history["messages"]] == [1, 2]
        await a.send_json_to({"type": "send", "conversation": direct.pk, "key": key, "body": "<b>hello</b>"})
        ack = await receive_type(a, "ack")
        stored = await sync_to_async(Message.objects.get)(pk=ack["id"])  # committed before the ack
        assert (ack["seq"], stored.seq, ack["key"]) == (3, 3, key)
        live = await receive_type(b, "message")
        assert live["message"]["body"] == "<b>hello</b>" and live["message"]["seq"] == 3
        assert ack["message"] == live["message"]  # the ack carries the payload encoded once for both
        assert set(ack) == {"type", "key", "conversation", "id", "seq", "rev_seq", "duplicate", "message"}
        assert (ack["conversation"], ack["rev_seq"], ack["duplicate"]) == (direct.pk, 3, False)
        await a.disconnect()
        await b.disconnect()

    run(scenario)
    assert AuditEntry.objects.filter(action="message.sent", actor_id=alice.pk).count() == 1


def test_frames_that_are_not_json_get_an_error_and_the_socket_stays(alice, threads):
    direct = threads["direct"]
    cookie = session_cookie(alice)

    async def scenario():
        a, _ = await connected(cookie)
        for text in ["{not json", " ", "[1, 2", '{"type": "send", "body": "\\ud800"}', "NaN", '"\\ud800"']:
            await a.send_to(text_data=text)
            assert (await receive_type(a, "error"))["code"] == "bad_request"
        await a.send_to(bytes_data=b'{"type": "ping"}')  # the protocol is text frames only
        assert (await receive_type(a, "error"))["code"] == "bad_request"
        body = "accentué \u00e9 \U0001f600 <script>"
        frame = {"type": "send", "conversation": direct.pk, "key": new_key(), "body": body}
        await a.send_to(text_data=json.dumps(frame))
        ack = await receive_type(a, "ack")
        assert ack["message"]["body"] == body.strip()
        await a.disconnect()

    run(scenario)
    assert Message.objects.filter(conversation=direct).count() == 3


def test_resend_with_the_same_key_is_not_duplicated(alice, threads):
    direct = threads["direct"]
    cookie = session_cookie(alice)
    key = new_key()

    async def scenario():
        a, _ = await connected(cookie)
        frame = {"type": "send", "conversation": direct.pk, "key": key, "body": "once"}
        await a.send_json_to(frame)
        first = await receive_type(a, "ack")
        await a.send_json_to(frame)  # the first acknowledgement "was lost"
        second = await receive_type(a, "ack")
        assert (second["id"], second["seq"], second["duplicate"]) == (first["id"], first["seq"], True)
        await a.disconnect()

    run(scenario)
    assert Message.objects.filter(conversation=direct, client_key=key).count() == 1
    assert Message.objects.filter(conversation=direct).count() == 3


def test_bad_sends_get_an_error_and_store_nothing(alice, charlie, threads):
    cookie = session_cookie(alice)
    direct = threads["direct"]

    async def scenario():
        a, _ = await connected(cookie)
        cases = [
            ({"conversation": direct.pk, "body": "   "}, "empty"),
            ({"conversation": direct.pk, "body": "x" * 10_001}, "too_long"),
            ({"conversation": "abc", "body": "hi"}, "not_found"),
            ({"conversation": 999_999, "body": "hi"}, "not_found"),
            ({"conversation": direct.pk, "body": 12}, "bad_request"),
        ]
        for fields, code in cases:
            key = new_key()
            await a.send_json_to({"type": "send", "key": key, **fields})
            error = await receive_type(a, "error")
            assert (error["code"], error["key"]) == (code, key)
        await a.send_json_to({"type": "nonsense"})
        assert (await receive_type(a, "error"))["code"] == "bad_request"
        await a.disconnect()

    run(scenario)
    assert Message.objects.filter(conversation=direct).count() == 2


def test_outsider_cannot_open_or_send_and_gets_the_missing_answer(charlie, threads):
    cookie = session_cookie(charlie)
    direct = threads["direct"]

    async def scenario():
        c, ready = await connected(cookie)
        assert direct.pk not in ready["conversations"]
        await c.send_json_to({"type": "open", "conversation": direct.pk, "after": None})
        forbidden = await receive_type(c, "error")
        await c.send_json_to({"type": "open", "conversation": 987654, "after": None})
        missing = await receive_type(c, "error")
        assert forbidden["code"] == missing["code"] == "not_found"
        await c.send_json_to({"type": "send", "conversation": direct.pk, "key": new_key(), "body": "hi"})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await c.disconnect()

    run(scenario)
    assert Message.objects.filter(conversation=direct).count() == 2
    assert AuditEntry.objects.filter(action="messaging.refused", actor_id=charlie.pk, outcome="denied").count() == 3


def test_catch_up_from_the_last_number_seen(alice, bob, threads):
    direct = threads["direct"]
    alice_cookie, bob_cookie = session_cookie(alice), session_cookie(bob)

    async def scenario():
        a, _ = await connected(alice_cookie)
        for i in range(5):
            await a.send_json_to({"type": "send", "conversation": direct.pk, "key": new_key(), "body": f"m{i}"})
            await receive_type(a, "ack")
        b, _ = await connected(bob_cookie)  # Bob saw up to number 2 before going offline
        await b.send_json_to({"type": "open", "conversation": direct.pk, "after": 2})
        page = await receive_type(b, "history")
        assert [m["seq"] for m in page["messages"]] == [3, 4, 5, 6, 7]
        assert page["last_seq"] == 7 and not page["more_after"]
        await a.disconnect()
        await b.disconnect()

    run(scenario)
    read = AuditEntry.objects.filter(action="conversation.read")
    assert not read.exists()  # a direct conversation is not linked to a patient


def test_reading_a_patient_thread_writes_one_access_entry_per_opening(alice, paula, threads):
    care = threads["care"]
    cookie = session_cookie(alice)

    async def scenario():
        a, _ = await connected(cookie)
        await a.send_json_to({"type": "open", "conversation": care.pk, "after": None})
        await receive_type(a, "history")
        for i in range(3):  # live messages to an open thread: no entry each
            await a.send_json_to({"type": "send", "conversation": care.pk, "key": new_key(), "body": f"m{i}"})
            await receive_type(a, "ack")
        await a.disconnect()

    run(scenario)
    entries = AuditEntry.objects.filter(action="conversation.read", actor_id=alice.pk)
    assert entries.count() == 1
    entry = entries.get()
    assert (entry.category, entry.patient_id, entry.purpose) == ("access", paula.patient.pk, "messaging.read")


def test_a_thread_not_open_gets_notices_without_the_text(alice, bob, threads):
    direct = threads["direct"]
    alice_cookie, bob_cookie = session_cookie(alice), session_cookie(bob)

    async def scenario():
        a, _ = await connected(alice_cookie)
        b, _ = await connected(bob_cookie)
        await a.send_json_to(
            {"type": "send", "conversation": direct.pk, "key": new_key(), "body": "secret", "urgent": True}
        )
        notice = await receive_type(b, "notice")
        assert notice["conversation"] == direct.pk and notice["urgent"] is True
        assert "body" not in notice and "secret" not in str(notice)
        await a.disconnect()
        await b.disconnect()

    run(scenario)


def test_removed_member_is_unsubscribed_at_once(alice, bob, charlie):
    group = services.do_create_group(alice, "Coordination", [bob.pk, charlie.pk])
    alice_cookie, charlie_cookie = session_cookie(alice), session_cookie(charlie)

    async def scenario():
        a, _ = await connected(alice_cookie)
        c, ready = await connected(charlie_cookie)
        assert group.pk in ready["conversations"]
        await c.send_json_to({"type": "open", "conversation": group.pk, "after": None})
        await receive_type(c, "history")
        await sync_to_async(services.do_remove_member)(alice, group.pk, charlie.pk)
        removed = await receive_type(c, "removed")
        assert removed["conversation"] == group.pk
        await a.send_json_to({"type": "send", "conversation": group.pk, "key": new_key(), "body": "after removal"})
        await receive_type(a, "ack")
        while not await c.receive_nothing(timeout=0.5):
            frame = await c.receive_json_from()
            assert frame.get("type") not in ("message", "notice"), frame
        await c.send_json_to({"type": "send", "conversation": group.pk, "key": new_key(), "body": "still here?"})
        assert (await receive_type(c, "error"))["code"] == "not_found"
        await a.disconnect()
        await c.disconnect()

    run(scenario)
    assert not Member.objects.filter(conversation=group, user=charlie).exists()


def test_leaving_the_care_team_leaves_its_thread_and_cuts_the_socket(alice, bob, paula, threads):
    from cordee.care.models import CareTeamMember
    from cordee.care.services import do_remove_from_care_team

    care = threads["care"]
    bob_cookie = session_cookie(bob)
    stay = CareTeamMember.objects.get(patient=paula.patient, member=bob, removed_at__isnull=True)

    async def scenario():
        b, ready = await connected(bob_cookie)
        assert care.pk in ready["conversations"]
        await sync_to_async(do_remove_from_care_team)(stay, by=alice)
        removed = await receive_type(b, "removed")
        assert removed["conversation"] == care.pk
        await b.send_json_to({"type": "open", "conversation": care.pk, "after": None})
        assert (await receive_type(b, "error"))["code"] == "not_found"
        await b.disconnect()

    run(scenario)
    assert not Member.objects.filter(conversation=care, user=bob).exists()
    entry = AuditEntry.objects.filter(action="conversation.member_removed", patient_id=paula.patient.pk).last()
    assert entry is not None and entry.details["member"] == bob.pk


def test_signing_out_closes_the_sockets_of_that_session(alice):
    from django.test import Client

    from tests.conftest import login_as

    client = Client()
    login_as(client, alice)
    cookie = client.cookies["cordee_session"].value

    async def scenario():
        a, _ = await connected(cookie)
        await sync_to_async(client.post)("/accounts/logout/")
        closed = await a.receive_output(timeout=3)
        assert closed["type"] == "websocket.close" and closed.get("code") == 4401

    run(scenario)


def test_staff_reads_for_the_professional_they_assist_but_cannot_write(sam, threads):
    direct = threads["direct"]
    cookie = session_cookie(sam)

    async def scenario():
        s, ready = await connected(cookie)
        assert direct.pk in ready["conversations"]  # Alice's conversation: Sam acts for Alice
        await s.send_json_to({"type": "open", "conversation": direct.pk, "after": None})
        history = await receive_type(s, "history")
        assert history["can_write"] is False and len(history["messages"]) == 2
        await s.send_json_to({"type": "send", "conversation": direct.pk, "key": new_key(), "body": "hi"})
        assert (await receive_type(s, "error"))["code"] == "not_found"
        await s.disconnect()

    run(scenario)


def test_a_staff_member_no_longer_acting_for_a_professional_loses_their_conversations(alice, sam, threads):
    direct = threads["direct"]
    cookie = session_cookie(sam)

    async def scenario():
        s, ready = await connected(cookie)
        assert direct.pk in ready["conversations"]
        await sync_to_async(sam.staff.acts_for.remove)(alice.professional)
        removed = await receive_type(s, "removed")
        assert removed["conversation"] == direct.pk
        await s.send_json_to({"type": "open", "conversation": direct.pk, "after": None})
        assert (await receive_type(s, "error"))["code"] == "not_found"
        await s.disconnect()

    run(scenario)


def test_the_sending_socket_gets_its_message_once_in_the_ack_and_another_tab_live(alice, threads):
    direct = threads["direct"]
    cookie = session_cookie(alice)

    async def scenario():
        tab1, _ = await connected(cookie)
        tab2, _ = await connected(cookie)
        for tab in (tab1, tab2):
            await tab.send_json_to({"type": "open", "conversation": direct.pk, "after": None})
            await receive_type(tab, "history")
        key = new_key()
        await tab1.send_json_to({"type": "send", "conversation": direct.pk, "key": key, "body": "deux onglets"})
        ack = await receive_type(tab1, "ack")
        live = await receive_type(tab2, "message")
        assert ack["message"]["body"] == live["message"]["body"] == "deux onglets"
        assert ack["id"] == live["message"]["id"]
        await tab1.send_json_to({"type": "ping"})
        assert (await tab1.receive_json_from(timeout=3))["type"] == "pong"  # no copy of its own message
        assert await tab1.receive_nothing(timeout=0.2)
        await tab1.disconnect()
        await tab2.disconnect()

    run(scenario)
