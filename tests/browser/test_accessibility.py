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


def _breach(users) -> int:
    """An incident of the register, scoped (Bob's account read Paula's record) and approved: the
    officer's incident page with its drafts, and Paula's notice in her space."""
    import datetime as dt

    from django.utils import timezone

    from cordee.audit import services as audit
    from cordee.security.models import Incident
    from cordee.security.services.incidents import do_declare_incident, do_update_incident
    from cordee.security.services.notices import do_approve_drafts
    from cordee.security.services.scoping import do_scope_incident

    found = Incident.objects.order_by("pk").first()
    if found is not None:
        return found.pk
    otto, bob, patient = users["otto"], users["bob"], users["paula"].patient
    now = timezone.now()
    audit.record("patient.read", actor=bob, target=patient, patient_id=patient.pk, purpose="patient.view", at=now)
    facts = {"title": "Compte de Bob utilisé par un tiers", "aware_at": now, "contact": "dpo@example.org"}
    incident = do_declare_incident(Structure.objects.get(), facts, by=otto)
    window = (now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1))
    incident = do_scope_incident(incident, [bob], *window, by=otto)
    decision = {"patients_decision": "notify", "patients_reasoning": "Dossier consulté : risque élevé."}
    do_approve_drafts(do_update_incident(incident, decision, by=otto), by=otto)
    return incident.pk


def _detection_alert(users) -> int:
    """A detection alert with its evidence (Bob opening 45 patients in a minute), once."""
    import datetime as dt

    from django.test import RequestFactory
    from django.utils import timezone

    from cordee.audit import services as audit
    from cordee.security.models import Alert
    from cordee.security.services import do_detect

    found = Alert.objects.exclude(kind=Alert.Kind.BREAK_GLASS).order_by("pk").first()
    if found is not None:
        return found.pk
    bob, now = users["bob"], timezone.now()
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)")
    for i in range(45):
        at = now - dt.timedelta(minutes=10) + dt.timedelta(seconds=i)
        audit.record("patient.read", actor=bob, request=request, patient_id=70000 + i, at=at)
    do_detect()
    return Alert.objects.exclude(kind=Alert.Kind.BREAK_GLASS).order_by("pk").values_list("pk", flat=True).first()


def _pages(who: str, users) -> list[str]:
    """Every page the persona reaches, by URL."""

    def ids():
        # why here: the ORM is reached through orm() only; the demo's CT of Paula, seeded once
        from cordee.imaging.demo import seed_imaging
        from cordee.imaging.models import Study

        seed_imaging(users)

        structure = Structure.objects.get().pk
        patient = users["paula"].patient.pk
        threads = [c.pk for c in Conversation.objects.filter(members__user=users[who]).order_by("pk")]
        study = Study.objects.filter(patient_id=patient).values_list("pk", flat=True).first()
        return structure, patient, threads, study

    structure, patient, threads, study = orm(ids)
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
        pages += [f"/imagerie/patient/{patient}/", f"/imagerie/etude/{study}/", "/imagerie/a-rapprocher/"]
        pages += [f"/dossier/patient/{patient}/", f"/dossier/patient/{patient}/recherche/?q=bilan"]
    if who in ("alice", "charlie"):
        pages += ["/patients/acces-urgence/"]
    if who == "ada":
        pages += [f"/comptes/structures/{structure}/annuaire/"]
    if who == "otto":
        incident = orm(_breach, users)
        pages += ["/securite/alertes/", "/securite/incidents/", "/securite/incidents/nouveau/"]
        pages += [f"/securite/incidents/{incident}/"]
        alert = orm(_detection_alert, users)
        pages += [f"/securite/alertes/{alert}/", f"/securite/incidents/nouveau/?alerte={alert}"]
    if who == "paula":
        orm(_breach, users)
        pages += ["/patients/mon-historique/", f"/patients/{patient}/", "/securite/mes-avis/"]
        pages += ["/imagerie/", f"/imagerie/etude/{study}/"]
        pages += [f"/dossier/patient/{patient}/", f"/dossier/patient/{patient}/recherche/?du=2000-01-01"]
    return pages


def _check(page, paths: list[str], label: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 740})
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("load")
            if path.startswith("/imagerie/etude/"):  # the viewer draws its image after the load
                page.wait_for_selector("#viewer-canvas[data-ready='1']")
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
