"""What a browser sends: one DICOM file, or a ZIP of them (a patient's CD, its DICOMDIR tree).

A ZIP is read entry by entry within limits (``IMAGING_ZIP_*``): number of entries, total bytes once
inflated, inflation ratio of each entry (a ZIP bomb stops at the first entry past them, counted
while inflating, not from the announced sizes), and names that would climb out of the archive
(``..``, absolute paths, drive letters) are refused. Folders, the DICOMDIR index and the CD's
other files (autorun, viewer software) are skipped; every DICOM entry goes through ``do_ingest``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings

from cordee.imaging import refusals
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.services.ingest import Stored, do_ingest

READ = 64 * 1024


@dataclass
class Outcome:
    stored: int = 0
    duplicates: int = 0
    no_preview: int = 0
    skipped: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)  # {"code", "message"}: no file names
    studies: set[int] = field(default_factory=set)

    def add(self, result: Stored) -> None:
        self.studies.add(result.study.pk)
        if result.duplicate:
            self.duplicates += 1
        else:
            self.stored += 1
            if not result.instance.previewable and result.instance.frames:
                self.no_preview += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "no_preview": self.no_preview,
            "skipped": self.skipped,
            "refused": self.refused,
            "studies": sorted(self.studies),
        }


def is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def zip_entries(data: bytes | BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each file of the ZIP (bytes, or a seekable file read entry by entry), within
    the limits (``DicomRefused`` past them)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes | bytearray) else data)
    except (zipfile.BadZipFile, ValueError):
        raise DicomRefused("bad_zip", "This ZIP archive cannot be read.") from None
    infos = archive.infolist()
    if len(infos) > settings.IMAGING_ZIP_MAX_ENTRIES:
        raise DicomRefused("zip_too_many", f"This ZIP holds more than {settings.IMAGING_ZIP_MAX_ENTRIES} entries.")
    total = 0
    for info in infos:
        if unsafe_name(info.filename):
            raise DicomRefused("zip_path", "This ZIP names a file outside the archive (path traversal).")
        if info.is_dir():
            continue
        out = bytearray()
        try:
            with archive.open(info) as entry:
                while chunk := entry.read(READ):
                    out += chunk
                    total += len(chunk)
                    if total > settings.IMAGING_ZIP_MAX_TOTAL_BYTES:
                        raise DicomRefused("zip_bomb", "This ZIP inflates past the total size allowed.")
                    if len(out) > settings.IMAGING_MAX_FILE_BYTES:
                        raise DicomRefused("too_large", "A file of this ZIP is larger than the limit.")
                    if len(out) > 1024 * 1024 and len(out) > settings.IMAGING_ZIP_MAX_RATIO * max(
                        info.compress_size, 1
                    ):
                        raise DicomRefused("zip_bomb", "A file of this ZIP inflates beyond the ratio allowed.")
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
            raise DicomRefused("bad_zip", "This ZIP archive cannot be read (damaged or encrypted).") from None
        yield info.filename, bytes(out)


def ingest_upload(data: bytes | BinaryIO, **kwargs: Any) -> Outcome:
    """One uploaded file (bytes, or a seekable file: a ZIP is then read an entry at a time): a ZIP
    is opened, anything else is one DICOM file. A refused entry of a ZIP does not stop the others;
    a refused single file is reported in the outcome too."""
    outcome = Outcome()
    head = bytes(data[:4]) if isinstance(data, bytes | bytearray) else data.read(4)
    if not isinstance(data, bytes | bytearray):
        data.seek(0)
    if not is_zip(head):
        # One DICOM file: parsed whole by pydicom anyway (it holds at most IMAGING_MAX_FILE_BYTES).
        whole = bytes(data) if isinstance(data, bytes | bytearray) else data.read(settings.IMAGING_MAX_FILE_BYTES + 1)
        _one(whole, outcome, kwargs)
        return outcome
    for name, entry in zip_entries(data):
        base = name.replace("\\", "/").rsplit("/", 1)[-1].upper()
        if base == "DICOMDIR" or len(entry) < 132 or entry[128:132] != b"DICM":
            outcome.skipped += 1  # the CD's index, its viewer software, autorun…
            continue
        _one(entry, outcome, kwargs)
    return outcome


def _one(data: bytes, outcome: Outcome, kwargs: dict[str, Any]) -> None:
    try:
        outcome.add(do_ingest(data, **kwargs))
    except DicomRefused as refusal:
        if refusal.code == "dicomdir":
            outcome.skipped += 1
        else:
            outcome.refused.append({"code": refusal.code, "message": refusals.text(refusal)})
