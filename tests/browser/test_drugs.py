"""The drug search as people use it: results as they type (htmx under the CSP), the product
page on a phone, interactions picked through the search."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cordee.drugs.models import ImportRun
from tests.browser.support import enter_totp, fresh_totp, shoot, sign_in
from tests.drugs.bdpm_helpers import THESAURUS, write_subset
from tests.drugs.conftest import run_import

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


@pytest.fixture
def drugs(transactional_db, tmp_path):
    write_subset(tmp_path / "bdpm")
    run_import(tmp_path / "bdpm")
    run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)


def test_results_appear_as_alice_types_and_lead_to_the_product_page(drugs, page, browser_issues, alice):
    sign_in(page, alice.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.locator("details.menu summary").click()
    page.get_by_role("navigation").get_by_role("link", name="Médicaments").click()
    expect(page.locator("h1")).to_have_text("Médicaments")
    page.get_by_label("Médicament, substance, CIS ou CIP").press_sequentially("dolipran", delay=40)
    results = page.locator("#drug-results")
    expect(results.locator(".drug-item").first).to_contain_text("DOLIPRANE")  # no page load: htmx
    expect(page).to_have_url(re.compile(r"/medicaments/$"))
    page.get_by_label("Médicament, substance, CIS ou CIP").fill("3400949497294")
    expect(results.locator(".drug-item").first).to_contain_text("ANASTROZOLE ACCORD")
    page.set_viewport_size({"width": 390, "height": 844})
    results.get_by_role("link", name=re.compile("ANASTROZOLE ACCORD")).first.click()
    expect(page.locator("h1")).to_contain_text("ANASTROZOLE ACCORD 1 mg")
    expect(page.get_by_role("heading", name="Présentations")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the product page is {width}px wide on a 390px phone"
    shoot(page, "drugs-product-phone")
    browser_issues.assert_clean()


def test_interactions_between_drugs_picked_with_the_search(drugs, page, browser_issues, alice):
    sign_in(page, alice.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/medicaments/interactions/")
    box = page.get_by_label("Médicament, substance, CIS ou CIP")
    box.press_sequentially("coumadine", delay=30)
    page.locator("#drug-results button", has_text="Ajouter").first.click()
    expect(page.get_by_role("heading", name="1 médicament choisi")).to_be_visible()
    box = page.get_by_label("Médicament, substance, CIS ou CIP")
    box.fill("")
    box.press_sequentially("kardegic 75", delay=30)
    expect(page.locator("#drug-results .drug-item").first).to_contain_text("KARDEGIC 75")
    page.locator("#drug-results button", has_text="Ajouter").first.click()
    expect(page.get_by_role("heading", name="2 médicaments choisis")).to_be_visible()
    # KARDEGIC 75 is an antiplatelet strength: the dose-graded entry gives "association déconseillée"
    # (with a history of ulcer) and "à prendre en compte", not the contraindication of higher doses.
    first = page.locator(".interaction").first
    expect(first).to_have_class(re.compile(r"\blevel-ad\b"))
    expect(first).to_contain_text("Association déconseillée")
    expect(first).to_contain_text("75 mg par unité")
    shoot(page, "drugs-interactions")
    browser_issues.assert_clean()
