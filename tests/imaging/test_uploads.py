"""Chunked uploads: abandoned ones are purged by the worker's schedule (audited, numbers only), and
the last chunk ingests the file without putting it together in memory."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tracemalloc
import zipfile

import pytest
from django.utils import timezone

from cordee.audit.models import AuditEntry
from cordee.imaging.models import Study, Upload, UploadChunk
from cordee.imaging.services import uploads
from cordee.vault.models import Blob
from cordee.worker.jobs import Scheduler, registered
from tests.conftest import login_as
from tests.imaging.conftest import shared, variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def blob_dir(settings, tmp_path):
    settings.BLOB_BACKEND = "local"
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR


def _files(root) -> set:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _started(alice, paula, *, hours_ago: float, chunks: int = 1, last_chunk_hours_ago: float | None = None) -> Upload:
    upload = uploads.do_start(paula.patient, by=alice, size=100_000)
    for n in range(chunks):
        uploads.do_append(upload, n * 1000, b"x" * 1000, by=alice)
    then = timezone.now() - dt.timedelta(hours=hours_ago)
    Upload.objects.filter(pk=upload.pk).update(created_at=then)
    last = timezone.now() - dt.timedelta(hours=hours_ago if last_chunk_hours_ago is None else last_chunk_hours_ago)
    Blob.objects.filter(pk__in=UploadChunk.objects.filter(upload=upload).values("blob")).update(created_at=last)
    return Upload.objects.get(pk=upload.pk)


def test_uploads_untouched_for_a_day_are_deleted_with_their_chunks_and_audited(
    client, alice, paula, blob_dir, django_capture_on_commit_callbacks
):
    old = _started(alice, paula, hours_ago=30, chunks=2)
    never = _started(alice, paula, hours_ago=30, chunks=0)  # started, no chunk ever came
    resumed = _started(alice, paula, hours_ago=30, last_chunk_hours_ago=2)  # a chunk came two hours ago
    fresh = _started(alice, paula, hours_ago=0)
    files = _files(blob_dir)
    with django_capture_on_commit_callbacks(execute=True):
        assert uploads.purge_abandoned() == 2
    assert set(Upload.objects.values_list("pk", flat=True)) == {resumed.pk, fresh.pk}
    assert len(files - _files(blob_dir)) == 2  # the two chunks of the old one, ciphertext included
    assert not Blob.objects.filter(pk__in=[c.blob_id for c in old.chunks.all()]).exists()
    entries = AuditEntry.objects.filter(action="imaging.upload.purged").order_by("seq")
    assert [(e.target_type, e.target_id) for e in entries] == [
        ("imaging.upload", str(old.pk)),
        ("imaging.upload", str(never.pk)),
    ]
    entry = entries[0]
    assert (entry.actor_id, entry.category, entry.patient_id, entry.purpose) == (
        None,
        "access",
        paula.patient.pk,
        "imaging.retention",
    )
    assert entry.details == {"size": 100_000, "received": 2000, "chunks": 2}  # numbers only
    # The client that comes back gets the 404 of an unknown upload (and starts again).
    login_as(client, alice)
    assert client.get(f"/imagerie/televersement/{old.token}/").status_code == 404
    assert client.get(f"/imagerie/televersement/{fresh.token}/").status_code == 200


def test_the_delay_is_a_setting_and_nothing_to_purge_writes_nothing(alice, paula, blob_dir, settings):
    _started(alice, paula, hours_ago=2)
    assert uploads.purge_abandoned() == 0
    assert not AuditEntry.objects.filter(action="imaging.upload.purged").exists()
    settings.IMAGING_UPLOAD_ABANDONED_HOURS = 1
    assert uploads.purge_abandoned() == 1


def test_a_finished_upload_keeps_its_outcome_and_leftover_chunks_go(alice, paula, blob_dir):
    data = shared("CT_small.dcm")
    upload = uploads.do_start(paula.patient, by=alice, size=len(data))
    assert uploads.do_append(upload, 0, data, by=alice).stored == 1
    Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    assert uploads.purge_abandoned() == 0  # finished, no chunk left: its outcome answers a late retry
    assert Upload.objects.filter(pk=upload.pk).exists()


def test_the_purge_is_scheduled_every_hour_in_one_worker(alice, paula, blob_dir):
    (job,) = [job for job in registered() if job.name == "imaging.purge_abandoned_uploads"]
    assert job.run is uploads.purge_abandoned and job.every() == dt.timedelta(hours=1) and job.shared
    _started(alice, paula, hours_ago=48)
    assert "imaging.purge_abandoned_uploads" in Scheduler([job]).run_due()
    assert not Upload.objects.exists()


def test_the_last_chunk_ingests_a_zip_without_holding_the_file(alice, paula, blob_dir):
    """The chunks used to be joined in memory (then the ZIP inflated beside them): now a seekable
    reader decrypts one chunk at a time and the ZIP is read entry by entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n in range(16):
            archive.writestr(f"CD/VIEWER/part{n}.bin", os.urandom(1024 * 1024))  # not DICOM: skipped
        archive.writestr("CD/DICOM/IM0", variant())
        archive.writestr("CD/DICOM/IM1", variant("MR_small.dcm"))
    data = out.getvalue()
    chunk = 1024 * 1024 + 7  # not aligned with the entries nor the vault's segments
    upload = uploads.do_start(paula.patient, by=alice, size=len(data))
    offsets = list(range(0, len(data), chunk))
    for offset in offsets[:-1]:
        assert uploads.do_append(upload, offset, data[offset : offset + chunk], by=alice) is None
    last = data[offsets[-1] :]
    del data, out
    tracemalloc.start()
    try:
        outcome = uploads.do_append(upload, offsets[-1], last, by=alice)
        _, peak = tracemalloc.get_traced_memory()  # joined in memory as before, it was 32 MiB
    finally:
        tracemalloc.stop()
    assert outcome.stored == 2 and outcome.skipped == 16 and Study.objects.count() == 2
    assert not UploadChunk.objects.exists()
    print(f"peak {peak / 2**20:.1f} MiB for a {len(offsets)} MiB upload")  # noqa: T201  (the measure, with -s)
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB held at once for a {len(offsets)} MiB upload"


def test_a_zip_in_many_chunks_through_the_pages(client, alice, paula, blob_dir, settings):
    settings.IMAGING_UPLOAD_CHUNK_BYTES = 16 * 1024
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("CT_small.dcm", "MR_small.dcm", "examples_ybr_color.dcm"):
            archive.writestr(f"DICOM/{name}", shared(name))
        archive.writestr("DICOMDIR", b"index")
    from tests.imaging.conftest import upload

    login_as(client, alice)
    status, body = upload(client, paula.patient.pk, out.getvalue())
    assert status == 200 and body["stored"] == 3 and body["skipped"] == 1
    assert json.loads(json.dumps(body))["refused"] == []
