"""The global search, the error pages, the favicon and recovery codes at a first second factor (issue 11)."""

from __future__ import annotations

from html import unescape

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import path

from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.web.devices import device_name

SEARCH = "/recherche/"


def _search(client, text: str) -> str:
    return unescape(client.get(SEARCH, {"q": text}).content.decode())


def test_a_doctor_finds_her_patient_by_birth_name_and_date_and_it_is_an_audited_read(client_for, alice, paula):
    html = _search(client_for(alice), "bernard 14/07/1985")
    assert "BERNARD Paula Marie" in html and f"/patients/{paula.patient.pk}/" in html
    entry = AuditEntry.objects.filter(action=purposes.READ, purpose=purposes.PATIENT_SEARCH).get()
    assert (entry.actor_id, entry.patient_id, entry.category) == (alice.pk, paula.patient.pk, "access")
    assert "BERNARD" in _search(client_for(alice), "1985-07-14 Bernard")  # the date first, ISO


def test_a_doctor_outside_the_team_finds_nothing_and_nothing_says_the_patient_exists(client_for, charlie):
    html = _search(client_for(charlie), "BERNARD 14/07/1985")
    assert "BERNARD Paula" not in html
    assert not AuditEntry.objects.filter(patient_id__isnull=False).exists()  # no read, no refusal about her


def test_an_emergency_grant_opens_the_search_and_says_so(client_for, charlie, paula):
    from cordee.care.services import check_break_glass

    check_break_glass(charlie, str(paula.patient.pk), "Patiente inconsciente, recherche d'allergies")
    assert "BERNARD Paula" in _search(client_for(charlie), "BERNARD 14/07/1985")
    entry = AuditEntry.objects.get(action=purposes.READ, actor_id=charlie.pk)
    assert entry.purpose == purposes.under_break_glass(purposes.PATIENT_SEARCH)


@pytest.mark.parametrize("who", ["ada", "paula"])
def test_who_opens_no_patient_data_gets_no_patient_section(client_for, personas, who):
    html = _search(client_for(personas[who]), "BERNARD 14/07/1985")
    assert 'id="results-patients"' not in html and "BERNARD Paula" not in html


def test_conversations_are_found_by_their_name_or_a_person(client_for, alice, paula):
    html = _search(client_for(alice), "bob")
    assert 'id="results-conversations"' in html and "Bob Durand" in html
    assert "Alice Martin" in _search(client_for(paula), "alice")  # her thread with Dr Martin
    assert "Bob Durand" not in _search(client_for(paula), "bob")  # not a conversation of hers


def test_the_drug_section_points_to_the_drug_search(client_for, alice):
    html = _search(client_for(alice), "doliprane")
    assert 'id="results-medicaments"' in html and "/medicaments/?q=doliprane" in html


def test_an_empty_search_lists_what_can_be_searched(client_for, alice):
    html = _search(client_for(alice), "")
    assert "nom de naissance et date de naissance" in html


# --- error pages -------------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom)]
handler500 = "cordee.web.errors.server_error"


@pytest.mark.usefixtures("production_errors")
def test_not_found_is_in_french_inside_the_shell(client_for, alice):
    response = client_for(alice).get("/nulle-part/")
    html = unescape(response.content.decode())
    assert response.status_code == 404
    assert "Page introuvable" in html and '<nav id="nav"' in html and "Not Found" not in html


@pytest.mark.usefixtures("production_errors")
def test_not_found_in_english_after_switching(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/nulle-part/").content.decode()
    assert "Page not found" in html and '<html lang="en">' in html


@pytest.mark.usefixtures("production_errors")
def test_a_server_error_is_a_page_of_the_shell_in_french(settings, alice):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = unescape(response.content.decode())
    assert "Erreur du serveur" in html and "boom" not in html and "Traceback" not in html


@pytest.fixture
def production_errors(settings):
    settings.DEBUG = False


def test_the_favicon_is_served(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome 126 on Windows 10",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Safari/605.1.15",
            "Safari 17 on macOS",
        ),
        ("", "Unknown device"),
        ("???", "Unknown device"),
    ],
)
def test_device_names(user_agent, name):
    from django.utils import translation

    with translation.override("en"):
        assert device_name(user_agent) == name


# --- recovery codes at the first second factor ------------------------------------------------


def test_recovery_codes_are_offered_when_the_first_factor_is_set_up(client, db):
    from tests.browser.test_shell import _professional_without_second_factor

    nina = _professional_without_second_factor()
    client.post("/accounts/login/", {"login": nina.email, "password": "cordee-demo-2026"})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    import time

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/recovery-codes/"
    html = client.get(response["Location"]).content.decode()
    codes = Authenticator.objects.get(user=nina, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    assert len(codes) == 10 and all(code in html for code in codes)
    assert "codes de récupération" in html.lower()
