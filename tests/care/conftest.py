"""Helpers of the care tests: Paula's record, audit look-ups, the answer given for a missing patient.

The demo (``tests/conftest.py`` personas) puts Alice (who added herself), Bob, and Sam acting for
Alice in Paula's care team; Charlie is outside it.
"""

from __future__ import annotations

import pytest

from cordee.accounts.models import Patient
from cordee.audit.models import AuditEntry
from tests.conftest import without_csrf

MISSING_ID = 987654321


@pytest.fixture
def patient(paula) -> Patient:
    return paula.patient


@pytest.fixture
def production_errors(settings):
    """Error pages as in production (DEBUG off): Django's own 404, with no path or traceback."""
    settings.DEBUG = False


def entries(action: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


def last_entry(action: str, **filters) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action, **filters).order_by("-seq").first()
    assert entry is not None, f"no audit entry {action} {filters}"
    return entry


def same_as_missing(client, url_of, patient_id: int, method: str = "get", data=None) -> None:
    """``url_of(patient_id)`` answers exactly as ``url_of(MISSING_ID)``: status and body."""
    send = getattr(client, method)
    forbidden = send(url_of(patient_id), data or {})
    missing = send(url_of(MISSING_ID), data or {})
    assert forbidden.status_code == missing.status_code == 404
    assert without_csrf(forbidden.content) == without_csrf(missing.content)


@pytest.fixture
def english():
    """Service messages in English (French is the default language), for ``match=``."""
    from django.utils import translation

    with translation.override("en"):
        yield
