"""The web shell: security headers, strict CSP, modules in the navigation."""

from __future__ import annotations

import re

from cordee.audit.models import AuditEntry
from cordee.lib import modules


def test_security_headers_on_every_page(client, db):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_sent_over_https(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


def test_no_inline_script_nor_third_party_asset(client_for, alice):
    client = client_for(alice)
    for path in ("/", "/modules/", "/comptes/securite/", "/comptes/structures/"):
        html = client.get(path).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script on {path}: {tag}"
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http://", "https://", "//")), f"third-party asset on {path}: {url}"


def test_navigation_shows_only_chosen_modules(client_for, bob):
    client = client_for(bob)
    client.post("/modules/", {"modules": ["messagerie", "medicaments"]})
    bob.refresh_from_db()
    assert bob.modules == ["messagerie", "medicaments"]
    nav = client.get("/").content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]
    assert "Messagerie" in nav or "Messaging" in nav
    assert "Imagerie" not in nav and "Imaging" not in nav
    entry = AuditEntry.objects.get(action="account.modules_changed")
    assert entry.details["after"] == ["messagerie", "medicaments"]


def test_unknown_module_is_refused(client_for, bob):
    client = client_for(bob)
    before = list(bob.modules)
    response = client.post("/modules/", {"modules": ["messagerie", "hacking"]})
    assert response.status_code == 400
    assert "Unknown module" in response.content.decode() or "Module inconnu" in response.content.decode()
    bob.refresh_from_db()
    assert bob.modules == before


def test_modules_are_those_the_apps_registered():
    everything = ["messagerie", "adressages", "avis", "medicaments", "bibliotheque", "imagerie"]
    assert modules.module_keys() == everything
    assert modules.default_modules("professional") == everything
    assert modules.default_modules("staff") == ["messagerie"]
    assert modules.default_modules("patient") == ["messagerie"]
