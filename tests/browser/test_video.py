"""Video calls in real Chromium with fake camera and microphone: two people reach each other
(connected, frames decoded, audio packets received), seen at 1280 px and at 375 px.

Chromium's fake devices (``--use-fake-device-for-media-stream``) give a moving test pattern and a
beep; ``--use-fake-ui-for-media-stream`` answers the permission prompt. Media go browser to
browser over loopback; the server only relays the signalling.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest
from playwright.sync_api import expect

from cordee.messaging.models import Conversation
from tests.browser.axe import violations
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in
from tests.conftest import free_port, require

pytestmark = [pytest.mark.browser]

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

# What each peer connection has received: the test reads it in the page (getStats).
INBOUND = """
async () => {
  const out = [];
  for (const [user, peer] of window.cordeeCall.peers) {
    const stats = await peer.pc.getStats();
    let frames = 0, audio = 0, relay = false;
    const candidates = new Map();
    stats.forEach((r) => { if (r.type === "local-candidate") candidates.set(r.id, r.candidateType); });
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
      if (r.type === "inbound-rtp" && r.kind === "audio") audio += r.packetsReceived || 0;
      if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded")
        relay = relay || candidates.get(r.localCandidateId) === "relay";
    });
    out.push({user, state: peer.pc.connectionState, frames, audio, relay});
  }
  return out;
}
"""

DETAIL = """
() => [...window.cordeeCall.peers.values()].map((peer) => ({
  transceivers: peer.pc.getTransceivers().map((t) => [
    t.mid, t.direction, t.currentDirection, t.sender.track && t.sender.track.kind, t.receiver.track.kind,
  ]),
  local: peer.pc.localDescription && peer.pc.localDescription.type,
  remote: peer.pc.remoteDescription && peer.pc.remoteDescription.type,
}))
"""

OFFERER = "(id) => window.cordeeCall.peers.get(id).offerer"
UFRAG = """(id) => {
  const sdp = window.cordeeCall.peers.get(id).pc.localDescription.sdp;
  return /a=ice-ufrag:(\\S+)/.exec(sdp)[1];
}"""


@pytest.fixture
def call_pages(chromium_executable, cordee_server, personas, browser_issues):
    """A Chromium with fake media devices; ``open(width)`` gives a page in a context of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS + MEDIA_ARGS)
        contexts = []

        def open_page(width: int = 1280, height: int = 800):
            context = browser.new_context(
                base_url=cordee_server.url,
                locale="fr-FR",
                viewport={"width": width, "height": height},
                permissions=["camera", "microphone"],
            )
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = context.new_page()
            page.on("console", browser_issues.on_console)
            page.on("pageerror", browser_issues.on_page_error)
            return page

        try:
            yield open_page
        finally:
            for context in contexts:
                for page in context.pages:
                    # Leave any call first (media and peer connections stopped by the page itself):
                    # closing a context in a five-person call once waited out the test's timeout.
                    with contextlib.suppress(Exception):
                        page.goto("about:blank", timeout=5_000)
                context.close()
            browser.close()


def log_in(page, user, *, second_factor: bool = True) -> None:
    sign_in(page, user.email)
    if second_factor:
        enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))


def thread_ids() -> dict[str, int]:
    return {c.kind: c.pk for c in Conversation.objects.all()}


def wait_for_media(page, peers: int, *, timeout: float = 30) -> list[dict]:
    """Until every peer connection is connected with video frames decoded and audio received."""
    deadline = time.monotonic() + timeout
    while True:
        seen = page.evaluate(INBOUND)
        if len(seen) == peers and all(p["state"] == "connected" and p["frames"] > 0 and p["audio"] > 0 for p in seen):
            return seen
        if time.monotonic() > deadline:
            detail = page.evaluate(DETAIL)
            raise AssertionError(f"media did not flow: {seen} {detail}")
        page.wait_for_timeout(250)


def tiles_show_video(page, count: int) -> None:
    """Every tile's <video> has a picture (the fake camera's pattern), its own included."""
    page.wait_for_function(
        """(count) => {
          const videos = [...document.querySelectorAll('.call-tile video')];
          return videos.length === count && videos.every((v) => v.videoWidth > 0 && v.readyState >= 2);
        }""",
        arg=count,
    )


def start_and_join(caller, callee, conversation_id: int) -> None:
    """The caller starts a call from the conversation; the callee joins it from the ringing banner."""
    callee.goto(f"/messagerie/{conversation_id}/")
    expect(callee.locator("[data-conn]")).to_have_attribute("data-state", "online")
    caller.goto(f"/messagerie/{conversation_id}/")
    caller.locator("[data-call-start]").click()
    expect(caller).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    banner = callee.locator("[data-call-banner]")
    expect(banner).to_be_visible()
    banner.locator("[data-call-join]").click()
    expect(callee).to_have_url(re.compile(r"/visio/appels/\d+/$"))


def test_two_people_call_each_other_and_see_the_fake_cameras(call_pages, browser_issues, alice, bob):
    ids = orm(thread_ids)
    alice_page, bob_page = call_pages(1280), call_pages(375, 812)
    log_in(alice_page, alice)
    log_in(bob_page, bob)
    bob_page.goto(f"/messagerie/{ids['direct']}/")
    expect(bob_page.locator("[data-conn]")).to_have_attribute("data-state", "online")
    alice_page.goto(f"/messagerie/{ids['direct']}/")
    alice_page.locator("[data-call-start]").click()
    expect(alice_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    # Bob's conversation rings: he joins from the banner.
    banner = bob_page.locator("[data-call-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Alice")
    banner.locator("[data-call-join]").click()
    expect(bob_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    for page in (alice_page, bob_page):
        stats = wait_for_media(page, 1)
        assert stats[0]["frames"] > 0 and stats[0]["audio"] > 0
        tiles_show_video(page, 2)
        expect(page.locator(".call-tile:not(.self) .state")).to_have_attribute("data-state", "connected")
    alice_page.wait_for_timeout(2500)  # a quality sample and a second of duration
    expect(alice_page.locator(".call-tile:not(.self) .quality")).to_be_visible()
    shoot(alice_page, "video-call-1280")
    shoot(bob_page, "video-call-375")
    assert violations(alice_page) == [] and violations(bob_page) == []  # axe, WCAG 2.1 A/AA
    # An ICE restart (what a failed connection triggers, e.g. the network changed): new ICE
    # credentials negotiated by the pair's offerer — whoever joined last: usually Bob, but Alice's
    # call page may join after Bob when Bob answers the ring quickly —, media flowing again.
    pairs = ((bob_page, alice.pk), (alice_page, bob.pk))
    offerers = [(page, other) for page, other in pairs if page.evaluate(OFFERER, other)]
    assert len(offerers) == 1, "exactly one side of a pair offers"
    ((offerer, other),) = offerers
    ufrag = offerer.evaluate(UFRAG, other)
    offerer.evaluate("(id) => window.cordeeCall.restartIce(id)", other)
    offerer.wait_for_function(f"(id) => ({UFRAG})(id) !== {ufrag!r}", arg=other)
    wait_for_media(offerer, 1)
    # Bob's socket drops (a lost network): the server takes him out of the call, his socket comes
    # back by itself and rejoins it, and the media flow again on both sides.
    joins = bob_page.evaluate("window.cordeeCall.counts.joins")
    bob_page.evaluate("window.cordeeCall.dropSocket()")
    bob_page.wait_for_function("(joins) => window.cordeeCall.counts.joins > joins", arg=joins, timeout=20_000)
    for page in (alice_page, bob_page):
        wait_for_media(page, 1)
    # Mute and camera off show on one's own tile; speaker view puts the other person first.
    alice_page.locator("[data-mute]").click()
    alice_page.locator("[data-camera]").click()
    expect(alice_page.locator(".call-tile.self .flags")).to_be_visible()
    alice_page.locator("[data-view-toggle]").click()
    expect(alice_page.locator(".call-tile.speaker")).to_have_count(1)
    shoot(alice_page, "video-call-1280-speaker-muted")
    # Alice ends the call for everyone (she started it).
    alice_page.locator("[data-end]").click()
    expect(bob_page.locator("[data-call]")).to_have_attribute("data-over", "true")
    browser_issues.assert_clean()


def test_a_call_rings_on_every_page_not_only_the_conversations(call_pages, browser_issues, alice, bob):
    """Bob is elsewhere in Cordée when Alice calls: the banner rings on his home page, follows him
    to another page (the socket's first frame lists the call), stays closed once he closes it, and
    takes him into the next call."""
    ids = orm(thread_ids)
    alice_page, bob_page = call_pages(1280), call_pages(375, 812)
    log_in(alice_page, alice)
    log_in(bob_page, bob)
    ringing = bob_page.locator("[data-call-ringing]")
    expect(bob_page.locator("html")).to_have_attribute("data-socket", "open")  # the home page's socket
    expect(ringing).to_be_hidden()
    alice_page.goto(f"/messagerie/{ids['direct']}/")
    alice_page.locator("[data-call-start]").click()
    expect(alice_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    expect(ringing).to_be_visible()
    expect(ringing).to_contain_text("Alice")
    shoot(bob_page, "video-ringing-home-375")
    assert violations(bob_page) == []
    bob_page.goto("/patients/")
    expect(ringing).to_have_attribute("data-ready", "true")
    expect(ringing).to_be_visible()  # from the ready frame: the call started before this page
    expect(ringing.locator("[data-call-join]")).to_have_attribute("href", re.compile(r"/visio/appels/\d+/$"))
    alice_page.locator("[data-end]").click()
    expect(ringing).to_be_hidden()  # the call ended
    # A second call: Bob closes its banner, and it stays closed on the next page.
    alice_page.goto(f"/messagerie/{ids['direct']}/")
    alice_page.locator("[data-call-start]").click()
    expect(ringing).to_be_visible()
    ringing.locator("[data-call-dismiss]").click()
    expect(ringing).to_be_hidden()
    bob_page.goto("/")
    expect(ringing).to_have_attribute("data-ready", "true")  # the ready frame listed the call...
    expect(ringing).to_be_hidden()  # ...and it stays closed
    alice_page.locator("[data-end]").click()
    # A third: Bob joins it from the banner.
    alice_page.goto(f"/messagerie/{ids['direct']}/")
    alice_page.locator("[data-call-start]").click()
    expect(ringing).to_be_visible()
    ringing.locator("[data-call-join]").click()
    expect(bob_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    expect(ringing).to_be_hidden()  # in the call: nothing rings
    wait_for_media(bob_page, 1)
    browser_issues.assert_clean()


def test_teleconsultation_the_patient_waits_is_let_in_and_reads_it_in_her_history(
    call_pages, browser_issues, alice, paula
):
    ids = orm(thread_ids)
    alice_page, paula_page = call_pages(1280), call_pages(375, 812)
    log_in(alice_page, alice)
    log_in(paula_page, paula, second_factor=False)
    paula_page.goto(f"/messagerie/{ids['patient']}/")
    expect(paula_page.locator("[data-conn]")).to_have_attribute("data-state", "online")
    expect(paula_page.locator("[data-call-start]")).to_have_count(0)  # the professional starts it
    alice_page.goto(f"/messagerie/{ids['patient']}/")
    alice_page.locator("[data-call-start]").click()
    expect(alice_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    banner = paula_page.locator("[data-call-banner]")
    expect(banner).to_contain_text("téléconsultation")
    banner.locator("[data-call-join]").click()
    expect(paula_page.locator("[data-call]")).to_have_attribute("data-state", "waiting")
    expect(paula_page.locator("[data-call-status]")).to_contain_text("salle d'attente")
    assert paula_page.evaluate("window.cordeeCall.peers.size") == 0  # no media before admission
    shoot(paula_page, "video-teleconsultation-waiting-375")
    admit = alice_page.locator("[data-admit]")
    expect(alice_page.locator("[data-waiting-list]")).to_contain_text("Paula")
    shoot(alice_page, "video-teleconsultation-waiting-room-1280")
    admit.click()
    for page in (alice_page, paula_page):
        wait_for_media(page, 1)
        tiles_show_video(page, 2)
    shoot(paula_page, "video-teleconsultation-375")
    alice_page.locator("[data-end]").click()
    expect(paula_page.locator("[data-call]")).to_have_attribute("data-over", "true")
    paula_page.goto("/patients/mon-historique/")
    expect(paula_page.locator("main")).to_contain_text("téléconsultation")
    shoot(paula_page, "video-teleconsultation-history-375")
    browser_issues.assert_clean()


def test_a_teleconsultation_is_planned_from_the_thread_and_the_patient_sees_it(
    call_pages, browser_issues, alice, paula
):
    import datetime as dt

    from django.utils import timezone

    ids = orm(thread_ids)
    alice_page, paula_page = call_pages(1280), call_pages(375, 812)
    log_in(alice_page, alice)
    log_in(paula_page, paula, second_factor=False)
    soon = timezone.localtime(timezone.now() + dt.timedelta(minutes=20)).replace(second=0, microsecond=0)
    alice_page.goto(f"/messagerie/{ids['patient']}/")
    alice_page.locator("[data-call-plan] summary").click()
    alice_page.get_by_label("Date et heure").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    alice_page.get_by_label("Durée").select_option("30")
    alice_page.locator("[data-plan-submit]").click()
    expect(alice_page.locator(".messages")).to_contain_text("Téléconsultation prévue le")
    planned = alice_page.locator("[data-planned]")
    expect(planned).to_contain_text(soon.strftime("%H:%M"))
    expect(planned).to_contain_text("30 min")
    expect(alice_page.locator("[data-messages]")).to_contain_text("Téléconsultation prévue le")  # said in the thread
    shoot(alice_page, "video-teleconsultation-planned-1280")
    # Paula: the navigation counts it, her list shows it with her professional's name.
    paula_page.goto("/")
    badge = paula_page.locator("[data-count='teleconsultations']").first
    expect(badge).to_contain_text("1")
    paula_page.goto("/visio/teleconsultations/")
    expect(paula_page.locator("main")).to_contain_text("Avec Alice Martin")
    expect(paula_page.locator("main")).to_contain_text("30 min")
    shoot(paula_page, "video-teleconsultations-list-375")
    assert violations(paula_page) == [] and violations(alice_page) == []
    # Started from the thread at the time: the appointment is held, and leaves the lists.
    alice_page.locator("[data-call-start]").click()
    expect(alice_page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    paula_page.reload()
    expect(paula_page.locator("main")).to_contain_text("Aucune téléconsultation prévue.")
    browser_issues.assert_clean()


def make_group(alice, bob, charlie) -> int:
    from cordee.messaging import services

    return services.do_create_group(alice, "Réunion de concertation", [bob.pk, charlie.pk]).pk


def test_three_people_in_a_mesh(call_pages, browser_issues, alice, bob, charlie):
    group = orm(make_group, alice, bob, charlie)
    pages = [call_pages(1280), call_pages(1280), call_pages(375, 812)]
    for page, user in zip(pages, (alice, bob, charlie), strict=True):
        log_in(page, user)
    start_and_join(pages[0], pages[1], group)
    pages[2].goto(f"/messagerie/{group}/")
    pages[2].locator("[data-call-join]").first.click()  # the call is in progress: the page offers to join it
    expect(pages[2]).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    for page in pages:
        wait_for_media(page, 2, timeout=45)
        tiles_show_video(page, 3)
    shoot(pages[0], "video-call-three-1280")
    shoot(pages[2], "video-call-three-375")
    browser_issues.assert_clean()


# --- through coturn ------------------------------------------------------------------------

TURN_SECRET = "video-test-secret-not-for-production"


def stun_answers(port: int) -> bool:
    """Whether a STUN binding request to 127.0.0.1:port gets an answer (the server is up)."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            return len(probe.recv(512)) >= 20
        except OSError:
            return False


@pytest.fixture
def turn_server(tmp_path, settings):
    """Debian's coturn on loopback with a configuration of this run (use-auth-secret), and the
    settings that send every call through it (iceTransportPolicy "relay")."""
    with running_turn(tmp_path, settings, relay_ip="127.0.0.1") as log:
        yield log


@contextlib.contextmanager
def running_turn(tmp_path, settings, *, relay_ip: str):
    turnserver = shutil.which("turnserver")
    require("coturn", turnserver is not None, "install Debian's coturn package (make turn-server)")
    assert turnserver is not None
    port = free_port(socket.SOCK_DGRAM)
    relay_low = free_port(socket.SOCK_DGRAM)
    config = tmp_path / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                f"relay-ip={relay_ip}",
                f"listening-port={port}",
                f"min-port={relay_low}",
                f"max-port={relay_low + 40}",
                "use-auth-secret",
                f"static-auth-secret={TURN_SECRET}",
                "realm=cordee.test",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                "allow-loopback-peers",  # the browsers' relayed addresses are on loopback here
                f"pidfile={tmp_path / 'turnserver.pid'}",
                f"userdb={tmp_path / 'turndb'}",
                "simple-log",
            ]
        )
        + "\n"
    )
    log = (tmp_path / "turnserver.log").open("w")
    process = subprocess.Popen(  # noqa: S603  (Debian's turnserver with our own configuration)
        [turnserver, "-c", str(config), "--log-file", "stdout"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while not stun_answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("turnserver did not start: " + (tmp_path / "turnserver.log").read_text())
        settings.VIDEO_STUN_URLS = []
        settings.VIDEO_TURN_URLS = [f"turn:127.0.0.1:{port}?transport=udp"]
        settings.VIDEO_TURN_SECRET = TURN_SECRET
        settings.VIDEO_ICE_TRANSPORT_POLICY = "relay"
        yield tmp_path / "turnserver.log"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_a_call_through_the_turn_relay_with_temporary_credentials(turn_server, call_pages, browser_issues, alice, bob):
    ids = orm(thread_ids)
    alice_page, bob_page = call_pages(1280), call_pages(1280)
    log_in(alice_page, alice)
    log_in(bob_page, bob)
    start_and_join(alice_page, bob_page, ids["direct"])
    for page in (alice_page, bob_page):
        stats = wait_for_media(page, 1, timeout=45)
        assert stats[0]["relay"], stats  # the selected pair goes through coturn
    tiles_show_video(alice_page, 2)
    browser_issues.assert_clean()


def test_expired_turn_credentials_do_not_connect(turn_server, call_pages, alice, bob, monkeypatch):
    from cordee.video import ice

    past = time.time() - 3600  # credentials issued an hour ago: expired for coturn
    ids = orm(thread_ids)
    alice_page, bob_page = call_pages(1280), call_pages(1280)
    log_in(alice_page, alice)
    log_in(bob_page, bob)
    monkeypatch.setattr(ice, "_now", lambda: past)
    start_and_join(alice_page, bob_page, ids["direct"])
    alice_page.wait_for_timeout(8000)
    for page in (alice_page, bob_page):
        seen = page.evaluate(INBOUND)
        assert seen and all(p["state"] != "connected" and p["frames"] == 0 for p in seen), seen


# --- beyond the mesh: through Janus ---------------------------------------------------------


@pytest.fixture
def janus_server(tmp_path, settings):
    """Debian's Janus on loopback (tests/video/janus_server.py), the SFU of calls beyond four."""
    from tests.video.janus_server import running_janus

    with running_janus(tmp_path / "janus", settings) as log:
        yield log


def make_meeting(personas) -> int:
    from cordee.messaging import services

    others = [personas[name].pk for name in ("bob", "charlie", "sam", "ada", "otto")]
    return services.do_create_group(personas["alice"], "Réunion de concertation", others).pk


SFU_FEEDS = "() => [...window.cordeeCall.peers.keys()].sort((a, b) => a - b)"


def test_five_people_through_the_sfu(janus_server, call_pages, browser_issues, personas):
    """A meeting of five (more than the mesh's four): each page publishes once to Janus and
    receives the four others from it; every tile shows the fake camera, named by Cordée."""
    group = orm(make_meeting, personas)
    users = [personas[name] for name in ("alice", "bob", "charlie", "sam", "ada")]
    pages = [call_pages(1280, 800) for _ in range(4)] + [call_pages(375, 812)]
    for page, user in zip(pages, users, strict=True):
        log_in(page, user)
    start_and_join(pages[0], pages[1], group)
    for page in pages[2:]:
        page.goto(f"/messagerie/{group}/")
        page.locator("[data-call-join]").first.click()
        expect(page).to_have_url(re.compile(r"/visio/appels/\d+/$"))
    for page in pages:
        wait_for_media(page, 4, timeout=90)
        tiles_show_video(page, 5)
        assert page.evaluate("() => window.cordeeCall.sfu.publisher.connectionState") == "connected"
    from cordee.video.models import Call, Participant

    call = orm(lambda: Call.objects.get(conversation_id=group))
    assert call.sfu_room
    feeds = orm(lambda: {p.user_id: p.pk for p in Participant.objects.filter(call=call)})
    # Alice's page receives the four others' feeds, named from Cordée's list, not by the browsers.
    assert pages[0].evaluate(SFU_FEEDS) == sorted(feeds[u.pk] for u in users[1:])
    captions = pages[0].locator(".call-tile:not(.self) figcaption span:first-child").all_text_contents()
    assert sorted(captions) == sorted(str(u.display_name) for u in users[1:])
    shoot(pages[0], "video-sfu-five-1280")
    shoot(pages[4], "video-sfu-five-375")
    # Bob's network drops: his page rejoins by itself (Cordée kicks the feed his lost page left in
    # the room and lets the new one in with the same id); the others receive him again.
    pages[1].evaluate("() => window.cordeeCall.dropSocket()")
    pages[1].wait_for_function("() => window.cordeeCall.counts.joins >= 2", timeout=20_000)
    wait_for_media(pages[1], 4, timeout=60)
    pages[0].wait_for_function(
        """(feed) => {
          const peer = window.cordeeCall.peers.get(feed);
          return peer && peer.pc.connectionState === "connected" && peer.tile.querySelector("video").videoWidth > 0;
        }""",
        arg=feeds[users[1].pk],
        timeout=30_000,
    )
    wait_for_media(pages[0], 4, timeout=30)
    # Charlie's page loses Cordée for good but keeps its connections to Janus open (a page that
    # would go on watching): Cordée takes him out, Janus closes his feed and his subscriptions.
    pages[2].evaluate("() => window.cordeeCall.stopSocket()")
    for page in (pages[0], pages[4]):
        page.wait_for_function("() => window.cordeeCall.peers.size === 3")  # he is out of the room
    pages[2].wait_for_timeout(1000)  # what was in flight arrives
    before = {p["user"]: p["frames"] for p in pages[2].evaluate(INBOUND)}
    pages[2].wait_for_timeout(3000)
    after = {p["user"]: p["frames"] for p in pages[2].evaluate(INBOUND)}
    assert after == before, (before, after)  # Janus forwards him nothing more
    pages[2].wait_for_function("() => window.cordeeCall.sfu.publisher.connectionState !== 'connected'")
    moving = {p["user"]: p["frames"] for p in pages[0].evaluate(INBOUND)}
    pages[0].wait_for_timeout(1000)
    assert all(p["frames"] > moving[p["user"]] for p in pages[0].evaluate(INBOUND))  # the others still see
    # One leaves: back to the conversation, and the others drop their tile.
    pages[3].locator("[data-leave]").click()
    expect(pages[3]).to_have_url(re.compile(rf"/messagerie/{group}/$"))
    for page in (pages[0], pages[4]):
        page.wait_for_function("() => window.cordeeCall.peers.size === 2")
    browser_issues.assert_clean()


def test_a_meeting_through_the_sfu_and_the_turn_relay(tmp_path, settings, call_pages, browser_issues, personas):
    """With every call sent through coturn (``relay``), the pages reach Janus through the relay
    with their temporary credentials: the SFU does not bypass the operator's relay policy. Janus
    and coturn's relay on the host's address, not loopback (see ``running_janus``)."""
    from tests.video.janus_server import host_address, running_janus

    address = host_address()
    if address is None:  # a property of the machine, not a component to install
        pytest.skip("this machine has no non-loopback IPv4 address: coturn cannot relay to Janus off loopback")
    with (
        running_turn(tmp_path, settings, relay_ip=address),
        running_janus(tmp_path / "janus", settings, ice_address=address),
    ):
        meeting_through_the_relay(call_pages, browser_issues, personas)


def meeting_through_the_relay(call_pages, browser_issues, personas) -> None:
    group = orm(make_meeting, personas)
    users = [personas[name] for name in ("alice", "bob", "charlie")]
    pages = [call_pages(1280, 800) for _ in users]
    for page, user in zip(pages, users, strict=True):
        log_in(page, user)
    start_and_join(pages[0], pages[1], group)
    pages[2].goto(f"/messagerie/{group}/")
    pages[2].locator("[data-call-join]").first.click()
    for page in pages:
        stats = wait_for_media(page, 2, timeout=60)
        assert all(p["relay"] for p in stats), stats  # each subscription's selected pair goes through coturn
    browser_issues.assert_clean()
