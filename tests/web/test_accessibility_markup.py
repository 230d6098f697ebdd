"""Accessibility rules that the markup itself must keep (issue 22), checked without a browser."""

from __future__ import annotations

import re
from pathlib import Path

CORDEE = Path(__file__).resolve().parents[2] / "cordee"


def test_every_data_table_has_a_caption_or_a_label():
    for template in CORDEE.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for table in re.finditer(r"<table\b[^>]*>(\s*<caption)?", text):
            assert "aria-labelledby" in table[0] or "aria-label=" in table[0] or table[1], f"{template}: {table[0]}"


def test_the_language_is_applied_with_a_button_never_on_change(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert "data-autosubmit" not in html
    form = html.split('class="lang"', 1)[1].split("</form>", 1)[0]
    assert '<button type="submit"' in form and "Appliquer" in form


def test_the_focus_ring_has_a_dark_inner_ring():
    css = (CORDEE / "web" / "static" / "web" / "cordee.css").read_text(encoding="utf-8")
    rule = re.search(r":focus-visible \{([^}]*)\}", css)[1]
    assert "outline: 3px solid var(--focus)" in rule and "box-shadow: 0 0 0 2px var(--ink)" in rule


def test_the_accessibility_statement_is_in_french_in_the_rgaa_form(client, db):
    response = client.get("/accessibilite/")
    html = response.content.decode()
    assert response.status_code == 200
    for part in (
        "Déclaration d'accessibilité",
        "État de conformité",
        "partiellement conforme",
        "Contenus non accessibles",
        "Établissement de cette déclaration",
        "Retour d'information et contact",
        "Voies de recours",
        "Défenseur des droits",
    ):
        assert part in html.replace("&#x27;", "'"), part
    assert 'href="/accessibilite/"' in client.get("/accounts/login/").content.decode()  # linked from every page


def test_the_conversation_history_is_not_a_live_region(client_for, alice):
    from cordee.messaging.models import Conversation

    thread = Conversation.objects.get(kind=Conversation.Kind.DIRECT)
    html = client_for(alice).get(f"/messagerie/{thread.pk}/").content.decode()
    messages = re.search(r'<ol class="chat-messages"[^>]*>', html)[0]
    assert "aria-live" not in messages and 'data-chat-announce role="status"' in html


def test_the_drug_results_are_not_a_live_region_only_their_count_is_said(client_for, alice):
    html = client_for(alice).get("/medicaments/?q=doliprane").content.decode()
    results = re.search(r'<div id="drug-results"[^>]*>', html)[0]
    assert "aria-live" not in results
