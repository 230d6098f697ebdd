"""Running a library import: every file read, its records stored by batches, progress saved.

A file is read as PubMed XML (``.xml``, ``.xml.gz``, ``.gz``) or MEDLINE text (``.nbib``,
``.txt``), or by its first bytes otherwise. A file refused as a whole (not XML, not PubMed, an
entity declaration) is reported and the next one is read. A damaged file (truncated, malformed)
keeps every complete record before the damage, and its report says where it stopped (line and
column). Records without a usable PMID are listed with their number in the file. Nothing is
dropped without a line in the report.

A file of ``PROCESS_FROM_BYTES`` or more is parsed and prepared by a process of its own
(``pubmed.reader.read_prepared``) while this one writes; a smaller one by a thread
(``read_ahead``), which costs nothing to start.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Full, Queue
from typing import Any

from django.utils.translation import gettext as _

from cordee.library import store
from cordee.library.models import ImportRun
from cordee.library.pubmed.reader import can_start, read_prepared, read_records
from cordee.library.pubmed.records import Record
from cordee.library.pubmed.rows import Prepared, prepare
from cordee.library.pubmed.xml import Deleted, Refused, Skipped, Stopped, open_source

BATCH = 500
PROCESS_FROM_BYTES = 2 * 1024 * 1024  # a smaller file is read by a thread (a process costs ~0.1 s to start)
MAX_SKIPPED_LISTED = 200
SUFFIXES = (".xml", ".xml.gz", ".gz", ".nbib", ".txt")


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".nbib", ".txt")):
        return "medline"
    if name.endswith((".xml", ".gz")):
        return "xml"
    with open_source(path) as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf \r\n\t")
    return "medline" if head.startswith(b"PMID") else "xml"


_DONE = object()


def read_ahead(
    items: Iterator[Any], chunk: int = 100, depth: int = 20, *, transform: Callable[[Any], Any] | None = None
) -> Iterator[Any]:
    """``items`` (each passed through ``transform``), read by a thread of their own while the
    caller stores the previous ones.

    Parsing and preparing the rows are Python; storing mostly waits on the database (SQLite
    indexes in C without the GIL, PostgreSQL in its own process): reading ahead overlaps the two.
    The thread never touches the database. An exception of the reader is raised here, at the
    point the caller reached."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put(value, timeout=0.5)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        buffer: list[Any] = []
        try:
            for item in items:
                buffer.append(transform(item) if transform is not None else item)
                if len(buffer) >= chunk:
                    if not put(buffer):
                        return
                    buffer = []
            put(buffer)
            put(_DONE)
        except BaseException as exc:  # handed over to the caller, raised there
            put(buffer)
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the file, when the caller stopped early

    thread = threading.Thread(target=produce, name="library-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            value = queue.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield from value
    finally:
        stop.set()
        thread.join(timeout=5)


class Import:
    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.totals: Counter = Counter()

    def execute(self) -> None:
        paths = [Path(p) for p in self.run.paths]
        self.run.files_total = len(paths)
        self.run.report = {"files": [], "counts": {}}
        self._save("files_total", "report")
        for path in paths:
            self.run.report["files"].append(self._file(path))
            self.run.files_done += 1
            self.run.report["counts"] = dict(self.totals)
            self._save("files_done", "report")

    def _file(self, path: Path) -> dict[str, Any]:
        started = time.monotonic()
        self.run.current_file = path.name[:255]
        self._save("current_file")
        entry: dict[str, Any] = {"name": path.name, "records": 0, "skipped": [], "stopped": None}
        counts: Counter = Counter()
        batch: list[Prepared] = []

        def prepared(item: Any) -> Any:  # in the reader thread: JSON, fingerprint, text of each record
            return prepare(item, path.name) if isinstance(item, Record) else item

        try:
            entry["format"] = kind = file_format(path)
            if path.stat().st_size >= PROCESS_FROM_BYTES and can_start():
                items = read_ahead(read_prepared(path, kind, path.name))  # the pipe drained while writing
            else:
                items = read_ahead(read_records(path, kind), transform=prepared)
            for item in items:
                if isinstance(item, Prepared):
                    batch.append(item)
                    entry["records"] += 1
                    if len(batch) >= BATCH:
                        counts += self._flush(batch)
                elif isinstance(item, Deleted):
                    counts += self._flush(batch)
                    counts["deleted"] += store.withdraw(item.pmids)
                    counts["delete_listed"] += len(item.pmids)
                elif isinstance(item, Skipped):
                    counts["skipped"] += 1
                    if len(entry["skipped"]) < MAX_SKIPPED_LISTED:
                        entry["skipped"].append([item.line, item.reason[:300]])
                elif isinstance(item, Stopped):
                    entry["stopped"] = {"reason": item.reason[:500], "line": item.line, "column": item.column}
            counts += self._flush(batch)
        except Refused as exc:
            counts += self._flush(batch)
            entry["error"] = str(exc)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            counts += self._flush(batch)
            entry["error"] = _("Cannot read the file: %(e)s") % {"e": getattr(exc, "strerror", None) or exc}
        entry.update({k: counts[k] for k in ("created", "updated", "unchanged", "older", "duplicate", "deleted")})
        entry["seconds"] = round(time.monotonic() - started, 2)
        self.totals += counts
        self.totals["files_stopped"] += 1 if entry["stopped"] or entry.get("error") else 0
        return entry

    def _flush(self, batch: list[Prepared]) -> Counter:
        if not batch:
            return Counter()
        counts = store.store_prepared(batch)
        self.run.records_read += len(batch)
        batch.clear()
        self._save("records_read")
        return counts

    def _save(self, *fields: str) -> None:
        self.run.save(update_fields=list(fields))
