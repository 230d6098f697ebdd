"""Messaging as people use it, two browsers at once: live delivery, a patient answering, a file.

Each person signs in in their own browser context (own cookies) against the same uvicorn.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cordee.messaging.models import Conversation
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


@pytest.fixture
def second_page(page, cordee_server, browser_issues):
    """Another person's browser: a new context (cookies of its own) of the same Chromium."""
    context = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    other = context.new_page()
    other.on("console", browser_issues.on_console)
    other.on("pageerror", browser_issues.on_page_error)
    yield other
    context.close()


def log_in(page, user, *, second_factor: bool = True) -> None:
    sign_in(page, user.email)
    if second_factor:
        enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))


def open_conversation(page, conversation_id: int) -> None:
    page.goto(f"/messagerie/{conversation_id}/")
    expect(page.locator("[data-conn]")).to_have_attribute("data-state", "online")


def thread_ids() -> dict[str, int]:
    return {c.kind: c.pk for c in Conversation.objects.all()}


def test_alice_sends_and_bob_sees_it_without_reloading(page, second_page, browser_issues, alice, bob):
    ids = orm(thread_ids)
    log_in(page, alice)
    log_in(second_page, bob)
    open_conversation(page, ids["direct"])
    open_conversation(second_page, ids["direct"])
    hostile = 'Bonjour Bob <b>gras</b> <img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    page.locator("[data-body]").fill(hostile)
    page.locator("[data-body]").press("Enter")
    arrived = second_page.locator(".msg .msg-body", has_text="<b>gras</b>")
    expect(arrived).to_have_text(hostile)  # shown as text…
    assert second_page.locator(".chat-messages b, .chat-messages img, .chat-messages script").count() == 0
    assert second_page.evaluate("window.pwned") is None  # …never run
    expect(page.locator(".msg.mine .msg-body", has_text="<b>gras</b>")).to_have_count(1)  # no duplicate
    shoot(second_page, "messaging-bob-receives")
    browser_issues.assert_clean()


def test_alice_starts_a_thread_with_paula_who_answers_from_her_phone(page, second_page, browser_issues, alice, paula):
    orm(lambda: Conversation.objects.filter(kind=Conversation.Kind.PATIENT).delete())
    log_in(page, alice)
    page.goto("/messagerie/nouvelle/")
    page.locator("#patient").select_option(label="Paula BERNARD")
    page.get_by_role("button", name="Écrire au patient").click()
    expect(page).to_have_url(re.compile(r"/messagerie/\d+/$"))
    expect(page.locator("[data-conn]")).to_have_attribute("data-state", "online")
    page.locator("[data-body]").fill("Bonjour Madame Bernard, avez-vous reçu l'ordonnance ?")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".msg.mine:not(.pending) .msg-body")).to_have_text(
        "Bonjour Madame Bernard, avez-vous reçu l'ordonnance ?"
    )

    second_page.set_viewport_size({"width": 375, "height": 812})
    log_in(second_page, paula, second_factor=False)
    second_page.goto("/messagerie/")
    second_page.locator(".chat-list a", has_text="Alice Martin").click()
    expect(second_page.locator(".msg .msg-body").last).to_have_text(
        "Bonjour Madame Bernard, avez-vous reçu l'ordonnance ?"
    )
    second_page.locator("[data-body]").fill("Oui, merci docteur.")
    second_page.locator("[data-body]").press("Enter")
    expect(page.locator(".msg:not(.mine) .msg-body").last).to_have_text("Oui, merci docteur.")
    # Nothing on the conversation page (composer, file picker, menu) widens it past a phone screen.
    assert second_page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(second_page, "messaging-paula-phone")
    browser_issues.assert_clean()


def without_read_marks(page) -> None:
    """Keep this page's socket from writing read marks.

    On SQLite the test server's threads share the test's one connection (tests/browser/conftest.py):
    a read mark written by the socket's thread while the same browser loads a preview would
    interleave two transactions on it. Nothing else on this page writes while the test looks.
    """

    def route(ws):
        server = ws.connect_to_server()
        ws.on_message(
            lambda message: None if '"type":"read"' in str(message).replace(" ", "") else server.send(message)
        )

    page.route_web_socket(re.compile(r"/ws/messagerie/$"), route)


def test_an_attachment_is_uploaded_and_downloaded_intact(page, second_page, browser_issues, alice, bob, tmp_path):
    ids = orm(thread_ids)
    from tests.messaging.test_attachments import png_bytes

    data = png_bytes((640, 480), (20, 120, 200))
    name = '<img src=x onerror="window.pwned=1">.png'
    log_in(page, alice)
    log_in(second_page, bob)
    open_conversation(page, ids["direct"])
    page.locator("[data-file]").set_input_files({"name": name, "mimeType": "text/html", "buffer": data})
    expect(page.locator("[data-pending-files]")).to_contain_text(name)
    page.locator("[data-body]").fill("La radio")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".msg.mine:not(.pending) .msg-file")).to_have_text(name)
    page.close()  # Alice is done: from now on only Bob's browser talks to the server

    without_read_marks(second_page)
    open_conversation(second_page, ids["direct"])
    link = second_page.locator(".msg-file", has_text=name)
    expect(link).to_have_text(name)  # the name shown as text, never as markup
    expect(second_page.locator(".msg-preview")).to_be_visible()
    expect(second_page.locator(".msg-preview")).to_have_js_property("naturalWidth", 480)  # Cordée's re-encoding
    with second_page.expect_download() as waiting:
        link.click()
    saved = tmp_path / "downloaded"
    waiting.value.save_as(saved)
    assert Path(saved).read_bytes() == data
    assert second_page.evaluate("window.pwned") is None
    browser_issues.assert_clean()


def test_a_message_typed_offline_is_kept_and_sent_on_reconnection(page, browser_issues, alice):
    """The network goes away (the socket is cut and new ones refused), then comes back."""
    ids = orm(thread_ids)
    network = {"up": True, "sockets": []}

    def route(ws):
        if not network["up"]:
            ws.close(code=1011)
            return
        ws.connect_to_server()
        network["sockets"].append(ws)

    page.route_web_socket(re.compile(r"/ws/messagerie/$"), route)
    log_in(page, alice)
    open_conversation(page, ids["direct"])
    network["up"] = False
    for ws in network["sockets"]:
        ws.close(code=1011)
    expect(page.locator("[data-conn]")).to_have_attribute("data-state", "offline")
    page.locator("[data-body]").fill("Écrit hors ligne")
    page.locator("[data-body]").press("Enter")
    expect(page.locator(".msg.pending .msg-body")).to_have_text("Écrit hors ligne")
    assert page.evaluate("sessionStorage.length") == 1  # kept in this tab until it is sent
    network["up"] = True
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-conn]")).to_have_attribute("data-state", "online", timeout=20_000)
    expect(page.locator(".msg.mine:not(.pending) .msg-body", has_text="Écrit hors ligne")).to_have_count(1)
    assert page.evaluate("sessionStorage.length") == 0
    assert orm(lambda: Conversation.objects.get(pk=ids["direct"]).messages.count()) == 3
    browser_issues.assert_clean()


def _bob_sends(bob_id: int, conversation_id: int, texts: list[str]) -> None:
    from cordee.accounts.models import User
    from cordee.messaging.services.sending import SendRequest, do_send_message

    bob = User.objects.get(pk=bob_id)
    for text in texts:
        do_send_message(SendRequest(bob, conversation_id, text, f"gap-test-{uuid.uuid4().hex}"))


@pytest.mark.parametrize("late", [True, False], ids=["arrives-late", "never-arrives"])
def test_a_message_arriving_out_of_order_waits_for_the_missing_one_before_any_catch_up(
    page, browser_issues, alice, bob, late
):
    """Issue 21: a socket may get number n+1 before n (one's own ack is sent by another task).
    The page waits a moment for n: arriving late, it costs no catch-up (no "open" frame, no
    audited read); never arriving, the page catches up once and shows it from the history."""
    ids = orm(thread_ids)
    opens: list[dict] = []
    held: list[str] = []

    def route(ws) -> None:
        server = ws.connect_to_server()

        def from_page(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "open":
                opens.append(frame)
            server.send(message)

        def from_server(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message" and "Premier" in frame["message"].get("body", "") and not held:
                held.append(message)  # n is held back…
                return
            ws.send(message)
            if held and late and frame.get("type") == "message":
                ws.send(held[0])  # …and delivered right after n+1

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/messagerie/"), route)
    log_in(page, alice)
    open_conversation(page, ids["direct"])
    expect(page.locator(".msg .msg-body").last).to_be_visible()
    opened_at_start = len(opens)
    orm(_bob_sends, bob.pk, ids["direct"], ["Premier message", "Second message"])
    expect(page.locator(".msg .msg-body", has_text="Second message")).to_have_count(1)
    expect(page.locator(".msg .msg-body", has_text="Premier message")).to_have_count(1)
    page.wait_for_timeout(1200)  # past the page's wait for a missing number
    catch_ups = len(opens) - opened_at_start
    assert catch_ups == (0 if late else 1), opens
    texts = page.locator(".msg .msg-body").all_inner_texts()
    assert texts.index("Premier message") < texts.index("Second message")
    browser_issues.assert_clean()
