"""The scientific library as Alice and Bob use it: search as she types (French and English), a
publication-type filter, the article page, a collection, and a reference shared into her
conversation with Bob, who opens the card in his own browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cordee.library import services
from cordee.library.demo import ARTICLES
from cordee.library.models import Collection
from cordee.messaging.models import Conversation
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


@pytest.fixture
def articles(transactional_db):
    run = services.create_command_run([ARTICLES])
    services.do_run_import(run.pk)


@pytest.fixture
def bob_page(page, cordee_server, browser_issues):
    context = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    other = context.new_page()
    other.on("console", browser_issues.on_console)
    other.on("pageerror", browser_issues.on_page_error)
    yield other
    context.close()


def log_in(page, user) -> None:
    sign_in(page, user.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))


def test_alice_finds_saves_and_shares_an_article_bob_opens_it(articles, page, bob_page, browser_issues, alice, bob):
    log_in(page, alice)
    page.goto("/bibliotheque/")
    expect(page.locator("h1")).to_have_text("Bibliothèque scientifique")
    box = page.get_by_label("Rechercher des articles")
    box.press_sequentially("metformine", delay=30)
    results = page.locator("#lib-results")
    expect(results.locator(".lib-results > li").first).to_contain_text("Metformin and lactic acidosis")
    expect(page).to_have_url(re.compile(r"/bibliotheque/$"))  # no page load: htmx
    shoot(page, "library-search-metformine")

    box.fill("")
    box.press_sequentially("heart failure review 2020", delay=20)
    expect(results.locator(".lib-results > li")).to_have_count(1)
    expect(results.locator(".lib-results > li").first).to_contain_text("Sodium-glucose cotransporter 2 inhibitors")

    box.fill("heart failure")
    box.press("Enter")
    expect(results).to_contain_text("Guideline for the diagnosis of acute heart failure")
    page.locator("details.filters summary").click()
    page.get_by_label("Type de publication").select_option("Review")
    expect(results).not_to_contain_text("Guideline for the diagnosis")
    expect(results).to_contain_text("Sodium-glucose cotransporter 2 inhibitors")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "library-search-filtered-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    results.get_by_role("link", name=re.compile("Sodium-glucose cotransporter 2")).click()
    expect(page.locator("h1")).to_contain_text("Sodium-glucose cotransporter 2 inhibitors")
    expect(page.locator("#citation")).to_contain_text("Eur J Heart Fail. 2020 Jun;12(4):455-67.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "library-article-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Enregistrer dans une collection").select_option("new")
    page.get_by_label("Nom de la nouvelle collection").fill("Cardiologie")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("link", name="Cardiologie")).to_be_visible()
    assert orm(lambda: Collection.objects.get(owner=alice, name="Cardiologie").items.count()) == 1

    direct = orm(lambda: Conversation.objects.get(kind=Conversation.Kind.DIRECT, members__user=bob).pk)
    page.get_by_label("Conversation", exact=True).select_option(str(direct))
    page.get_by_label("Message (facultatif)").fill("Pour la réunion de jeudi")
    page.get_by_role("button", name="Partager").click()
    expect(page).to_have_url(re.compile(rf"/messagerie/{direct}/$"))
    card = page.locator(".msg-card").last
    expect(card).to_contain_text("Sodium-glucose cotransporter 2 inhibitors")
    shoot(page, "library-shared-card-alice")

    log_in(bob_page, bob)
    bob_page.goto(f"/messagerie/{direct}/")
    bob_card = bob_page.locator(".msg-card").last
    expect(bob_card).to_contain_text("Référence scientifique")
    expect(bob_card).to_contain_text("Eur J Heart Fail · 2020")
    shoot(bob_page, "library-shared-card-bob")
    bob_card.get_by_role("link").click()
    expect(bob_page.locator("h1")).to_contain_text("Sodium-glucose cotransporter 2 inhibitors")
    expect(bob_page.locator("#note-text")).to_have_value("")
    browser_issues.assert_clean()


def test_text_typed_before_htmx_is_ready_is_searched(articles, page, browser_issues, alice):
    """A quick user (or a slow phone) types before htmx has bound the as-you-type search: the
    page searches what was typed once htmx is ready (web/shell/typed.js), not only at the next
    keystroke."""
    log_in(page, alice)
    held = []
    page.route("**/htmx*.js", lambda route: held.append(route))  # htmx's script held back: no DOMContentLoaded yet
    page.goto("/bibliotheque/", wait_until="commit")
    box = page.get_by_label("Rechercher des articles")
    box.press_sequentially("metformine", delay=10)
    assert held and page.evaluate("window.htmx === undefined")
    held[0].continue_()
    expect(page.locator("#lib-results .lib-results > li").first).to_contain_text("Metformin and lactic acidosis")
    expect(box).to_have_value("metformine")
    browser_issues.assert_clean()
