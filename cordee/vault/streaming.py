"""Tink's AES-GCM-HKDF streaming format, written and read with ``cryptography``'s AES-GCM (OpenSSL).

The bytes are exactly those of Tink's ``StreamingAead`` for ``AesGcmHkdfStreamingKey`` keys (the
``AES256_GCM_HKDF_1MB`` template of the vault's data keys), so blobs written by Tink before this
module still decrypt, and Tink still decrypts what this module writes (tests/vault/test_streaming.py
checks both ways). Going through Tink's Python bindings cost a copy per layer (Python → C++ → Python
file adapter) and ran at 7–28 % of AES-GCM's own speed; here a segment is read into a reused buffer,
sealed or opened by OpenSSL in one call and written from that buffer (docs/decisions/0012).

The format (Tink's "AES-GCM-HKDF streaming", RAW output prefix)::

    header   = len(header) (1 byte) ‖ salt (key size bytes) ‖ nonce prefix (7 bytes)
    key      = HKDF(hash, ikm=key value, salt=salt, info=associated data, length=derived key size)
    segment i: AES-GCM(key, nonce = nonce prefix ‖ i (4 bytes, big-endian) ‖ last (1 byte), no AAD)

Ciphertext segments are ``ciphertext_segment_size`` bytes (the first one that less the header), the
last one shorter or equal; the last flag makes a truncation at a segment boundary fail. An empty
plaintext is one empty last segment (its tag only).
"""

from __future__ import annotations

import io
import mmap
import os
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import tink
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tink import secret_key_access
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

from cordee.vault.errors import DecryptionError

TAG = 16
NONCE_PREFIX = 7
MAX_SEGMENTS = 1 << 32  # the segment number is 4 bytes in the nonce
TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"
_HASHES: dict[int, Callable[[], hashes.HashAlgorithm]] = {
    common_pb2.SHA1: hashes.SHA1,
    common_pb2.SHA224: hashes.SHA224,
    common_pb2.SHA256: hashes.SHA256,
    common_pb2.SHA384: hashes.SHA384,
    common_pb2.SHA512: hashes.SHA512,
}
NOT_AUTHENTIC = "An encrypted file does not authenticate (altered, truncated, swapped or wrong key)"

Reader = Callable[[memoryview], int]  # fills a view, returns how many bytes it got (0 at the end)
Writer = Callable[[memoryview], None]  # writes a whole view


@dataclass(frozen=True, repr=False)
class SegmentKey:
    """One ``AesGcmHkdfStreamingKey`` of a Tink keyset (its secret value: never logged, no repr)."""

    key_id: int
    ikm: bytes
    hash: Callable[[], hashes.HashAlgorithm]
    derived_key_size: int
    segment_size: int  # ciphertext bytes per segment, tag (and, for the first, header) included

    def __repr__(self) -> str:
        return f"SegmentKey(id={self.key_id}, segment_size={self.segment_size})"

    @property
    def header_size(self) -> int:
        return 1 + self.derived_key_size + NONCE_PREFIX

    @property
    def plain_size(self) -> int:  # clear bytes in every segment but the first
        return self.segment_size - TAG

    def derive(self, salt: bytes | memoryview, associated_data: bytes) -> AESGCM:
        hkdf = HKDF(algorithm=self.hash(), length=self.derived_key_size, salt=bytes(salt), info=associated_data)
        return AESGCM(hkdf.derive(self.ikm))


def keys_from_handle(handle: tink.KeysetHandle) -> tuple[SegmentKey, ...]:
    """The enabled keys of a streaming keyset, primary first; refuses any key of another kind."""
    keyset = tink_pb2.Keyset.FromString(tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    keys = []
    for entry in keyset.key:
        if entry.status != tink_pb2.ENABLED:
            continue
        if entry.key_data.type_url != TYPE_URL or entry.output_prefix_type != tink_pb2.RAW:
            raise DecryptionError(f"Streaming key #{entry.key_id} is not an AES-GCM-HKDF streaming key")
        key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey.FromString(entry.key_data.value)
        params = key.params
        header_size = 1 + params.derived_key_size + NONCE_PREFIX
        if (
            params.hkdf_hash_type not in _HASHES
            or params.derived_key_size not in (16, 32)
            or not header_size + TAG < params.ciphertext_segment_size <= 1 << 26
        ):
            raise DecryptionError(f"Streaming key #{entry.key_id} has parameters this module does not read")
        keys.append(
            SegmentKey(
                key_id=entry.key_id,
                ikm=bytes(key.key_value),
                hash=_HASHES[params.hkdf_hash_type],
                derived_key_size=params.derived_key_size,
                segment_size=params.ciphertext_segment_size,
            )
        )
    keys.sort(key=lambda key: key.key_id != keyset.primary_key_id)
    if not keys:
        raise DecryptionError("The streaming keyset has no enabled key")
    return tuple(keys)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= MAX_SEGMENTS:
        raise ValueError("too many segments for one stream")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _fill(read: Reader, view: memoryview) -> int:
    """Fill ``view`` from ``read`` up to its end or the end of the data."""
    filled = 0
    while filled < len(view):
        got = read(view[filled:])
        if not got:
            break
        filled += got
    return filled


def encrypt(key: SegmentKey, associated_data: bytes, read: Reader, write: Writer) -> int:
    """Encrypt everything ``read`` gives into ``write``; returns the clear size.

    Memory: two clear segments and one ciphertext segment, reused. ``read`` may raise to stop (a size
    limit, a broken source): nothing more is written then. Each segment is written whole (the header with
    the first), so the writes of a file are ``segment_size`` bytes at ``segment_size`` offsets.
    """
    salt, prefix = os.urandom(key.derived_key_size), os.urandom(NONCE_PREFIX)
    aead = key.derive(salt, associated_data)
    sealed = bytearray(key.segment_size)
    out = memoryview(sealed)
    out[: key.header_size] = bytes([key.header_size]) + salt + prefix
    current, following = memoryview(bytearray(key.plain_size)), memoryview(bytearray(key.plain_size))
    start = key.header_size  # where the current segment's ciphertext goes in ``sealed``
    index, total = 0, 0
    filled = _fill(read, current[: key.plain_size - start])
    while filled == key.plain_size - start:  # a full segment: it is the last one only if nothing follows
        ahead = _fill(read, following)
        if not ahead:
            break
        aead.encrypt_into(_nonce(prefix, index, False), current[:filled], None, out[start : start + filled + TAG])
        write(out[: start + filled + TAG])
        total += filled
        index, start = index + 1, 0
        current, following, filled = following, current, ahead
    aead.encrypt_into(_nonce(prefix, index, True), current[:filled], None, out[start : start + filled + TAG])
    write(out[: start + filled + TAG])
    return total + filled


class StreamedCiphertext:
    """Ciphertext from a stream (``readinto``, or ``read(n)`` for S3 bodies), read into two reused buffers.

    ``take(n)`` gives the next ``n`` bytes (fewer only at the end) as a view that stays valid until the
    take after next: enough to keep one segment ahead.
    """

    def __init__(self, raw: Any) -> None:
        readinto = getattr(raw, "readinto", None)
        self._raw_read: Reader = readinto if readinto is not None else _reader_of(raw.read)
        self._buffers: list[memoryview] = []
        self._turn = 0
        self._pushed_back = memoryview(b"")  # ciphertext given back by ``rewind``

    def _read(self, view: memoryview) -> int:
        if not self._pushed_back:
            return self._raw_read(view) or 0
        count = min(len(view), len(self._pushed_back))
        view[:count] = self._pushed_back[:count]
        self._pushed_back = self._pushed_back[count:]
        return count

    def take(self, size: int) -> memoryview:
        if not self._buffers or len(self._buffers[0]) < size:
            self._buffers = [memoryview(bytearray(size)), memoryview(bytearray(size))]
        buffer = self._buffers[self._turn][:size]
        self._turn ^= 1
        return buffer[: _fill(self._read, buffer)]

    def rewind(self, taken: list[memoryview]) -> None:
        """Give back what was taken since the start (to try another key)."""
        self._pushed_back = memoryview(b"".join(bytes(view) for view in taken) + bytes(self._pushed_back))


class MappedCiphertext:
    """Ciphertext from a local file, mapped a segment at a time: OpenSSL reads the page cache directly.

    Reading into a buffer copied every byte once more and halved the throughput (bench/vault). Each view
    maps only what it covers and is unmapped when dropped, so at most a few segments are mapped at once.
    A blob file is never modified in place (written aside, renamed, unlinked): a file truncated under a
    reader by someone else would end the process (SIGBUS), as it would any program mapping it.
    """

    def __init__(self, handle: Any) -> None:
        self._fd = handle.fileno()
        self._size = os.fstat(self._fd).st_size
        self._position = 0

    def take(self, size: int) -> memoryview:
        start, end = self._position, min(self._position + size, self._size)
        if end <= start:
            return memoryview(b"")
        base = start - start % mmap.ALLOCATIONGRANULARITY
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # fault the pages in with one call
        mapped = mmap.mmap(self._fd, end - base, flags=flags, prot=mmap.PROT_READ, offset=base)
        self._position = end
        return memoryview(mapped)[start - base :]

    def rewind(self, taken: list[memoryview]) -> None:
        self._position = 0


class DecryptingReader(io.RawIOBase):
    """A readable stream of the clear bytes; ``DecryptionError`` on any segment that does not authenticate.

    The first segment picks the key (Tink tries each key of the keyset the same way). A segment is the
    last one when the data ends right after it, so the reader keeps one segment of ciphertext ahead.
    ``segments()`` yields each clear segment as OpenSSL returns it (no copy).
    """

    def __init__(self, raw: Any, keys: tuple[SegmentKey, ...], associated_data: bytes, *, mapped: bool = False) -> None:
        super().__init__()
        self._raw = raw
        self._ciphertext = MappedCiphertext(raw) if mapped else StreamedCiphertext(raw)
        self._keys = keys
        self._associated_data = associated_data
        self._iterator: Generator[bytes, None, None] | None = None
        self._pending = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _open(self) -> tuple[SegmentKey, AESGCM, bytes, bytes, memoryview]:
        """Take the header, the first segment and the next one; find the key that opens the first."""
        take = self._ciphertext.take
        for key in self._keys:
            current = take(key.segment_size)
            following = take(key.segment_size) if len(current) == key.segment_size else memoryview(b"")
            start = key.header_size
            if len(current) >= start + TAG and current[0] == start:
                salt, prefix = bytes(current[1 : start - NONCE_PREFIX]), bytes(current[start - NONCE_PREFIX : start])
                aead = key.derive(salt, self._associated_data)
                try:
                    clear = aead.decrypt(_nonce(prefix, 0, not following), current[start:], None)
                except InvalidTag:
                    pass
                else:
                    return key, aead, prefix, clear, following
            self._ciphertext.rewind([current, following])
        raise DecryptionError(NOT_AUTHENTIC)

    def segments(self) -> Generator[bytes, None, None]:
        """The clear segments, in order, each authenticated before it is given."""
        if self._iterator is None:
            self._iterator = self._decrypt()
        return self._iterator

    def _decrypt(self) -> Generator[bytes, None, None]:
        key, aead, prefix, clear, following = self._open()
        yield clear
        index, take = 1, self._ciphertext.take
        while following:
            current = following
            following = take(key.segment_size) if len(current) == key.segment_size else memoryview(b"")
            try:
                clear = aead.decrypt(_nonce(prefix, index, not following), current, None)
            except InvalidTag:
                raise DecryptionError(NOT_AUTHENTIC) from None
            del current  # a mapped segment is unmapped as soon as it is decrypted
            yield clear
            index += 1

    def _next(self) -> bool:
        """Make the next clear segment pending; False at the end."""
        for segment in self.segments():
            if segment:
                self._pending, self._offset = segment, 0
                return True
        return False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self._offset >= len(self._pending) and not self._next():
            return b""
        if self._offset == 0 and size >= len(self._pending):
            data, self._pending = self._pending, b""  # the whole segment as OpenSSL gave it
            return data
        data = self._pending[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def readall(self) -> bytes:
        parts = [self._pending[self._offset :]]
        self._pending, self._offset = b"", 0
        parts.extend(self.segments())
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._iterator is not None:
                    self._iterator.close()  # drops the segments it holds (and their mappings)
                self._raw.close()
            finally:
                super().close()


def _reader_of(read: Callable[[int], bytes]) -> Reader:
    """A ``Reader`` over a ``read(n)`` (S3 bodies): one copy, into the caller's buffer."""

    def read_into(view: memoryview) -> int:
        data = read(len(view)) or b""
        view[: len(data)] = data
        return len(data)

    return read_into
