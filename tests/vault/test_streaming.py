"""The blob store's own reader and writer of Tink's AES-GCM-HKDF streaming format (vault.streaming):
the same bytes as Tink's, both ways; blobs written by Tink (before decision 0012) still read; every
cut, extension or change fails closed, read from a mapped file or from a stream."""

from __future__ import annotations

import io
import os

import pytest
import tink
from tink import secret_key_access, streaming_aead
from tink.proto import tink_pb2

from cordee.vault import blobs, services, streaming
from cordee.vault.errors import BlobTooLarge, DecryptionError
from cordee.vault.keyset import register_tink
from cordee.vault.models import Blob

MIB = 1 << 20
TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
AAD = b"cordee.test\x00associated data"


def _handle() -> tink.KeysetHandle:
    register_tink()
    return tink.new_keyset_handle(TEMPLATE)


def _tink_encrypt(handle: tink.KeysetHandle, data: bytes, aad: bytes = AAD) -> bytes:
    kept = []

    class Kept(io.BytesIO):
        def close(self) -> None:
            kept.append(self.getvalue())
            super().close()

    with handle.primitive(streaming_aead.StreamingAead).new_encrypting_stream(Kept(), aad) as stream:
        stream.write(data)
    return kept[0]


def _encrypt(handle: tink.KeysetHandle, data: bytes, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    size = streaming.encrypt(streaming.keys_from_handle(handle)[0], aad, io.BytesIO(data).readinto, out.write)
    assert size == len(data)
    return out.getvalue()


def _decrypt(handle: tink.KeysetHandle, ciphertext: bytes, tmp_path, *, mapped: bool, aad: bytes = AAD) -> bytes:
    keys = streaming.keys_from_handle(handle)
    if not mapped:
        return streaming.DecryptingReader(io.BytesIO(ciphertext), keys, aad).read()
    path = tmp_path / "ciphertext.bin"
    path.write_bytes(ciphertext)
    with streaming.DecryptingReader(open(path, "rb", buffering=0), keys, aad, mapped=True) as reader:  # noqa: SIM115
        return reader.read()


FIRST = MIB - (1 + 32 + 7) - 16  # clear bytes in the first segment (header and tag in its MiB)
SIZES = [0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + MIB - 16, 3 * MIB + 12345]


@pytest.mark.parametrize("size", SIZES)
def test_same_bytes_as_tink_both_ways(size, tmp_path):
    handle, data = _handle(), os.urandom(size)
    by_tink, ours = _tink_encrypt(handle, data), _encrypt(handle, data)
    assert len(ours) == len(by_tink)  # same segmentation (no empty last segment after a full one)
    for mapped in (False, True):
        assert _decrypt(handle, by_tink, tmp_path, mapped=mapped) == data
    with handle.primitive(streaming_aead.StreamingAead).new_decrypting_stream(io.BytesIO(ours), AAD) as stream:
        assert stream.read() == data


@pytest.mark.parametrize("mapped", [False, True])
def test_every_cut_extension_or_change_fails_closed(mapped, tmp_path):
    handle = _handle()
    ciphertext = _encrypt(handle, os.urandom(2 * MIB + 5))  # three segments
    altered = [
        b"",
        ciphertext[:40],  # the header only
        ciphertext[:MIB],  # cut at a segment boundary: the segment before was not sealed as the last
        ciphertext[: 2 * MIB],
        ciphertext[:-1],
        ciphertext + b"\x00",
        ciphertext[:1] + bytes([ciphertext[1] ^ 1]) + ciphertext[2:],  # the salt
        ciphertext[: 2 * MIB + 3] + bytes([ciphertext[2 * MIB + 3] ^ 1]) + ciphertext[2 * MIB + 4 :],
        bytes([ciphertext[0] + 1]) + ciphertext[1:],  # the header length
    ]
    for ciphertext_altered in altered:
        with pytest.raises(DecryptionError, match="does not authenticate"):
            _decrypt(handle, ciphertext_altered, tmp_path, mapped=mapped)
    with pytest.raises(DecryptionError):
        _decrypt(handle, ciphertext, tmp_path, mapped=mapped, aad=AAD + b"x")
    with pytest.raises(DecryptionError):
        _decrypt(_handle(), ciphertext, tmp_path, mapped=mapped)


@pytest.mark.parametrize("mapped", [False, True])
def test_a_blob_of_an_older_key_of_the_keyset_still_reads(mapped, tmp_path):
    """As Tink does, every enabled key is tried on the first segment (the primary first)."""
    older, newer = _handle(), _handle()
    keyset = tink_pb2.Keyset.FromString(tink.proto_keyset_format.serialize(older, secret_key_access.TOKEN))
    added = tink_pb2.Keyset.FromString(tink.proto_keyset_format.serialize(newer, secret_key_access.TOKEN)).key[0]
    keyset.key.append(added)
    keyset.primary_key_id = added.key_id
    both = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    assert [key.key_id for key in streaming.keys_from_handle(both)] == [added.key_id, keyset.key[0].key_id]
    data = os.urandom(2 * MIB + 99)
    assert _decrypt(both, _tink_encrypt(older, data), tmp_path, mapped=mapped) == data
    assert _decrypt(both, _encrypt(newer, data), tmp_path, mapped=mapped) == data


def test_a_blob_written_by_tink_before_still_reads(patient, blob_dir):
    """The store before decision 0012 wrote through Tink's encrypting stream: such blobs read as before,
    and Tink reads what the store writes now."""
    data = os.urandom(2 * MIB + 4321)
    store = blobs.get_store()
    blob = Blob(owner_type="accounts.patient", owner_id=str(patient.vault_id), backend=store.kind, size=len(data))
    handle, path = store.incoming()
    with services.streaming_aead_for(patient).new_encrypting_stream(handle, blobs._aad(blob)) as stream:
        stream.write(data)  # Tink closes the file with the stream
    store.path(blob.name).parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, store.path(blob.name))
    blob.save(force_insert=True)
    with blobs.open_blob(blob) as clear:
        assert clear.read() == data
    assert b"".join(blobs.iter_blob(blob)) == data

    new = blobs.store_blob(patient, io.BytesIO(data), max_bytes=4 * MIB)
    tink_stream = services.streaming_aead_for(patient).new_decrypting_stream(
        open(store.path(new.name), "rb"),  # noqa: SIM115  (closed with the stream)
        blobs._aad(new),
    )
    with tink_stream:
        assert tink_stream.read() == data


def test_reads_of_any_size_and_readinto(patient, blob_dir):
    data = os.urandom(2 * MIB + 17)
    blob = blobs.store_blob(patient, io.BytesIO(data), max_bytes=4 * MIB)
    with blobs.open_blob(blob) as clear:
        parts, buffer = [], bytearray(70_001)
        while count := clear.readinto(buffer):
            parts.append(bytes(buffer[:count]))
    assert b"".join(parts) == data
    with blobs.open_blob(blob) as clear:
        assert clear.read(10) == data[:10] and clear.read() == data[10:] and clear.read(5) == b""
    chunks = list(blobs.iter_blob(blob))
    assert [len(chunk) for chunk in chunks] == [FIRST, MIB - 16, len(data) - FIRST - (MIB - 16)]


def test_a_file_source_is_read_no_further_than_one_byte_past_the_limit(patient, blob_dir):
    source = io.BytesIO(os.urandom(5 * MIB))
    with pytest.raises(BlobTooLarge):
        blobs.store_blob(patient, source, max_bytes=MIB + 10)
    assert source.tell() == MIB + 11
    assert not Blob.objects.exists()


def test_a_source_with_read_only(patient, blob_dir):
    data = os.urandom(MIB + 3)

    class ReadOnly:
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def read(self, size: int) -> bytes:
            return self._inner.read(min(size, 1000))  # short reads, as a socket gives

    blob = blobs.store_blob(patient, ReadOnly(), max_bytes=2 * MIB, expected_size=len(data))
    assert b"".join(blobs.iter_blob(blob)) == data
