"""Demo record of Paula: a discharge letter she sees, and a lab result awaiting Alice's explanation;
the demo's care-team messages as lines of her timeline.

Written directly (no audit entries), through the same storage as uploads (encrypted with
Paula's key, previews made); idempotent: a record that has documents is left as it is. Seeded by
``manage.py seed_demo`` (``cordee.demo.seed(with_documents=True)``), not for every test.
"""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone

from cordee.accounts.models import User
from cordee.audit.services import actor_display
from cordee.documents.models import Document, DocumentVersion, RecordItem
from cordee.documents.services.files import Upload, _add_line, _store
from cordee.documents.services.record import record_items
from cordee.messaging.models import Conversation, Message

_DOCUMENTS = (
    # type, title, days ago, source, visible, lines of the PDF
    (
        "cr_hospitalisation",
        "Compte rendu d’hospitalisation — cardiologie",
        40,
        "CHU de Nantes, service de cardiologie",
        True,
        ["Motif : décompensation cardiaque", "Traitement de sortie : furosémide 40 mg, bisoprolol 2,5 mg"],
    ),
    (
        "biologie",
        "Bilan sanguin : ionogramme, créatinine",
        3,
        "Laboratoire des Tilleuls",
        False,
        ["Kaliémie : 5,4 mmol/L", "Créatinine : 98 µmol/L, DFG 62 mL/min"],
    ),
)


def _pdf(title: str, lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont("Helvetica-Bold", 14)
    page.drawString(72, 770, title)
    page.setFont("Helvetica", 11)
    for n, line in enumerate(lines):
        page.drawString(72, 730 - 18 * n, line)
    page.showPage()
    page.save()
    return out.getvalue()


def seed_record(users: dict[str, User]) -> None:
    patient = users["paula"].patient
    alice = users["alice"]
    if not Document.objects.filter(patient=patient).exists():
        today = timezone.localdate()
        for doc_type, title, days, source, visible, lines in _DOCUMENTS:
            data = _pdf(title, lines)
            stored = _store(patient, Upload(io.BytesIO(data), len(data), f"{doc_type}.pdf"))
            document = Document.objects.create(
                patient=patient,
                doc_type=doc_type,
                title=title,
                act_date=today - dt.timedelta(days=days),
                author=alice,
                author_display=actor_display(alice),
                source=source,
                visible_to_patient=visible,
            )
            DocumentVersion.objects.create(
                document=document,
                patient=patient,
                number=1,
                blob=stored.blob,
                file_name=f"{doc_type}.pdf",
                content_type=stored.content_type,
                size=stored.blob.size,
                pages=stored.pages,
                preview=stored.preview,
                preview_blob=stored.preview_blob,
                created_by=alice,
                created_by_display=actor_display(alice),
            )
            _add_line(document)
    filed = set(RecordItem.objects.filter(patient=patient, kind="message").values_list("target_id", flat=True))
    thread = Message.objects.filter(conversation__patient=patient, conversation__kind=Conversation.Kind.CARE_TEAM)
    messages = [message for message in thread.select_related("sender") if str(message.pk) not in filed]
    record_items(
        [
            (
                patient.pk,
                message,
                {
                    "kind": "message",
                    "occurred_at": message.created_at,
                    "author": message.sender,
                    "link_id": message.conversation_id,
                },
            )
            for message in messages
        ]
    )
