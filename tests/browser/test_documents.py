"""The record as people use it (issue 13, "Done means"): Alice files a lab result for Paula, looks
at page 1, corrects it with a v2, shares it in the care-team thread where Bob opens it, shows it
to Paula; Paula downloads it and finds Alice's and Bob's reads in her access history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cordee.messaging.models import Conversation
from tests.browser.axe import violations
from tests.browser.support import orm, shoot
from tests.browser.test_accessibility import sign_in_as
from tests.documents.conftest import pdf_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]


def _care_thread() -> int:
    return Conversation.objects.get(kind=Conversation.Kind.CARE_TEAM).pk


def _no_axe_violation(page, where: str) -> None:
    found = violations(page)
    assert not found, f"{where}: {found}"


def _other(page, cordee_server, browser_issues):
    context = page.context.browser.new_context(base_url=cordee_server.url, locale="fr-FR")
    context.set_default_timeout(15_000)
    other = context.new_page()
    other.on("console", browser_issues.on_console)
    other.on("pageerror", browser_issues.on_page_error)
    return other


def test_alice_files_corrects_and_shares_a_result_bob_opens_it_paula_sees_the_reads(
    page, cordee_server, browser_issues, alice, bob, paula, tmp_path
):
    patient_id = paula.patient.pk
    thread = orm(_care_thread)
    first, second = pdf_bytes(pages=2, text="Kaliémie 6,1 mmol/L"), pdf_bytes(pages=2, text="Kaliémie 5,1 mmol/L")

    # Alice, from Paula's page, files the result: the upload shows its progress, then the document.
    sign_in_as(page, cordee_server.url, alice)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/patients/{patient_id}/")
    page.get_by_role("link", name="Dossier : documents et chronologie").click()
    expect(page.locator("h1")).to_contain_text("Dossier de BERNARD")
    page.get_by_label("Fichier (PDF, image PNG/JPEG/WebP ou texte brut)").set_input_files(
        {"name": "bilan.pdf", "mimeType": "application/pdf", "buffer": first}
    )
    page.get_by_label("Type").first.select_option("biologie")
    expect(page.get_by_label("Visible par le patient")).not_to_be_checked()  # a result waits for Alice
    page.get_by_label("Titre").fill("Ionogramme du 2 mars")
    page.get_by_label("Date de l’acte").fill("2026-03-02")
    page.get_by_label("Structure d’origine (facultatif)").fill("Laboratoire des Tilleuls")
    page.get_by_role("button", name="Ajouter au dossier").click()
    expect(page.locator("h1")).to_have_text("Ionogramme du 2 mars")
    preview = page.get_by_role("img", name="Page 1 du document")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # once loaded (was racy)
    expect(page.get_by_text("Page 1 sur 2 pages")).to_be_visible()

    # The correction: v2, who and why; v1 stays, replaced.
    page.get_by_text("Corriger : ajouter une nouvelle version").click()
    page.get_by_label("Fichier corrigé").set_input_files(
        {"name": "bilan-corrige.pdf", "mimeType": "application/pdf", "buffer": second}
    )
    page.get_by_label("Pourquoi (affiché avec la version)").fill("Hémolyse : prélèvement refait")
    page.get_by_role("button", name="Ajouter la version").click()
    expect(page.get_by_role("status").first).to_contain_text("La version 2 a été ajoutée.")
    versions = page.locator("table tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("v2")
    expect(versions.first).to_contain_text("Hémolyse : prélèvement refait")
    expect(versions.nth(1)).to_contain_text("remplacée")
    _no_axe_violation(page, "document page")
    shoot(page, "documents-document-1280")
    document_url = page.url

    # Shared in the care-team thread.
    page.get_by_text("Partager dans une conversation").click()
    page.get_by_label("Message (facultatif)").fill("Kaliémie contrôlée, à voir")
    page.get_by_role("button", name="Partager", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/messagerie/{thread}/$"))
    expect(page.locator(".msg-file", has_text="Ionogramme du 2 mars")).to_be_visible()

    # Bob opens it from the thread.
    bob_page = _other(page, cordee_server, browser_issues)
    sign_in_as(bob_page, cordee_server.url, bob)
    bob_page.goto(f"/messagerie/{thread}/")
    link = bob_page.locator(".msg-file", has_text="Ionogramme du 2 mars")
    with bob_page.expect_download() as waiting:
        link.click()
    saved = tmp_path / "bob.pdf"
    waiting.value.save_as(saved)
    assert Path(saved).read_bytes() == second
    bob_page.context.close()

    # Alice shows it to Paula.
    page.goto(document_url)
    page.get_by_role("button", name="Montrer au patient").click()
    expect(page.get_by_text("Le patient voit ce document.")).to_be_visible()
    page.goto(f"/dossier/patient/{patient_id}/")
    _no_axe_violation(page, "record page")
    shoot(page, "documents-record-1280")
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(page, "documents-record-375")
    page.goto(document_url)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(page, "documents-document-375")

    # Paula downloads it and sees who read it.
    paula_page = _other(page, cordee_server, browser_issues)
    paula_page.set_viewport_size({"width": 375, "height": 740})
    sign_in_as(paula_page, cordee_server.url, paula)
    paula_page.goto("/")
    paula_page.locator("details.menu summary").click()
    paula_page.get_by_role("link", name="Mon dossier").click()
    expect(paula_page.locator("h1")).to_have_text("Mon dossier")
    paula_page.get_by_role("link", name="Ionogramme du 2 mars").click()
    with paula_page.expect_download() as waiting:
        paula_page.get_by_role("link", name="Télécharger", exact=True).click()
    saved = tmp_path / "paula.pdf"
    waiting.value.save_as(saved)
    assert Path(saved).read_bytes() == second
    shoot(paula_page, "documents-patient-document-375")
    paula_page.goto("/patients/mon-historique/")
    alice_row = paula_page.locator("tbody tr", has_text="Alice Martin").filter(has_text="document de votre dossier")
    expect(alice_row.first).to_be_visible()
    bob_row = paula_page.locator("tbody tr", has_text="Bob").filter(has_text="fichier")
    expect(bob_row.first).to_be_visible()
    shoot(paula_page, "documents-patient-history-375")
    browser_issues.assert_clean()


def test_without_javascript_alice_files_a_report_with_the_plain_form(page, cordee_server, alice, paula, tmp_path):
    """The upload form posts itself (multipart) when the browser runs no script: the document is in
    the timeline, and a refusal is shown in the form, on the field."""
    patient_id = paula.patient.pk
    context = page.context.browser.new_context(
        base_url=cordee_server.url, locale="fr-FR", java_script_enabled=False, viewport={"width": 375, "height": 800}
    )
    context.set_default_timeout(15_000)
    bare = context.new_page()
    try:
        sign_in_as(bare, cordee_server.url, alice)
        bare.goto(f"/dossier/patient/{patient_id}/")
        expect(bare.get_by_text("JavaScript")).to_have_count(0)  # no warning any more: the form works
        bare.get_by_label("Fichier (PDF, image PNG/JPEG/WebP ou texte brut)").set_input_files(
            {"name": "cr.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(text="Consultation")}
        )
        bare.get_by_label("Type").first.select_option("cr_consultation")
        bare.get_by_label("Titre").fill("Consultation sans script")
        bare.get_by_label("Date de l’acte").fill("2026-03-02")
        bare.get_by_role("button", name="Ajouter au dossier").click()
        expect(bare.get_by_role("status").first).to_contain_text("Le document a été ajouté au dossier.")
        expect(bare.locator(".timeline").get_by_role("link", name="Consultation sans script")).to_be_visible()
        shoot(bare, "documents-upload-without-javascript")

        # A refused file: the form says why, on the file's field, and keeps what was typed.
        bare.get_by_text("Ajouter un document").click()
        bare.get_by_label("Fichier (PDF, image PNG/JPEG/WebP ou texte brut)").set_input_files(
            {"name": "page.html", "mimeType": "text/html", "buffer": b"<html><body>x</body></html>"}
        )
        bare.get_by_label("Titre").fill("Une page web")
        bare.get_by_label("Date de l’acte").fill("2026-03-02")
        bare.get_by_role("button", name="Ajouter au dossier").click()
        expect(bare.get_by_role("alert")).to_contain_text("Ce type de fichier")
        expect(bare.locator("#doc-file")).to_have_attribute("aria-invalid", "true")
        expect(bare.get_by_label("Titre")).to_have_value("Une page web")
        shoot(bare, "documents-upload-without-javascript-refused")
    finally:
        context.close()


def test_the_export_downloads_through_the_real_server(page, cordee_server, paula, tmp_path):
    """The ZIP comes through uvicorn and Cordée's ASGI handler from the async iterator over the
    spooled file: whole, its size announced, the documents inside."""
    import io
    import zipfile

    patient_id = paula.patient.pk
    sign_in_as(page, cordee_server.url, paula)
    page.goto(f"/dossier/patient/{patient_id}/")
    page.get_by_label("Fichier (PDF, image PNG/JPEG/WebP ou texte brut)").set_input_files(
        {"name": "carnet.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(pages=3)}
    )
    page.get_by_label("Type").first.select_option("autre")
    page.get_by_label("Titre").fill("Mon carnet")
    page.get_by_label("Date de l’acte").fill("2026-03-02")
    page.get_by_role("button", name="Ajouter au dossier").click()
    expect(page.locator("h1")).to_have_text("Mon carnet")
    page.goto(f"/dossier/patient/{patient_id}/")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Exporter tout le dossier (ZIP)").click()
    download = caught.value
    assert download.suggested_filename == "dossier.zip"
    path = tmp_path / "dossier.zip"
    download.save_as(path)
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    names = archive.namelist()
    assert names[0] == "index.pdf" and any(name.endswith("Mon_carnet_v1.pdf") for name in names)
    assert archive.testzip() is None
