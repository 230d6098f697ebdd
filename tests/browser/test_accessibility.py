"""Accessibility, checked in a real browser (issue 22).

- axe-core (WCAG 2.0/2.1, A and AA) on every page of every persona, at 1280 and 375 px: any
  violation fails. Each persona's pages are visited once per width, with one browser; the
  sign-in is a session made on the server (the sign-in pages themselves are checked anonymously,
  with and without an error). The results, page by page, are written to
  ``test-artifacts/axe-report.json``.
- The keyboard: the shell (skip link, focus order, the user menu with Escape and when focus
  leaves it), the conversation page, the focus ring's contrast, the idle-timeout warning and a
  form sent after the session ended that keeps what was typed across the new sign-in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from cordee.accounts.models import Structure
from cordee.messaging.models import Conversation
from tests.browser.axe import violations
from tests.browser.support import orm, sign_in
from tests.conftest import login_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

REPORT = Path(__file__).resolve().parents[2] / "test-artifacts" / "axe-report.json"
WIDTHS = (1280, 375)
WORKFORCE = ("alice", "bob", "charlie", "sam", "ada", "otto")


def _session_cookie(user) -> str:
    client = Client()
    login_as(client, user)
    return client.cookies["cordee_session"].value


def sign_in_as(page, base_url: str, user) -> None:
    page.context.add_cookies([{"name": "cordee_session", "value": orm(_session_cookie, user), "url": base_url}])


def _pages(who: str, users) -> list[str]:
    """Every page the persona reaches, by URL."""

    def ids():
        structure = Structure.objects.get().pk
        patient = users["paula"].patient.pk
        threads = [c.pk for c in Conversation.objects.filter(members__user=users[who]).order_by("pk")]
        return structure, patient, threads

    structure, patient, threads = orm(ids)
    pages = ["/", "/modules/", "/notifications/", "/comptes/securite/", "/messagerie/", "/accounts/2fa/"]
    pages += ["/recherche/", "/recherche/?q=BERNARD+14%2F07%2F1985", "/accessibilite/", "/nulle-part/"]
    pages += [f"/messagerie/{pk}/" for pk in threads]
    if who in WORKFORCE:
        pages += ["/comptes/structures/", f"/comptes/structures/{structure}/", "/messagerie/nouvelle/"]
        pages += ["/medicaments/", "/medicaments/?q=doliprane"]
    if who in ("alice", "bob", "sam", "charlie"):
        pages += ["/patients/"]
    if who in ("alice", "bob", "sam"):
        pages += [f"/patients/{patient}/"]
    if who in ("alice", "bob"):
        pages += [f"/patients/{patient}/historique/"]
        pages += [f"/dossier/patient/{patient}/", f"/dossier/patient/{patient}/recherche/?q=bilan"]
    if who in ("alice", "charlie"):
        pages += ["/patients/acces-urgence/"]
    if who == "ada":
        pages += [f"/comptes/structures/{structure}/annuaire/"]
    if who == "otto":
        pages += ["/securite/alertes/"]
    if who == "paula":
        pages += ["/patients/mon-historique/", f"/patients/{patient}/"]
        pages += [f"/dossier/patient/{patient}/", f"/dossier/patient/{patient}/recherche/?du=2000-01-01"]
    return pages


def _check(page, paths: list[str], label: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 740})
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("load")
            key = f"{label} {width}px {path}"
            found[key] = violations(page)
            if width == 375:
                assert page.evaluate("document.scrollingElement.scrollWidth") <= 375, f"{key}: horizontal scroll"
    return found


def _report(found: dict[str, list]) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    known = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    known.update(found)
    REPORT.write_text(json.dumps(known, indent=1, ensure_ascii=False, sort_keys=True))
    failing = {page: v for page, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("who", [*WORKFORCE, "paula"])
def test_axe_finds_no_wcag_a_or_aa_violation_on_any_page_of_a_persona(
    page, cordee_server, personas, who, browser_issues
):
    sign_in_as(page, cordee_server.url, personas[who])
    _report(_check(page, _pages(who, personas), who))


def test_axe_on_the_sign_in_pages_with_and_without_an_error(page, alice):
    found = _check(page, ["/accounts/login/", "/accessibilite/"], "anonymous")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        sign_in(page, alice.email, "not-her-password")
        expect(page.locator("[role=alert]")).to_be_visible()
        found[f"anonymous {width}px /accounts/login/ (wrong password)"] = violations(page)
        sign_in(page, alice.email)
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        found[f"anonymous {width}px /accounts/2fa/authenticate/"] = violations(page)
        page.context.clear_cookies()
    _report(found)
