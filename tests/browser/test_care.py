"""Need-to-know access as people use it: Alice opens Paula's record, Paula sees it in her history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import enter_totp, fresh_totp, shoot, sign_in, sign_out

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def test_paula_sees_that_alice_opened_her_record(page, browser_issues, alice, paula):
    sign_in(page, alice.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.locator("details.menu summary").click()
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="BERNARD Paula Marie").click()
    expect(page.locator("h1")).to_contain_text("BERNARD Paula Marie")
    expect(page.get_by_text("1.2.250.1.213.1.4.8")).to_be_visible()
    shoot(page, "care-patient-page")
    sign_out(page)

    sign_in(page, paula.email)  # a patient: second factor offered, not imposed
    expect(page).to_have_url(re.compile(r"/$"))
    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone the tab bar holds the first three entries; the others are in its menu (drawer).
    page.locator("[data-drawer-toggle]").click()
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Mon historique d'accès").click()
    expect(page.locator("h1")).to_have_text("Mon historique d'accès")
    row = page.locator("tbody tr", has_text="Alice Martin").first
    expect(row).to_contain_text("A ouvert le dossier du patient")
    expect(row).to_contain_text("Maison de santé des Tilleuls")
    shoot(page, "care-access-history-phone")
    browser_issues.assert_clean()
