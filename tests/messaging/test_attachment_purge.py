"""Uploads never sent are purged after a day, by the worker's schedule, and each purge is audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from cordee.audit.models import AuditEntry
from cordee.messaging.models import Attachment
from cordee.messaging.services.attachments import do_upload_attachment, purge_unsent
from cordee.worker.jobs import registered
from tests.messaging.conftest import stored_files

pytestmark = pytest.mark.django_db


def _upload(user, conversation, data: bytes = b"compte rendu") -> Attachment:
    return do_upload_attachment(user, conversation.pk, io.BytesIO(data), name="cr.txt", length=len(data))


def test_unsent_uploads_older_than_a_day_are_deleted_with_their_files_and_audited(
    alice, threads, blob_dir, django_capture_on_commit_callbacks
):
    old, fresh = _upload(alice, threads["patient"]), _upload(alice, threads["patient"])
    Attachment.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    files_before = len(stored_files(blob_dir))
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_unsent() == 1
    assert list(Attachment.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert len(stored_files(blob_dir)) == files_before - 1  # the ciphertext goes too
    entry = AuditEntry.objects.get(action="attachment.purged")
    assert (entry.actor_id, entry.category, entry.patient_id, entry.purpose) == (
        None,
        "access",
        threads["patient"].patient_id,
        "messaging.retention",
    )
    assert (entry.target_type, entry.target_id) == ("messaging.attachment", str(old.pk))
    assert entry.details == {"conversation": threads["patient"].pk, "size": old.size, "unsent": True}


def test_nothing_to_purge_writes_nothing(alice, threads):
    _upload(alice, threads["direct"])
    assert purge_unsent() == 0
    assert not AuditEntry.objects.filter(action="attachment.purged").exists()


def test_the_purge_is_scheduled_every_hour():
    (job,) = [job for job in registered() if job.name == "messaging.purge_unsent_attachments"]
    assert job.run is purge_unsent and job.every() == dt.timedelta(hours=1) and job.shared
