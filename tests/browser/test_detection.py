"""An intrusion detected and handled as an officer does it (issue 17): a password-spraying attack
is replayed against 50 accounts from one address; the worker's detection raises the alert; Otto
opens it, sees its evidence, and opens an incident from it (the declaration prefilled)."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _spraying_then_detection(personas) -> None:
    from cordee.accounts.services.lockout import do_record_failure
    from cordee.security.services import do_detect

    attacker = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="python-requests/2.32.3")
    targets = [f"user{i}@exemple.fr" for i in range(48)] + [personas["alice"].email, personas["bob"].email]
    for email in targets:
        do_record_failure(email, "203.0.113.7", attacker)
    do_detect()


def test_otto_opens_the_spraying_alert_and_declares_an_incident_from_it(page, browser_issues, personas, otto):
    orm(_spraying_then_detection, personas)
    sign_in(page, otto.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/securite/alertes/")
    page.get_by_role("link", name="Pulvérisation de mots de passe (une adresse, de nombreux comptes)").click()
    expect(page.locator("h1")).to_contain_text("Pulvérisation de mots de passe")
    expect(page.get_by_text("Gravité : élevée")).to_be_visible()
    expect(page.locator("table tbody tr")).to_have_count(50)
    expect(page.locator("table tbody tr").first).to_contain_text("login.failed")
    shoot(page, "detection-alert")
    page.get_by_role("link", name="Ouvrir un incident").click()
    expect(page.get_by_label("Titre court")).to_have_value(re.compile(r"^Alerte \d+ : Pulvérisation"))
    page.get_by_label("Point de contact").fill("Otto Weber, DPO, dpo@example.org")
    page.get_by_role("button", name="Enregistrer l'incident").click()
    expect(page.locator("h1")).to_contain_text("Pulvérisation de mots de passe")
    page.go_back()
    page.goto("/securite/alertes/")
    page.get_by_role("link", name="Pulvérisation de mots de passe (une adresse, de nombreux comptes)").click()
    expect(page.get_by_role("link", name=re.compile(r"^Incident \d+$"))).to_be_visible()
    expect(page.get_by_text("prise en compte", exact=True)).to_be_visible()
