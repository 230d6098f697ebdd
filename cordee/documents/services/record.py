"""The timeline's public API: how a module adds a line to a patient's record.

A module (this app's documents, the messaging's care-team threads, later prescriptions,
referrals, tele-expertise, imaging) calls ``do_add_to_record`` inside its own ``do_*``, in the same
transaction: the line exists exactly when the act does. The caller's ``do_*`` writes the audit
entry of the act; the line itself is not a separate act and writes none.

Its title is encrypted with the patient's key; ``kind`` is the module's own word ("document",
"message", "prescription"…) and ``target`` the object the line links to (one line per object).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cordee.accounts.models import Patient
from cordee.audit.services import actor_display
from cordee.documents.models import RecordItem


def target_ref(target: Any) -> tuple[str, str]:
    return target._meta.label_lower, str(target.pk)


def do_add_to_record(
    patient: Patient,
    *,
    kind: str,
    target: Any,
    occurred_at: dt.datetime,
    author: Any = None,
    title: str = "",
    doc_type: str = "",
    visible_to_patient: bool = False,
    link_id: Any = "",
) -> RecordItem:
    """Add (or, for an object already in the record, replace) the line of ``target``."""
    target_type, target_id = target_ref(target)
    with transaction.atomic():
        item = RecordItem.objects.filter(target_type=target_type, target_id=target_id).first() or RecordItem(
            target_type=target_type, target_id=target_id
        )
        item.patient = patient
        item.kind = kind[:32]
        item.doc_type = doc_type
        item.title = title[:200] or None
        item.occurred_at = occurred_at
        item.author = author
        item.author_display = actor_display(author)
        item.visible_to_patient = visible_to_patient
        item.link_id = str(link_id)
        item.save()
    return item


def record_items(rows: list[tuple[int, Any, dict[str, Any]]]) -> list[RecordItem]:
    """Many lines without a title at once (one INSERT, no key needed), of one or more patients:
    ``rows`` are (patient id, target, fields of ``do_add_to_record`` but the title)."""
    items = []
    for patient_id, target, fields in rows:
        target_type, target_id = target_ref(target)
        author = fields.get("author")
        items.append(
            RecordItem(
                patient_id=patient_id,
                target_type=target_type,
                target_id=target_id,
                kind=fields["kind"],
                doc_type=fields.get("doc_type", ""),
                title=None,
                occurred_at=fields["occurred_at"],
                author=author,
                author_display=actor_display(author),
                visible_to_patient=fields.get("visible_to_patient", False),
                link_id=str(fields.get("link_id", "")),
            )
        )
    return RecordItem.objects.bulk_create(items)


def do_update_record_item(target: Any, **fields: Any) -> int:
    """Change the line of ``target`` (its visibility, "entered in error", its title); how many changed.

    Written by the caller's ``do_*``, which audits the change."""
    target_type, target_id = target_ref(target)
    items = list(RecordItem.objects.filter(target_type=target_type, target_id=target_id).select_related("patient"))
    for item in items:
        for name, value in fields.items():
            setattr(item, name, value)
        item.save(update_fields=list(fields))
    return len(items)
