"""The home page says what waits for the user in every module that counts something, not only in
those with a card of their own (issue: "a UI that says nothing about what waits")."""

from __future__ import annotations

import re

from django.utils import translation

from cordee.expertise.demo import seed_requests


def _cards(html: str) -> list[str]:
    return re.findall(r'<section class="card home-card"[^>]*>(.*?)</section>', html, re.S)


def test_a_referral_and_a_request_waiting_are_cards_of_the_home_page(client_for, personas, charlie):
    seed_requests(personas)  # a referral and a tele-expertise request from Alice to Charlie
    with translation.override("fr"):
        html = client_for(charlie).get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    cards = _cards(html)
    referral = [c for c in cards if 'href="/adressages/"' in c]
    request = [c for c in cards if 'href="/avis/"' in c]
    assert len(referral) == 1 and "1 adressage attend votre réponse" in referral[0], cards
    assert len(request) == 1 and "Ouvrir « Avis d&#x27;experts »" in request[0], cards


def test_no_card_when_nothing_waits(client_for, personas, alice):
    seed_requests(personas)  # Alice sent them: nothing waits for her there
    html = client_for(alice).get("/").content.decode()
    assert not [c for c in _cards(html) if 'href="/adressages/"' in c or 'href="/avis/"' in c]
