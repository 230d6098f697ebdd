"""Chunked uploads: the last chunk ingests the file without putting it together in memory."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tracemalloc
import zipfile

import pytest
from django.utils import timezone

from cordee.imaging.models import Study, Upload, UploadChunk
from cordee.imaging.services import uploads
from cordee.vault.models import Blob
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
