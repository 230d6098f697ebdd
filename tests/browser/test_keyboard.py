"""The shell and the conversation page with the keyboard only, the focus ring, form errors that are
heard, and the idle timeout said before it happens (issue 22)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from cordee.accounts.sessions import LAST_SEEN_KEY, SessionStore
from cordee.messaging.models import Conversation
from cordee.messaging.services.sending import SendRequest, do_send_message
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in
from tests.browser.test_accessibility import sign_in_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

INK = "rgb(27, 35, 39)"
FOCUS = "rgb(255, 191, 71)"


def focused(page, script: str):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {script}; }})()")


# What a screen reader says of the focused element: its aria-label, else its text without what is
# hidden from assistive technologies (a navigation entry's count "0" is aria-hidden).
NAME = """el.getAttribute('aria-label') || (() => {
  const copy = el.cloneNode(true);
  copy.querySelectorAll('[aria-hidden="true"]').forEach((node) => node.remove());
  return copy.textContent.trim().replace(/\\s+/g, ' ');
})()"""


def test_the_shell_by_keyboard(page, browser_issues, cordee_server, alice):
    sign_in_as(page, cordee_server.url, alice)
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shoot(page, "focus-skip-link-1280")
    page.keyboard.press("Enter")
    assert focused(page, "el.id") == "main"

    # Focus order: skip link, brand, search field and its button, the user menu, then the navigation.
    page.locator(".skip-link").focus()
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(focused(page, NAME))
    assert order[0] == "Cordée"
    assert focused(page, "true") and order[1] == ""  # the search field (named by its label)
    assert order[2] == "Rechercher" and order[3].endswith("Alice Martin — menu du compte")
    assert [order[4], order[6], order[7]] == ["Accueil", "Patients", "Adressages"]
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name=re.compile(r"^Messagerie\s*, 1 conversation non lue$"))).to_be_visible()

    # The search field's focus ring: yellow outside, a dark ring inside (over 3:1 on white).
    page.locator("#global-search").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = focused(page, "getComputedStyle(el).outlineColor")
    shadow = focused(page, "getComputedStyle(el).boxShadow")
    assert outline == FOCUS and INK in shadow
    shoot(page, "focus-search-1280")

    # The user menu: Enter opens it, Escape closes it with focus back on it; Tab past its end closes it.
    menu = page.locator("details.user-menu")
    summary = menu.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Sécurité de mon compte")).to_be_focused()
    shoot(page, "focus-user-menu-1280")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(20):
        page.keyboard.press("Tab")
        if not menu.evaluate("(m, el) => m.contains(document.activeElement)", None):
            break
    expect(menu).not_to_have_attribute("open", "")  # focus left: closed, nothing covers the next link
    expect(
        page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Accueil")
    ).to_be_focused()

    # The language changes only with its button: arrows in the list do not reload the page.
    summary.click()
    select = menu.locator("select")
    select.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    browser_issues.assert_clean()


def _thread(alice_pk: int) -> int:
    return Conversation.objects.get(kind=Conversation.Kind.DIRECT).pk


def test_the_conversation_page_by_keyboard(page, browser_issues, cordee_server, alice, bob):
    sign_in_as(page, cordee_server.url, alice)
    thread = orm(_thread, alice.pk)
    page.goto(f"/messagerie/{thread}/")
    expect(page.locator("[data-conn]")).to_have_text("Connecté")
    composer = page.locator("#composer-body")
    for _ in range(40):  # the composer is reached with Tab alone
        page.keyboard.press("Tab")
        if focused(page, "el.id") == "composer-body":
            break
    expect(composer).to_be_focused()
    page.keyboard.type("Je passe ce soir.")
    page.keyboard.press("Enter")
    mine = page.locator(".msg.mine", has_text="Je passe ce soir.")
    expect(mine).to_have_count(1)
    expect(
        mine.get_by_role("button", name=re.compile(r"^Modifier le message de \d\d:\d\d : « Je passe ce soir. »"))
    ).to_be_visible()
    announced = page.locator("[data-chat-announce]")
    expect(announced).to_have_text("")  # one's own message is not announced
    # The file picker comes next, and shows its focus on the whole drop zone.
    page.keyboard.press("Tab")
    assert focused(page, "el.type") == "file"
    assert INK in page.locator(".file-pick").evaluate("el => getComputedStyle(el).boxShadow")
    shoot(page, "focus-file-picker-1280")
    # A message from Bob is announced, by itself.
    orm(
        lambda: do_send_message(SendRequest(user=bob, conversation_id=thread, body="Merci !", client_key="kb-bob-0001"))
    )
    expect(announced).to_have_text("Nouveau message de Bob Durand : Merci !")
    # The settings open with the keyboard.
    settings = page.locator("details.chat-settings")
    settings.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(settings).to_have_attribute("open", "")
    browser_issues.assert_clean()


def test_a_wrong_password_is_heard_and_focused(page, browser_issues, alice):
    sign_in(page, alice.email, "not-her-password")
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    alert = page.locator("[role=alert]", has_text="incorrects")
    expect(alert).to_be_focused()
    expect(page.locator("#id_password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_login")).to_have_attribute("aria-invalid", "true")
    assert alert.evaluate("el => el.querySelector('ul').id") in page.locator("#id_password").get_attribute(
        "aria-describedby"
    )
    browser_issues.assert_clean()


def test_the_idle_timeout_is_said_two_minutes_before_and_can_be_put_off(
    page, browser_issues, cordee_server, alice, settings
):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 124  # the warning comes 4 s after the page
    sign_in_as(page, cordee_server.url, alice)
    page.goto("/")
    dialog = page.get_by_role("dialog", name="Êtes-vous toujours là ?")
    expect(dialog).to_be_visible(timeout=15_000)
    stay = dialog.get_by_role("button", name="Rester connecté")
    expect(stay).to_be_focused()
    shoot(page, "idle-warning-1280")
    before = time.time()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    key = next(c["value"] for c in page.context.cookies() if c["name"] == "cordee_session")
    assert orm(lambda: SessionStore(key)[LAST_SEEN_KEY]) >= int(before)
    browser_issues.assert_clean()


def _end_the_session(key: str) -> None:
    store = SessionStore(key)
    store[LAST_SEEN_KEY] = int(time.time()) - 100_000
    store.save()


def test_a_form_sent_after_the_session_ended_keeps_what_was_typed(page, browser_issues, cordee_server, alice):
    sign_in_as(page, cordee_server.url, alice)
    page.goto("/messagerie/nouvelle/")
    page.get_by_label("Nom du groupe").fill("Réunion de synthèse du jeudi")
    orm(_end_the_session, next(c["value"] for c in page.context.cookies() if c["name"] == "cordee_session"))
    page.get_by_role("button", name="Créer le groupe").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?expired=1&next=%2Fmessagerie%2Fnouvelle%2F"))
    expect(page.get_by_text("ce que vous aviez saisi est conservé")).to_be_visible()
    page.locator("input[name=login]").fill(alice.email)
    page.locator("input[name=password]").fill("cordee-demo-2026")
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/messagerie/nouvelle/$"))
    expect(page.get_by_label("Nom du groupe")).to_have_value("Réunion de synthèse du jeudi")
    expect(page.get_by_label("Nom du groupe")).to_be_focused()
    expect(page.get_by_text("a été remis dans le formulaire")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('cordee.kept-form')") is None  # then forgotten
    browser_issues.assert_clean()
