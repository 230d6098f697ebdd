"""Cordée speaks French first and English on request; its French catalogue is complete and compiled.

The catalogues are made with (GNU gettext needed):

    DEBUG=1 .venv/bin/python manage.py makemessages -l fr -l en --ignore=.venv --ignore=node_modules --ignore=tests
    DEBUG=1 .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "cordee" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{\w*\}")


def test_french_by_default(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="fr">' in html
    assert "Aller au contenu" in html
    assert "Skip to content" not in html


def test_english_after_switching(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html
    assert "Aller au contenu" not in html


def test_the_browser_language_is_honoured(client, db):
    html = client.get("/accounts/login/", headers={"accept-language": "en-GB,en;q=0.8"}).content.decode()
    assert '<html lang="en">' in html


def _live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def test_every_french_message_is_translated():
    po = polib.pofile(str(LOCALE / "fr" / "LC_MESSAGES" / "django.po"))
    entries = _live_entries(po)
    assert len(entries) > 100
    untranslated = [entry.msgid for entry in entries if not entry.translated()]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    assert not untranslated, f"{len(untranslated)} French messages without translation: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy French translations: {fuzzy[:10]}"


def test_french_translations_keep_their_placeholders():
    po = polib.pofile(str(LOCALE / "fr" / "LC_MESSAGES" / "django.po"))
    for entry in _live_entries(po):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            assert sorted(PLACEHOLDER.findall(translation)) == wanted, entry.msgid


def _catalogue(entries) -> dict[tuple[str | None, str], tuple[str, ...]]:
    """What a catalogue says, entry by entry, leaving out what gettext would not use."""
    result = {}
    for entry in entries:
        if not entry.msgid or getattr(entry, "obsolete", False) or "fuzzy" in entry.flags:
            continue
        translations = tuple(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)) or (entry.msgstr,)
        if all(translations):
            result[(entry.msgctxt, entry.msgid)] = translations
    return result


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    po = _catalogue(polib.pofile(str(folder / "django.po")))
    mo = _catalogue(polib.mofile(str(folder / "django.mo")))
    assert mo == po, "django.mo is stale: run compilemessages"
