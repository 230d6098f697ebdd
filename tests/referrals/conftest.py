"""Helpers of the referrals' tests. The demo gives Paula's care team (Alice, Bob, Sam acting for
Alice); Charlie (cardiologist, verified) is outside it: the natural receiver of a referral."""

from __future__ import annotations

import pytest
from django.test import Client

from cordee.audit.models import AuditEntry
from cordee.referrals import services
from tests.conftest import login_as

MISSING_ID = 987654321


def client_as(user) -> Client:
    client = Client()
    login_as(client, user)
    return client


def last_entry(action: str, **filters) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action, **filters).order_by("-seq").first()
    assert entry is not None, f"no audit entry {action} {filters}"
    return entry


@pytest.fixture
def patient(paula):
    return paula.patient


@pytest.fixture
def document(alice, patient):
    """A document of Paula's record, filed by Alice (through the record's own service)."""
    import io

    from cordee.documents import services as documents
    from tests.documents.conftest import pdf_bytes

    data = pdf_bytes(text="ECG de repos")
    return documents.do_upload(
        alice,
        patient.pk,
        documents.Upload(io.BytesIO(data), len(data), "ecg.pdf"),
        doc_type="courrier",
        title="ECG du 2 mars",
        act_date="2026-03-02",
        source="",
        visible_to_patient=False,
    )


@pytest.fixture
def referral(alice, charlie, patient):
    """A referral from Alice to Charlie about Paula, sent."""
    return services.check_create_referral(
        alice,
        patient.pk,
        receiver_id=charlie.pk,
        reason="Palpitations à l'effort",
        urgency="week",
        summary="Femme de 54 ans, HTA traitée.",
        treatments="Amlodipine 5 mg",
        allergies="Pénicilline",
        questions="Holter ? Échographie ?",
        send=True,
    )


def many_referrals(n: int, requester, receiver, patient) -> None:
    """``n`` sent referrals at once (one INSERT per batch), for the lists' query counts and bench."""
    import datetime as dt

    from django.utils import timezone

    from cordee.audit.services import actor_display
    from cordee.referrals.models import Referral

    now = timezone.now()
    rows = [
        Referral(
            patient=patient,
            requester=requester,
            requester_display=actor_display(requester),
            receiver=receiver,
            receiver_display=actor_display(receiver),
            state=Referral.State.SENT if i % 3 else Referral.State.ACCEPTED,
            urgency=("routine", "week", "urgent")[i % 3],
            reason="Motif",
            sent_at=now - dt.timedelta(minutes=i),
            due_at=now + dt.timedelta(days=(i % 5) - 2),
            updated_at=now - dt.timedelta(minutes=i),
        )
        for i in range(n)
    ]
    Referral.objects.bulk_create(rows, batch_size=500)
