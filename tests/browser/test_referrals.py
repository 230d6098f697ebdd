"""Referrals and tele-expertise as people use them (issue 15, "Done means"), two browsers at once:
Alice refers Paula to Charlie with a document; Charlie accepts, proposes a date, returns a report;
Alice reads it. Alice asks Charlie's opinion with Paula's consent recorded; Charlie asks a
question, Alice answers, Charlie answers the request. Paula sees both in her space."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import violations
from tests.browser.support import orm, shoot
from tests.browser.test_accessibility import sign_in_as
from tests.documents.conftest import pdf_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _ecg(alice, patient_id: int) -> int:
    from cordee.documents import services

    data = pdf_bytes(text="ECG de repos")
    return services.do_upload(
        alice,
        patient_id,
        services.Upload(io.BytesIO(data), len(data), "ecg.pdf"),
        doc_type="courrier",
        title="ECG du 2 mars",
        act_date="2026-03-02",
    ).pk


def _other(page, cordee_server, browser_issues):
    context = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    context.set_default_timeout(15_000)
    other = context.new_page()
    other.on("console", browser_issues.on_console)
    other.on("pageerror", browser_issues.on_page_error)
    return other


def _pick_in_directory(page, search: str, name: str) -> None:
    # Typed at once, htmx maybe not ready yet: the page searches it when htmx is (web/shell/typed.js;
    # a CI run on a loaded machine once filled the box first and waited in vain)
    page.get_by_label(re.compile("cherchez dans l'annuaire|Chercher dans l'annuaire")).fill(search)
    choice = page.get_by_role("radio", name=re.compile(name))
    expect(choice).to_be_visible()
    choice.check()


def test_referral_and_tele_expertise_between_alice_and_charlie(
    page, cordee_server, browser_issues, alice, charlie, paula
):
    patient_id = paula.patient.pk
    orm(_ecg, alice, patient_id)

    # Alice refers Paula to Charlie, with the ECG.
    sign_in_as(page, cordee_server.url, alice)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/patients/{patient_id}/")
    page.get_by_role("link", name="Adresser ce patient").click()
    expect(page.locator("h1")).to_have_text("Adresser un patient")
    _pick_in_directory(page, "Petit", "Charlie Petit")
    page.get_by_label("Urgence").select_option("week")
    page.get_by_label("Motif de l'adressage").fill("Palpitations à l'effort depuis un mois")
    page.get_by_label("Résumé clinique").fill("Femme de 54 ans, HTA traitée, ECG de repos normal.")
    page.get_by_label("Traitements en cours").fill("Amlodipine 5 mg")
    page.get_by_label("Questions précises").fill("Holter ? Épreuve d'effort ?")
    page.get_by_label("ECG du 2 mars").check()
    shoot(page, "referrals-new-1280")
    page.get_by_role("button", name="Envoyer l'adressage").click()
    expect(page.locator("h1")).to_contain_text("Adressage n°")
    expect(page.locator("[data-state]").first).to_have_text("Envoyé")
    referral_url = page.url
    assert not violations(page), violations(page)

    # Charlie finds it in his received referrals, reads it with the ECG, accepts, proposes a date.
    charlie_page = _other(page, cordee_server, browser_issues)
    sign_in_as(charlie_page, cordee_server.url, charlie)
    charlie_page.goto("/adressages/")
    shoot(charlie_page, "referrals-received-1280")
    charlie_page.get_by_role("link", name=re.compile("Adressage n°")).first.click()
    expect(charlie_page.get_by_text("Palpitations à l'effort depuis un mois")).to_be_visible()
    expect(charlie_page.get_by_role("link", name="ECG du 2 mars")).to_be_visible()
    charlie_page.get_by_role("button", name="Accepter l'adressage").click()
    expect(charlie_page.locator("[data-state]").first).to_have_text("Accepté")
    charlie_page.get_by_label("Date et heure du rendez-vous").fill("2026-12-20T10:30")
    charlie_page.get_by_label("Lieu").fill("Cabinet de cardiologie, 3 rue des Lilas")
    charlie_page.get_by_role("button", name="Proposer le rendez-vous").click()
    expect(charlie_page.locator("[data-state]").first).to_have_text("Rendez-vous proposé")
    charlie_page.get_by_label("Compte rendu", exact=True).fill("Holter des 24 h normal. Pas de traitement à ajouter.")
    charlie_page.get_by_role("button", name="Retourner le compte rendu").click()
    expect(charlie_page.locator("[data-state]").first).to_have_text("Compte rendu retourné")
    shoot(charlie_page, "referrals-detail-receiver-1280")

    # Alice reads the report.
    page.goto(referral_url)
    expect(page.locator("[data-report]")).to_have_text("Holter des 24 h normal. Pas de traitement à ajouter.")
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(page, "referrals-detail-requester-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Alice asks Charlie's opinion, Paula's consent recorded.
    page.goto(f"/patients/{patient_id}/")
    page.get_by_role("link", name="Demander un avis d'expert").click()
    _pick_in_directory(page, "Petit", "Charlie Petit")
    page.get_by_label("Votre question").fill(
        "Extrasystoles ventriculaires isolées au Holter : faut-il un bêtabloquant ?"
    )
    page.get_by_label("Comment il a été recueilli").select_option("oral")
    page.get_by_label("Date du consentement").fill("2026-12-01")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.locator("h1")).to_contain_text("Demande d'avis n°")
    expertise_url = page.url

    # Charlie accepts and asks a question; Alice replies; Charlie answers.
    charlie_page.goto("/avis/")
    charlie_page.get_by_role("link", name=re.compile("Demande n°")).first.click()
    charlie_page.get_by_role("button", name="Accepter la demande").click()
    charlie_page.get_by_label("Poser une question au demandeur (le délai est suspendu)").fill(
        "Combien d'ESV par 24 h ?"
    )
    charlie_page.get_by_role("button", name="Poser la question").click()
    expect(charlie_page.get_by_text("délai suspendu")).to_be_visible()
    page.goto(expertise_url)
    expect(page.get_by_text("Combien d'ESV par 24 h ?")).to_be_visible()
    page.get_by_label("Votre réponse à l'expert").fill("Environ 800 par 24 h, asymptomatiques.")
    page.get_by_role("button", name="Répondre").click()
    charlie_page.reload()
    expect(charlie_page.get_by_text("Environ 800 par 24 h, asymptomatiques.")).to_be_visible()
    charlie_page.get_by_label("Réponse", exact=True).fill("Pas de bêtabloquant. Contrôle dans un an.")
    charlie_page.get_by_label("Conduite à tenir proposée").fill("Holter de contrôle à 12 mois")
    charlie_page.get_by_role("button", name="Envoyer la réponse").click()
    expect(charlie_page.locator("[data-state]").first).to_have_text("Répondu")
    shoot(charlie_page, "expertise-detail-expert-1280")
    page.goto(expertise_url)
    expect(page.locator("[data-answer]")).to_have_text("Pas de bêtabloquant. Contrôle dans un an.")
    assert not violations(page), violations(page)
    shoot(page, "expertise-detail-requester-1280")
    charlie_page.context.close()

    # Paula sees both in her space: state, who, when; not the discussion.
    paula_page = _other(page, cordee_server, browser_issues)
    paula_page.set_viewport_size({"width": 375, "height": 740})
    sign_in_as(paula_page, cordee_server.url, paula)
    paula_page.goto("/avis/mes-demandes/")
    expect(paula_page.get_by_text("Compte rendu retourné")).to_be_visible()
    expect(paula_page.get_by_text("Répondu")).to_be_visible()
    assert paula_page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(paula_page, "referrals-patient-space-375")
    paula_page.get_by_role("link", name=re.compile("Demande d'avis n°")).click()
    expect(paula_page.get_by_text("Combien d'ESV")).to_have_count(0)
    expect(paula_page.get_by_text("Pas de bêtabloquant")).to_have_count(0)
    shoot(paula_page, "expertise-patient-375")
    browser_issues.assert_clean()
