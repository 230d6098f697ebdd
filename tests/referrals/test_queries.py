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
# The navigation's counts of what waits are part of every page (one query for all modules); a list
# is its count, its page's keys, its page's rows (``lib.paging``) and the page's data keys.
PINNED = {"/adressages/": 9, "/adressages/envoyes/": 9, "/adressages/envoyes/?retard=1&urgence=week&etat=sent": 9}


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


def test_the_received_list_merges_named_and_pool_requests_in_one_order(alice, charlie, patient, structure):
    """The received list is two parts read separately (``lib.paging``): its pages must be exactly
    those of the plain definition — named to Charlie or open to his service, drafts left out,
    newest change first — with no row lost or repeated at a page's edge."""
    import datetime as dt

    from django.core.paginator import Paginator
    from django.db.models import Q

    from cordee.audit.services import actor_display
    from cordee.referrals.access import filtered, received_by
    from cordee.referrals.models import Referral

    now = timezone.now()
    common = {"patient": patient, "requester": alice, "requester_display": actor_display(alice), "reason": "Motif"}
    rows = []
    for n in range(40):  # interleaved in time: named, pool, draft named, someone else's
        kind = n % 4
        rows.append(
            Referral(
                **common,
                receiver=charlie if kind in (0, 2) else (alice if kind == 3 else None),
                structure=structure if kind == 1 else None,
                specialty="cardiologie" if kind == 1 else "",
                state="draft" if kind == 2 else "sent",
                urgency=("routine", "urgent")[n % 2],
                updated_at=now - dt.timedelta(minutes=n // 3),  # ties too: the primary key orders them
            )
        )
    Referral.objects.bulk_create(rows)
    pool = Q(receiver__isnull=True, state="sent", structure=structure, specialty__iexact="Cardiologie")
    plain = Referral.objects.filter((Q(receiver=charlie) & ~Q(state="draft")) | pool).order_by("-updated_at", "-pk")
    listed = received_by(charlie)

    def pages_of(rows) -> tuple[int, list[int]]:
        """The paginator's count, and the primary keys of every page of 7, in order."""
        paginator = Paginator(rows, 7)
        return paginator.count, [row.pk for n in paginator.page_range for row in paginator.page(n).object_list]

    count, paged = pages_of(listed)
    assert count == len(paged) == 20
    assert paged == [row.pk for row in plain]
    assert listed[0].pk == plain[0].pk and listed[19].pk == plain[19].pk
    with pytest.raises(IndexError):
        listed[20]
    urgent = filtered(listed, urgency="urgent")
    assert [row.pk for row in urgent] == [row.pk for row in plain.filter(urgency="urgent")]
    assert all(row.patient_id == patient.pk for row in urgent)  # the patient came with the rows
    # A part counted empty is left out of the page's query (one ordered scan): the same pages.
    named_only = listed.map(lambda part: part.exclude(receiver__isnull=True))
    _count, paged = pages_of(named_only)
    assert paged == [row.pk for row in plain.exclude(receiver__isnull=True)] and len(paged) == 10
