"""The demo record: Paula's two documents and the care-team messages in her timeline; idempotent."""

from __future__ import annotations

import pytest

from cordee import demo
from cordee.documents.models import Document, RecordItem
from cordee.vault.blobs import iter_blob

pytestmark = pytest.mark.django_db


def test_the_demo_record_is_seeded_once(personas):
    demo.seed(with_documents=True)
    demo.seed(with_documents=True)
    patient = personas["paula"].patient
    documents = list(Document.objects.filter(patient=patient).order_by("act_date"))
    assert [(d.doc_type, d.visible_to_patient) for d in documents] == [
        ("cr_hospitalisation", True),
        ("biologie", False),
    ]
    version = documents[0].versions.get()
    assert b"".join(iter_blob(version.blob)).startswith(b"%PDF") and version.preview == "pdf"
    assert RecordItem.objects.filter(patient=patient, kind="document").count() == 2
    assert RecordItem.objects.filter(patient=patient, kind="message").count() == 1  # the demo's care-team message
