"""Video calls in real Chromium with fake camera and microphone: two people reach each other
(connected, frames decoded, audio packets received), seen at 1280 px and at 375 px.

Chromium's fake devices (``--use-fake-device-for-media-stream``) give a moving test pattern and a
beep; ``--use-fake-ui-for-media-stream`` answers the permission prompt. Media go browser to
browser over loopback; the server only relays the signalling.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from cordee.messaging.models import Conversation
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in

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
                context.close()
            browser.close()


def log_in(page, user) -> None:
    sign_in(page, user.email)
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
