"""The local blob store: streamed in and out encrypted, all or nothing, fails closed."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc

import pytest

from cordee.vault import blobs
from cordee.vault.errors import BlobIncomplete, BlobTooLarge, DecryptionError
from cordee.vault.models import Blob

MIB = 1 << 20


def _files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _random_chunks(count: int, size: int = MIB, seed: bytes = b"cordee"):
    """Deterministic pseudo-random chunks, generated on the fly (never all in memory)."""
    for index in range(count):
        block = hashlib.sha256(seed + index.to_bytes(4, "big")).digest()
        yield block * (size // len(block))


def test_round_trip_of_a_multi_segment_file(patient, blob_dir):
    data = os.urandom(3 * MIB + 12345)
    blob = blobs.store_blob(patient, io.BytesIO(data), max_bytes=10 * MIB, expected_size=len(data))
    assert blob.size == len(data) and Blob.objects.filter(pk=blob.pk).exists()
    (stored,) = _files(blob_dir)
    assert stored.stat().st_size > len(data) and stored.name == blob.id.hex  # named by a random id only
    assert data[:64] not in stored.read_bytes()
    with blobs.open_blob(blob) as stream:
        assert stream.read() == data
    assert b"".join(blobs.iter_blob(blob, chunk_size=100_000)) == data


def test_files_are_streamed_never_whole_in_memory(patient, blob_dir):
    expected = hashlib.sha256()
    for chunk in _random_chunks(24):
        expected.update(chunk)
    tracemalloc.start()
    try:
        blob = blobs.store_blob(patient, _random_chunks(24), max_bytes=32 * MIB)
        read_back = hashlib.sha256()
        for chunk in blobs.iter_blob(blob):
            read_back.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read_back.digest() == expected.digest()
    assert peak < 8 * MIB, f"peak {peak} bytes for a 24 MiB file"


def test_oversized_file_is_refused_while_streaming_and_nothing_is_left(patient, blob_dir):
    consumed = []

    def endless():
        for chunk in _random_chunks(1000):
            consumed.append(len(chunk))
            yield chunk

    with pytest.raises(BlobTooLarge, match="larger than the limit of 3145728 bytes"):
        blobs.store_blob(patient, endless(), max_bytes=3 * MIB)
    assert len(consumed) == 4  # stopped at the first chunk past the limit, not at the end of the source
    assert _files(blob_dir) == [] and not Blob.objects.exists()


def test_cut_off_upload_leaves_nothing_half_stored(patient, blob_dir):
    def cut_off():
        yield b"x" * MIB
        yield b"y" * MIB
        raise OSError("client went away")

    with pytest.raises(BlobIncomplete, match="could not be read to its end"):
        blobs.store_blob(patient, cut_off(), max_bytes=10 * MIB)
    assert _files(blob_dir) == [] and not Blob.objects.exists()


def test_upload_shorter_than_announced_leaves_nothing(patient, blob_dir):
    with pytest.raises(BlobIncomplete, match="ended after 1000 of 2000 announced bytes"):
        blobs.store_blob(patient, io.BytesIO(b"z" * 1000), max_bytes=MIB, expected_size=2000)
    assert _files(blob_dir) == [] and not Blob.objects.exists()


def test_database_failure_after_upload_removes_the_file(patient, blob_dir, monkeypatch):
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(Blob, "save", broken_save)
    with pytest.raises(RuntimeError):
        blobs.store_blob(patient, io.BytesIO(b"data"), max_bytes=MIB)
    assert _files(blob_dir) == []


def test_tampered_file_fails_closed(patient, blob_dir):
    blob = blobs.store_blob(patient, io.BytesIO(os.urandom(2 * MIB)), max_bytes=4 * MIB)
    (stored,) = _files(blob_dir)
    raw = bytearray(stored.read_bytes())
    raw[MIB + 100] ^= 0x01  # a byte inside the second segment
    stored.write_bytes(bytes(raw))
    with pytest.raises(DecryptionError, match="does not authenticate"), blobs.open_blob(blob) as stream:
        stream.read()


def test_truncated_file_fails_closed(patient, blob_dir):
    blob = blobs.store_blob(patient, io.BytesIO(os.urandom(2 * MIB)), max_bytes=4 * MIB)
    (stored,) = _files(blob_dir)
    stored.write_bytes(stored.read_bytes()[: MIB + 64])
    with pytest.raises(DecryptionError), blobs.open_blob(blob) as stream:
        stream.read()


def test_file_swapped_with_another_blob_fails_closed(patient, blob_dir):
    first = blobs.store_blob(patient, io.BytesIO(b"premier document"), max_bytes=MIB)
    second = blobs.store_blob(patient, io.BytesIO(b"second document"), max_bytes=MIB)
    store = blobs.get_store()
    store.path(second.name).write_bytes(store.path(first.name).read_bytes())
    with pytest.raises(DecryptionError), blobs.open_blob(second) as stream:
        stream.read()


def test_delete_removes_row_and_file(patient, blob_dir, django_capture_on_commit_callbacks):
    blob = blobs.store_blob(patient, io.BytesIO(b"data"), max_bytes=MIB)
    with django_capture_on_commit_callbacks(execute=True):
        blobs.delete_blob(blob)
    assert _files(blob_dir) == [] and not Blob.objects.exists()
