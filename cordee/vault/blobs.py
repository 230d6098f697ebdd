"""The blob store: files encrypted with the owner's streaming key, streamed in and out.

- ``store_blob(owner, source, max_bytes=…)`` reads ``source`` (a file object, read into a reused
  buffer, or an iterable of byte chunks) one segment at a time and encrypts as it reads (Tink's
  AES256-GCM-HKDF streaming format, 1 MiB segments, ``vault.streaming``): a file is never whole in
  memory. Past ``max_bytes`` it stops at once (``BlobTooLarge``); a source that fails or ends short of
  ``expected_size`` gives ``BlobIncomplete``. Either way nothing is left: the ciphertext goes to a
  temporary file that becomes the blob (atomic rename, or one S3 upload) only when complete, and the
  ``Blob`` row is written after that.
- ``open_blob(blob)`` / ``iter_blob(blob)`` decrypt as they read; a byte changed anywhere, a file
  swapped with another blob's or a wrong key raises ``DecryptionError`` (never garbage), an erased
  owner ``Erased``.
- Where: ``BLOB_BACKEND=local`` (``BLOB_DIR``, the default) or ``s3`` (any S3-compatible object
  storage, through django-storages). Objects are named by a random id only.

The associated data binds each file to its blob id and owner. Blobs written by Tink's own streaming
classes (before docs/decisions/0012) are the same bytes and read the same way.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files import File
from django.db import transaction

from cordee.vault import services, streaming
from cordee.vault.errors import BlobIncomplete, BlobTooLarge
from cordee.vault.models import Blob

CHUNK = 1 << 20  # 1 MiB, the segment size of the streaming keysets (what callers read at a time)


def _aad(blob: Blob) -> bytes:
    return f"cordee.vault.blob.v1\x00{blob.id}\x00{blob.owner_type}\x00{blob.owner_id}".encode()


class _Readable(io.RawIOBase):
    """A read-only raw stream over an object that only has ``read(n)`` (an S3 body)."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._inner.read(None if size is None or size < 0 else size) or b""

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._inner.close()
        super().close()


class LocalStore:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def incoming(self) -> tuple[BinaryIO, Path]:
        folder = self.root / ".incoming"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{secrets.token_hex(16)}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        return os.fdopen(fd, "wb", buffering=0), path

    def commit(self, incoming: tuple[BinaryIO, Path], name: str) -> None:
        handle, path = incoming
        os.fsync(handle.fileno())
        handle.close()
        final = self.path(name)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(path, final)
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self, incoming: tuple[BinaryIO, Path]) -> None:
        handle, path = incoming
        handle.close()
        path.unlink(missing_ok=True)

    def open(self, name: str) -> BinaryIO:
        return open(self.path(name), "rb", buffering=0)  # noqa: SIM115  (the caller closes it)

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()


class S3Store:
    """S3-compatible object storage through django-storages; an object appears only when complete."""

    kind = "s3"

    def __init__(self, spool_dir: Path, **options: Any) -> None:
        from storages.backends.s3 import S3Storage

        self.spool_dir = spool_dir
        self.storage = S3Storage(**options)

    def incoming(self) -> tuple[BinaryIO, None]:
        self.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # An unnamed temporary file: it vanishes on close, and with the process if it dies.
        return tempfile.TemporaryFile(dir=self.spool_dir), None  # noqa: SIM115  (closed by commit/discard)

    def commit(self, incoming: tuple[BinaryIO, None], name: str) -> None:
        handle = incoming[0]
        try:
            handle.seek(0)
            self.storage.save(name, File(handle, name=name))  # multipart upload, streamed from the file
        finally:
            handle.close()

    def discard(self, incoming: tuple[BinaryIO, None]) -> None:
        incoming[0].close()

    def open(self, name: str) -> BinaryIO:
        body = self.storage.bucket.Object(name).get()["Body"]  # streamed, never downloaded whole
        return _Readable(body)  # type: ignore[return-value]  # a binary stream (the reader buffers by segment)

    def delete(self, name: str) -> None:
        self.storage.delete(name)

    def exists(self, name: str) -> bool:
        return self.storage.exists(name)


@functools.lru_cache(maxsize=8)
def _store(kind: str, blob_dir: str, bucket: str, endpoint: str, region: str, access: str, secret: str) -> Any:
    if kind == "local":
        return LocalStore(Path(blob_dir))
    return S3Store(
        Path(blob_dir) / ".incoming",
        bucket_name=bucket,
        endpoint_url=endpoint or None,
        region_name=region or None,
        access_key=access or None,
        secret_key=secret or None,
        file_overwrite=True,  # names are random ids: never check for an existing object
        default_acl=None,
        querystring_auth=False,
    )


def get_store(kind: str | None = None) -> LocalStore | S3Store:
    return _store(
        kind or settings.BLOB_BACKEND,
        str(settings.BLOB_DIR),
        settings.BLOB_S3_BUCKET,
        settings.BLOB_S3_ENDPOINT_URL,
        settings.BLOB_S3_REGION,
        settings.BLOB_S3_ACCESS_KEY,
        settings.BLOB_S3_SECRET_KEY,
    )


def _source_reader(source: BinaryIO | Iterable[bytes], max_bytes: int) -> streaming.Reader:
    """A ``streaming.Reader`` over ``source`` that raises ``BlobTooLarge`` as soon as it passes ``max_bytes``.

    A file object is read straight into the encrypter's buffer (``readinto``), never more than one byte past
    the limit; the chunks of an iterable are copied once, and the chunk past the limit is the last one taken.
    """
    total = 0

    def too_large() -> BlobTooLarge:
        return BlobTooLarge(f"The file is larger than the limit of {max_bytes} bytes; nothing was stored.")

    readinto = getattr(source, "readinto", None)
    read = getattr(source, "read", None)
    if readinto is not None or read is not None:

        def from_file(view: memoryview) -> int:
            nonlocal total
            view = view[: max_bytes - total + 1]
            if readinto is not None:
                got = readinto(view)
            else:
                data = read(len(view))  # type: ignore[misc]  # read is set when readinto is not
                got = None if data is None else len(data)
                view[: got or 0] = data or b""
            if got is None:  # a non-blocking source with nothing to give: not a complete file
                raise BlobIncomplete("The file could not be read to its end (no data ready); nothing was stored.")
            total += got
            if total > max_bytes:
                raise too_large()
            return got

        return from_file

    chunks = iter(source)  # type: ignore[arg-type]  # an iterable of byte chunks (no read())
    pending = memoryview(b"")

    def from_chunks(view: memoryview) -> int:
        nonlocal total, pending
        while not pending:
            chunk = next(chunks, None)
            if chunk is None:
                return 0
            total += len(chunk)
            if total > max_bytes:
                raise too_large()
            pending = memoryview(chunk).cast("B")
        count = min(len(view), len(pending))
        view[:count] = pending[:count]
        pending = pending[count:]
        return count

    return from_chunks


def _writer(handle: BinaryIO) -> streaming.Writer:
    def write(view: memoryview) -> None:
        while view:  # a raw file may take part of a write
            written = handle.write(view)
            if written is None:
                raise BlockingIOError("the blob store's file took nothing")
            view = view[written:]

    return write


def store_blob(
    owner: Any, source: BinaryIO | Iterable[bytes], *, max_bytes: int, expected_size: int | None = None
) -> Blob:
    """Encrypt ``source`` for ``owner`` into the blob store; all or nothing."""
    owner_ref = services.ref(owner)
    key = services.streaming_keys_for(owner)[0]  # the primary key
    store = get_store()
    blob = Blob(owner_type=owner_ref.owner_type, owner_id=owner_ref.owner_id, backend=store.kind, size=0)
    incoming = store.incoming()
    try:
        try:
            blob.size = streaming.encrypt(key, _aad(blob), _source_reader(source, max_bytes), _writer(incoming[0]))
        except (OSError, ValueError) as exc:  # the upload was cut off (client gone, file closed…)
            raise BlobIncomplete(
                f"The file could not be read to its end ({type(exc).__name__}); nothing was stored."
            ) from exc
        if expected_size is not None and blob.size != expected_size:
            raise BlobIncomplete(
                f"The file ended after {blob.size} of {expected_size} announced bytes; nothing was stored."
            )
        store.commit(incoming, blob.name)  # type: ignore[arg-type]  # the temporary file is a named stream
    except BaseException:
        store.discard(incoming)  # type: ignore[arg-type]  # as above
        raise
    try:
        with transaction.atomic():
            blob.save(force_insert=True)
    except BaseException:
        store.delete(blob.name)
        raise
    return blob


def _reader(blob: Blob) -> streaming.DecryptingReader:
    keys = services.streaming_keys_for(services.OwnerRef(blob.owner_type, blob.owner_id), create=False)
    store = get_store(blob.backend)
    ciphertext = store.open(blob.name)
    try:
        return streaming.DecryptingReader(ciphertext, keys, _aad(blob), mapped=store.kind == "local")
    except BaseException:
        ciphertext.close()
        raise


def open_blob(blob: Blob) -> BinaryIO:
    """A readable stream of the clear bytes (use it as a context manager).

    ``read(n)`` gives at most ``n`` bytes and, for ``n`` of a segment or more, a whole segment without a
    copy; the header and the first segment are checked at the first read.
    """
    return _reader(blob)  # type: ignore[return-value]  # a raw binary stream (io.RawIOBase)


def iter_blob(blob: Blob, chunk_size: int | None = None) -> Iterator[bytes]:
    """The clear bytes in chunks (for a streaming HTTP response): by default one per segment (about
    1 MiB, as decrypted, no copy); ``chunk_size`` cuts them smaller."""
    with _reader(blob) as stream:
        if chunk_size is None:
            yield from (segment for segment in stream.segments() if segment)
        else:
            yield from iter(lambda: stream.read(chunk_size), b"")


def aiter_blob(blob: Blob) -> AsyncIterator[bytes]:
    """The clear bytes for an ASGI streaming response, a segment at a time.

    Django's ASGI handler reads a *synchronous* iterator whole into memory before sending it; this
    one is asynchronous, each segment read and decrypted in a worker thread while the previous one is
    sent, so a download holds about two segments in memory whatever its size. The keys are read and
    the header and first segment authenticated now, in the caller's thread (with its database
    connection): a file that fails there raises before any byte of the answer is sent, and the
    worker threads never touch the database. A later segment that fails authentication ends the
    answer short of its ``Content-Length`` (the client sees a broken transfer, never altered bytes).
    """
    reader = _reader(blob)
    try:
        segments = reader.segments()
        first = next(segments, b"")
    except BaseException:
        reader.close()
        raise

    def following() -> bytes | None:
        return next(segments, None)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            while True:
                segment = await sync_to_async(following, thread_sensitive=False)()
                if segment is None:
                    return
                if segment:
                    yield segment
        finally:
            await sync_to_async(reader.close, thread_sensitive=False)()

    return chunks()


def delete_blob(blob: Blob) -> None:
    """Remove the row now and the ciphertext once the transaction commits."""
    store, name = get_store(blob.backend), blob.name
    with transaction.atomic():
        blob.delete()
        transaction.on_commit(lambda: store.delete(name))
