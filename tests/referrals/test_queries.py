"""The list pages keep a fixed number of queries, however many requests there are (no per-row
query: counterparts are display copies, and the patients' names are decrypted with their data keys
read in one query for the page)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cordee.expertise.models import Expertise
from tests.referrals.conftest import client_as, many_referrals

pytestmark = pytest.mark.django_db

# Whole request, middleware included (session, user, MFA, the modules' waiting counts), pinned.
# The navigation's counts of what waits are part of every page (one query per module).
PINNED = {"/adressages/": 12, "/adressages/envoyes/": 12, "/adressages/envoyes/?retard=1&urgence=week&etat=sent": 12}


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url", ["/adressages/", "/adressages/envoyes/", "/adressages/envoyes/?retard=1&urgence=week&etat=sent"]
)
def test_referral_lists_have_a_fixed_query_count(alice, charlie, patient, url):
    client = client_as(alice if "envoyes" in url else charlie)
    many_referrals(3, alice, charlie, patient)
    client.get(url)  # the session's first request does its own one-off queries
    few = _count(client, url)
    many_referrals(60, alice, charlie, patient)
    assert _count(client, url) == few
    assert few == PINNED[url] - (1 if settings.SESSIONS_CACHED else 0), few  # the session from Redis


def test_expertise_lists_have_a_fixed_query_count(alice, charlie, patient):
    def add(n):
        Expertise.objects.bulk_create(
            Expertise(
                patient=patient,
                requester=alice,
                expert=charlie,
                state="sent",
                question="Q",
                consent_how="oral",
                consent_at=timezone.localdate(),
                sent_at=timezone.now(),
            )
            for _ in range(n)
        )

    for user, url in ((alice, "/avis/envoyes/"), (charlie, "/avis/")):
        client = client_as(user)
        add(2)
        client.get(url)
        few = _count(client, url)
        add(60)
        assert _count(client, url) == few
