"""Reading a file's records, in a process of its own for a large file.

``read_records`` gives a file's items (records, deletions, skips, a stop) and raises ``Refused``
or a read error where the file fails. ``read_prepared`` gives the same items with each record
already ``rows.prepare``d, read by a child process (``python -m cordee.library.pubmed.reader``)
while the caller writes: parsing and preparing are Python, and in a thread of the writing
process they shared its GIL with the database driver, which bounded an import near a third of
the parsing speed (bench/library). The child imports nothing of Django and never touches the
database; it sends its items in frames (a length, then a ``marshal``led list of plain tuples)
on its standard output, whose pipe holds the reading back when the writer lags (constant
memory). An error of the file is sent as the last frame and raised again in the caller, after
every item read before it, as the reading thread did.
"""

from __future__ import annotations

import gc
import gzip
import marshal
import os
import subprocess  # noqa: S404  # our own module, run by this interpreter
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cordee.library.pubmed.medline import read_medline
from cordee.library.pubmed.records import Record
from cordee.library.pubmed.rows import Prepared, prepare
from cordee.library.pubmed.xml import Deleted, Refused, Skipped, Stopped, open_source, read_xml

CHUNK = 100  # items per frame
_LENGTH = 4


def read_records(path: Path, kind: str) -> Iterator[Record | Deleted | Skipped | Stopped]:
    """The items of a file (``kind``: "xml" or "medline") as a generator; ``Refused`` early."""
    handle = open_source(path)
    try:
        yield from (read_xml(handle) if kind == "xml" else read_medline(handle))
    finally:
        handle.close()


# -- the child ---------------------------------------------------------------------------------


def _encode(item: Any, source: str) -> tuple:
    if isinstance(item, Record):
        ready = prepare(item, source)
        return ("p", ready.pmid, ready.rank, ready.values, ready.terms)
    if isinstance(item, Deleted):
        return ("d", item.pmids, item.line)
    if isinstance(item, Skipped):
        return ("s", item.reason, item.line)
    if isinstance(item, Stopped):
        return ("t", item.reason, item.line, item.column)
    raise TypeError(type(item).__name__)


def _error(exc: BaseException) -> tuple:
    if isinstance(exc, Refused):
        return ("x", "refused", str(exc), 0)
    if isinstance(exc, gzip.BadGzipFile):  # before OSError, of which it is one
        return ("x", "gzip", str(exc), 0)
    if isinstance(exc, OSError):
        return ("x", "os", exc.strerror or str(exc), exc.errno or 0)
    if isinstance(exc, EOFError):
        return ("x", "eof", str(exc), 0)
    return ("x", "bug", f"{type(exc).__name__}: {exc}", 0)


def _write(out: IO[bytes], items: list) -> None:
    data = marshal.dumps(items)
    out.write(len(data).to_bytes(_LENGTH, "big"))
    out.write(data)


def child(path: Path, kind: str, source: str) -> None:
    """Read ``path`` and write its prepared items to standard output (the caller's pipe)."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not break the frames
    gc.freeze()  # the modules loaded: collections then walk only what the reading makes
    buffer: list = []
    try:
        try:
            for item in read_records(path, kind):
                buffer.append(_encode(item, source))
                if len(buffer) >= CHUNK:
                    _write(out, buffer)
                    buffer = []
            buffer.append(("end",))
        except BrokenPipeError:
            raise
        except Exception as exc:  # sent to the caller, which raises it again
            buffer.append(_error(exc))
        _write(out, buffer)
        out.flush()
    except BrokenPipeError:  # the caller stopped reading (it stopped the import): nothing to say
        os._exit(0)


# -- the caller --------------------------------------------------------------------------------


def _decode(frame: tuple) -> Any:
    tag = frame[0]
    if tag == "p":  # marshal gives the tuples back as tuples: (version, revised), (kind, value)
        return Prepared(frame[1], frame[2], frame[3], frame[4])
    if tag == "d":
        return Deleted(frame[1], frame[2])
    if tag == "s":
        return Skipped(frame[1], frame[2])
    if tag == "t":
        return Stopped(frame[1], frame[2], frame[3])
    raise ValueError(tag)


def _raise(kind: str, message: str, errno: int) -> None:
    if kind == "refused":
        raise Refused(message)
    if kind == "gzip":
        raise gzip.BadGzipFile(message)
    if kind == "os":
        raise OSError(errno, message) if errno else OSError(message)
    if kind == "eof":
        raise EOFError(message)
    raise RuntimeError(f"library reader process: {message}")


def can_start() -> bool:
    """Whether this interpreter can start the reader process (an embedded Python may have no
    ``sys.executable``): the importer reads in a thread otherwise."""
    return bool(sys.executable) and os.access(sys.executable, os.X_OK)


def read_prepared(path: Path, kind: str, source: str) -> Iterator[Prepared | Deleted | Skipped | Stopped]:
    """The items of ``path``, records ``prepare``d, read by a child process while the caller works.

    Raises what reading the file raised (``Refused``, ``OSError``…) after the items before it;
    a child that dies without its last frame is an ``OSError``. Closing the generator early
    stops the child."""
    root = str(Path(__file__).resolve().parents[3])  # the directory holding the cordee package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    process = subprocess.Popen(  # noqa: S603  # this interpreter, our module, the file's path
        [sys.executable, "-m", "cordee.library.pubmed.reader", str(path), kind, source],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=env,
    )
    stream: IO[bytes] = process.stdout  # type: ignore[assignment]  # PIPE: always a stream
    ended = False
    try:
        while not ended:
            head = stream.read(_LENGTH)
            if len(head) < _LENGTH:
                raise OSError(f"the reader process stopped (exit code {process.wait()})")
            data = stream.read(int.from_bytes(head, "big"))
            for frame in marshal.loads(data):  # noqa: S302  # written by our own child just above
                if frame[0] in ("end", "x"):
                    ended = True  # its last frame: the child is exiting
                    if frame[0] == "x":
                        _raise(frame[1], frame[2], frame[3])
                    break
                yield _decode(frame)
    finally:
        try:
            process.wait(timeout=5 if ended else 0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stream.close()


if __name__ == "__main__":
    child(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
