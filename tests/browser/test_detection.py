"""An intrusion detected and handled as an officer does it (issue 17): a password-spraying attack
is replayed against 50 accounts from one address; the worker's detection raises the alert; Otto
opens it, sees its evidence, and opens an incident from it (the declaration prefilled). The
spraying found Bob's password: the attacker read Paula's record through his account. Otto scopes
the incident (Bob's account, the last hour), contains it, reviews the drafts (CNIL, ARS / CERT
Santé, the letters) and approves them; Paula reads her notice in her space and in her messages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import RequestFactory
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in, sign_out

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
    from cordee.audit import services as audit

    bob, patient = personas["bob"], personas["paula"].patient
    at = timezone.now() - dt.timedelta(minutes=10)
    audit.record("patient.read", actor=bob, target=patient, patient_id=patient.pk, purpose="patient.view", at=at)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_otto_handles_the_spraying_from_alert_to_approved_notices(page, browser_issues, personas, otto, paula):
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

    # The incident: scoped from the audit trail, contained, drafts reviewed and approved.
    page.get_by_role("link", name=re.compile(r"^Incident \d+$")).click()
    scoping = page.locator("form", has=page.get_by_role("button", name="Calculer le périmètre"))
    scoping.get_by_label("Bob Durand").check()
    now = timezone.now()
    scoping.locator("input[name=start]").fill(_local(now - dt.timedelta(hours=1)))
    scoping.locator("input[name=end]").fill(_local(now + dt.timedelta(minutes=5)))
    scoping.get_by_role("button", name="Calculer le périmètre").click()
    expect(page.get_by_text("1 patient concerné, 1 enregistrements.")).to_be_visible()
    containment = page.locator("form", has=page.get_by_role("button", name="Appliquer à ces comptes"))
    expect(containment.get_by_label("Bob Durand")).to_be_checked()  # the scope's accounts, preselected
    containment.get_by_label("Terminer leurs sessions").check()
    containment.get_by_label("Imposer un nouveau mot de passe").check()
    containment.get_by_role("button", name="Appliquer à ces comptes").click()
    expect(page.get_by_text("Confinement effectué : 1 compte(s)")).to_be_visible()
    page.get_by_label("Information des patients (art. 34)").select_option("notify")
    page.get_by_label("Motivation de la décision d'information des patients").fill("Dossier consulté : risque élevé.")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Les champs du formulaire national de signalement").click()
    expect(page.locator("#ars-fields")).to_contain_text("Pulvérisation de mots de passe")  # the cause, from the alert
    expect(page.locator("#ars-fields")).to_contain_text("Maîtrisé le")
    shoot(page, "detection-incident-drafts")
    page.get_by_role("button", name="Approuver les projets").click()
    expect(page.get_by_text("Projets approuvés : les informations aux patients sont envoyées.")).to_be_visible()
    page.set_viewport_size({"width": 375, "height": 800})
    shoot(page, "detection-incident-approved-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_out(page)

    sign_in(page, paula.email)
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_role("link", name="Lire l'information").click()
    expect(page.locator("h1")).to_have_text("Information sur vos données personnelles")
    page.goto("/messagerie/")
    page.get_by_role("link", name=re.compile("Otto Weber")).first.click()
    expect(page.get_by_text("Ce qui s'est passé").first).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "detection-notice-message-paula-phone")
    browser_issues.assert_clean()
