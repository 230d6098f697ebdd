"""A breach handled as people do it (issue 17): Otto declares that Bob's account was used by an
attacker, Cordée scopes it from the audit trail, Otto approves the drafts; Paula reads her notice."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cordee.audit import services as audit
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in, sign_out

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _attacker_reads_paulas_record(bob, paula) -> None:
    patient = paula.patient
    at = timezone.now() - dt.timedelta(minutes=10)
    audit.record("patient.read", actor=bob, target=patient, patient_id=patient.pk, purpose="patient.view", at=at)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_otto_declares_scopes_and_approves_then_paula_reads_her_notice(page, browser_issues, otto, bob, paula):
    orm(_attacker_reads_paulas_record, bob, paula)
    sign_in(page, otto.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/securite/incidents/")
    page.get_by_role("link", name="Déclarer un incident").click()
    page.get_by_label("Titre court").fill("Compte de Bob utilisé par un tiers")
    page.get_by_label("Point de contact").fill("Otto Weber, DPO, dpo@example.org")
    page.get_by_role("button", name="Enregistrer l'incident").click()
    expect(page.locator("h1")).to_contain_text("Compte de Bob utilisé par un tiers")
    expect(page.locator(".incident-clock")).to_contain_text("restantes pour notifier la CNIL")

    now = timezone.now()
    scoping = page.locator("form", has=page.get_by_role("button", name="Calculer le périmètre"))
    scoping.get_by_label("Bob Durand").check()  # the containment form below names him too
    scoping.locator("input[name=start]").fill(_local(now - dt.timedelta(hours=1)))
    scoping.locator("input[name=end]").fill(_local(now + dt.timedelta(minutes=5)))
    scoping.get_by_role("button", name="Calculer le périmètre").click()
    expect(page.get_by_text("1 patient concerné, 1 enregistrements.")).to_be_visible()
    expect(page.get_by_text("journal d'audit vérifié")).to_be_visible()

    page.get_by_label("Information des patients (art. 34)").select_option("notify")
    page.get_by_label("Motivation de la décision d'information des patients").fill("Dossier consulté : risque élevé.")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_role("button", name="Approuver les projets").click()
    expect(page.get_by_text("Projets approuvés : les informations aux patients sont envoyées.")).to_be_visible()
    page.set_viewport_size({"width": 375, "height": 800})
    shoot(page, "breach-incident-phone")
    page.goto("/securite/incidents/")
    shoot(page, "breach-register-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_out(page)

    sign_in(page, paula.email)
    expect(page).to_have_url(re.compile(r"/$"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Lire l'information").click()
    expect(page.locator("h1")).to_have_text("Information sur vos données personnelles")
    expect(page.get_by_text("Ce qui s'est passé")).to_be_visible()
    expect(page.get_by_text("dpo@example.org")).to_be_visible()
    shoot(page, "breach-notice-paula-phone")
    browser_issues.assert_clean()


def _key_ids() -> list[str]:
    from cordee.audit import keyring

    return [key.key_id for key in keyring.load().keys]


def _rotated_by() -> int | None:
    from cordee.audit.models import AuditEntry

    return AuditEntry.objects.get(action="audit.signing_key_rotated").actor_id


def test_otto_rotates_the_audit_signing_key_from_the_incident(page, browser_issues, otto, settings, tmp_path):
    from cordee.audit import signing

    settings.AUDIT_SIGNING_KEY_PATH = tmp_path / "keys" / "audit-ed25519.pem"  # the rotation replaces it
    signing.create_key(settings.AUDIT_SIGNING_KEY_PATH)
    before = orm(_key_ids)
    sign_in(page, otto.email)
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/securite/incidents/nouveau/")
    page.get_by_label("Titre court").fill("Fichier de clé copié")
    page.get_by_label("Point de contact").fill("Otto Weber, DPO, dpo@example.org")
    page.get_by_role("button", name="Enregistrer l'incident").click()
    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("button", name="Renouveler la clé de signature du journal d'audit").click()
    expect(page.get_by_text("La clé de signature du journal d'audit a été renouvelée")).to_be_visible()
    after = orm(_key_ids)
    assert len(before) == 1 and after[0] == before[0] and len(after) == 2
    assert orm(_rotated_by) == otto.pk
    shoot(page, "breach-audit-key-rotated-phone")
    browser_issues.assert_clean()
