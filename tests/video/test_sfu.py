"""Calls beyond the mesh through a real Janus (Debian's package, started on loopback by the test):
Cordée creates the room, lets in only the participants it admits, takes a leaving or removed
member out, destroys the room at the end; Janus refuses expired tokens and unknown room tokens."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from cordee.audit.models import AuditEntry
from cordee.messaging import services as messaging
from cordee.messaging.models import Member
from cordee.video import janus, purposes
from cordee.video.models import Call, Participant
from tests.conftest import free_port, login_as
from tests.messaging.conftest import receive_type, session_cookie
from tests.video.conftest import connected, run
from tests.video.janus_server import RawJanus, running_janus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]

UNAUTHORIZED_ROOM = 433  # VideoRoom: "Unauthorized (not in the allowed list)"


@pytest.fixture
def sfu(tmp_path, settings):
    with running_janus(tmp_path / "janus", settings) as log:
        yield log


@pytest.fixture
def meeting(personas):
    """A group of six: more than the mesh's four."""
    names = ["bob", "charlie", "sam", "ada", "otto"]
    return messaging.do_create_group(personas["alice"], "Réunion de concertation", [personas[n].pk for n in names])


def start(user, conversation):
    client = Client()
    login_as(client, user)
    return client.post(reverse("video:start", kwargs={"conversation_id": conversation.pk}), follow=True)


def room_exists(room: int) -> bool:
    with janus.Session() as session:
        return bool(session.request({"request": "exists", "room": room})["exists"])


def publish_as(config: dict, *, token: str | None = None, access: str | None = None) -> dict:
    """Join the room as a publisher the way a page does, with what Cordée gave it (or not)."""
    client = RawJanus(janus.settings.VIDEO_JANUS_URL, token or config["token"])
    opened = client.open()
    if opened["janus"] != "success":
        return {"error_code": opened["error"]["code"], "error": opened["error"]["reason"]}
    return client.message(
        {
            "request": "join",
            "ptype": "publisher",
            "room": config["room"],
            "id": config["feed"],
            "token": access or config["access"],
        }
    )


def test_janus_accepts_cordees_signed_tokens_until_they_expire(sfu):
    fresh = RawJanus(janus.settings.VIDEO_JANUS_URL, janus.signed_token())
    assert fresh.open()["janus"] == "success"
    expired = RawJanus(janus.settings.VIDEO_JANUS_URL, janus.signed_token(now=time.time() - 3600))
    assert expired.open()["error"]["code"] == 403
    forged = RawJanus(janus.settings.VIDEO_JANUS_URL, janus.signed_token(secret="not-the-secret"))
    assert forged.open()["error"]["code"] == 403
    # A browser's token does not create rooms: the VideoRoom asks for the admin key.
    fresh.post(f"/{fresh.session}/{fresh.handle}", {"janus": "message", "body": {"request": "create", "room": 7}})
    with janus.Session() as session:
        assert session.request({"request": "exists", "room": 7})["exists"] is False


def test_a_large_group_calls_through_the_sfu_and_only_its_participants_get_in(sfu, personas, meeting):
    alice, bob, charlie = personas["alice"], personas["bob"], personas["charlie"]
    start(alice, meeting)
    call = Call.objects.get()
    assert call.sfu_room and room_exists(call.sfu_room)
    assert AuditEntry.objects.get(action=purposes.STARTED).details["media"] == "sfu"
    cookies = {u.email: session_cookie(u) for u in (alice, bob, charlie)}

    rows: dict[int, int] = {}

    def feeds_in_room() -> list[int]:
        with janus.Session() as session:
            present = session.request({"request": "listparticipants", "room": call.sfu_room})["participants"]
        return [p["id"] for p in present]

    async def scenario():
        joined = {}
        sockets = {}
        for user in (alice, bob, charlie):
            comm = await connected(cookies[user.email])
            await comm.send_json_to({"type": "call.join", "call": call.pk})
            joined[user.email] = await receive_type(comm, "call.joined")
            sockets[user.email] = comm
        rows.update(await sync_to_async(lambda: {p.user_id: p.pk for p in Participant.objects.filter(call=call)})())
        configs = {email: frame["sfu"] for email, frame in joined.items()}
        assert configs[bob.email]["feed"] == rows[bob.pk] and configs[bob.email]["room"] == call.sfu_room
        assert [p["feed"] for p in joined[charlie.email]["peers"]] == [rows[alice.pk], rows[bob.pk]]
        # Each page gets its own room token; Janus lets each in with it, nobody with a made-up one.
        assert len({c["access"] for c in configs.values()}) == 3
        publish = sync_to_async(publish_as)
        assert (await publish(configs[alice.email]))["videoroom"] == "joined"
        assert (await publish(configs[bob.email], access="0" * 40))["error_code"] == UNAUTHORIZED_ROOM
        assert (await publish(configs[bob.email]))["videoroom"] == "joined"
        assert sorted(await sync_to_async(feeds_in_room)()) == sorted([rows[alice.pk], rows[bob.pk]])

        # Bob leaves: his token is taken back and his feed kicked.
        await sockets[bob.email].send_json_to({"type": "call.leave", "call": call.pk})
        while (await receive_type(sockets[alice.email], "call.participant"))["state"] != "left":
            pass  # (the frames of Bob and Charlie joining come first)
        assert await sync_to_async(feeds_in_room)() == [rows[alice.pk]]
        assert (await publish(configs[bob.email]))["error_code"] == UNAUTHORIZED_ROOM

        # Removing Charlie from the group takes him out of the call and off the room's list.
        await sync_to_async(messaging.do_remove_member)(alice, meeting.pk, charlie.pk)
        assert (await publish(configs[charlie.email]))["error_code"] == UNAUTHORIZED_ROOM

        # The end destroys the room.
        await sockets[alice.email].send_json_to({"type": "call.end", "call": call.pk})
        await receive_type(sockets[alice.email], "call.ended")
        for comm in sockets.values():
            await comm.disconnect()

    run(scenario)
    assert not room_exists(call.sfu_room)


def test_the_sfu_holds_more_than_the_mesh(sfu, personas, meeting):
    start(personas["alice"], meeting)
    call = Call.objects.get()
    users = [personas[n] for n in ("alice", "bob", "charlie", "sam", "ada")]
    cookies = [session_cookie(u) for u in users]

    async def scenario():
        states, sockets = [], []
        for cookie in cookies:
            comm = await connected(cookie)
            sockets.append(comm)
            await comm.send_json_to({"type": "call.join", "call": call.pk})
            states.append((await receive_type(comm, "call.joined"))["state"])
        for comm in sockets:
            await comm.disconnect()
        return states

    assert run(scenario) == ["joined"] * 5
    assert AuditEntry.objects.filter(action=purposes.JOINED, target_id=call.pk).count() == 5


def test_a_two_person_call_stays_a_mesh_with_the_sfu_on(sfu, alice, bob, threads):
    start(alice, threads["direct"])
    assert Call.objects.get().sfu_room is None


def test_with_janus_down_a_large_call_is_refused_clearly_and_nothing_is_left(settings, personas, meeting):
    settings.VIDEO_SFU = "janus"
    settings.VIDEO_JANUS_URL = f"http://127.0.0.1:{free_port()}/janus"  # nothing listens there
    settings.VIDEO_JANUS_WS_URL = "ws://127.0.0.1:1"
    settings.VIDEO_JANUS_SECRET = settings.VIDEO_JANUS_ADMIN_KEY = "x"
    response = start(personas["alice"], meeting)
    assert "Le serveur vidéo des appels de groupe est injoignable" in response.content.decode()
    assert not Call.objects.exists()
    assert not AuditEntry.objects.filter(action=purposes.STARTED).exists()


def test_the_call_page_may_reach_the_sfu_and_the_ice_endpoint_renews_its_token(sfu, personas, meeting, settings):
    alice = personas["alice"]
    start(alice, meeting)
    call = Call.objects.get()
    client = Client()
    login_as(client, alice)
    page = client.get(reverse("video:call", kwargs={"call_id": call.pk}))
    assert settings.VIDEO_JANUS_WS_URL in page["Content-Security-Policy"].split("connect-src")[1].split(";")[0]
    renewed = client.get(reverse("video:ice", kwargs={"call_id": call.pk})).json()
    assert renewed["sfuToken"].endswith("=") and ",janus,janus.plugin.videoroom:" in renewed["sfuToken"]
    assert RawJanus(settings.VIDEO_JANUS_URL, renewed["sfuToken"]).open()["janus"] == "success"
    # An outsider gets neither the page nor a token (the same 404 as for no call).
    outsider = Client()
    login_as(outsider, personas["paula"])
    assert outsider.get(reverse("video:ice", kwargs={"call_id": call.pk})).status_code == 404
    # Other pages do not open connect-src to the SFU.
    assert settings.VIDEO_JANUS_WS_URL not in client.get("/")["Content-Security-Policy"]
    assert Member.objects.filter(conversation=meeting).count() == 6


def test_janus_config_needs_the_secrets_and_keeps_them_to_its_owner(settings, tmp_path):
    import io
    import stat

    from django.core.management import CommandError, call_command

    settings.VIDEO_JANUS_SECRET = ""
    with pytest.raises(CommandError, match="VIDEO_JANUS_SECRET"):
        call_command("janus_config", str(tmp_path / "none"), stdout=io.StringIO())
    assert not (tmp_path / "none").exists()
    settings.VIDEO_JANUS_SECRET, settings.VIDEO_JANUS_ADMIN_KEY = "token-secret", "room-admin-key"
    call_command("janus_config", str(tmp_path / "conf"), "--public-ip", "203.0.113.7", stdout=io.StringIO())
    folder = tmp_path / "conf"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    main = (folder / "janus.jcfg").read_text()
    assert 'token_auth_secret = "token-secret"' in main and 'nat_1_1_mapping = "203.0.113.7"' in main
    assert 'admin_key = "room-admin-key"' in (folder / "janus.plugin.videoroom.jcfg").read_text()
    assert "admin_http = false" in (folder / "janus.transport.http.jcfg").read_text()
    assert [p.name for p in (folder / "plugins").iterdir()] == ["libjanus_videoroom.so"]
