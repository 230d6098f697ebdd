"""The patient record's benchmark (issue 13): upload and download of a 20 MiB PDF against writing and
reading the same bytes unencrypted, in the same run; the timeline's p99 with 5,000 lines.

Run: ``.venv/bin/python bench/documents/run.py`` (``--mib N``, ``--lines N``, ``--runs N``). A fresh
SQLite database and data directory in a temporary folder (PostgreSQL: set ``DATABASE_URL`` to a
database of its own, it is migrated, never dropped); the demo personas; then, ``--runs`` times:

- ``upload``: ``documents.services.do_upload`` of the PDF from memory, 1 MiB reads: the whole
  path of a real upload but HTTP (type sniffing, Tink streaming encryption with Paula's key into the
  blob store with its fsync and rename, PDFium opening the file and rendering page 1, the preview
  stored, rows and audit entry) — and ``raw write``: the same bytes written 1 MiB at a time to a
  file of the same directory, fsync'd;
- ``download``: ``vault.blobs.iter_blob`` of the stored version (what the download view streams)
  — and ``raw read``: the raw file read back 256 KiB at a time;
- ``timeline``: the record page of Alice on Paula's record (``GET /dossier/patient/<id>/``, Django's
  test client: access check, audit entry, count, page of 30 lines with their titles decrypted,
  authors of the filter, template), 5,000 lines in the record, pages and filters drawn at random.

MB/s are MiB/s of clear data. Report: bench/documents/report.json and report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MIB = 1 << 20


def _pdf(mib: int) -> bytes:
    """A well-formed PDF of ``mib`` MiB: one page of text and an incompressible embedded stream
    (as the scanned images that make real PDFs large), with a proper cross-reference table."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 760, "Compte rendu d'imagerie — bench")
    page.showPage()
    page.save()
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(out.getvalue())).pages[0])
    blob = StreamObject()
    blob.set_data(os.urandom(mib * MIB - 4096))
    writer.pages[0][NameObject("/PieceInfo")] = writer._add_object(blob)
    final = io.BytesIO()
    writer.write(final)
    return final.getvalue()


def _mibs(seconds: float, size: int) -> float:
    return size / MIB / seconds


def _raw(data: bytes, folder: Path) -> tuple[float, float]:
    path = folder / "raw.bin"
    os.sync()
    start = time.perf_counter()
    with open(path, "wb", buffering=0) as handle:
        for offset in range(0, len(data), MIB):
            handle.write(data[offset : offset + MIB])
        os.fsync(handle.fileno())
    write = time.perf_counter() - start
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while handle.read(256 << 10):
            pass
    read = time.perf_counter() - start
    path.unlink()
    return _mibs(write, len(data)), _mibs(read, len(data))


def _fill(patient, alice, lines: int) -> None:
    from django.utils import timezone

    from cordee.audit.services import actor_display
    from cordee.documents.models import DocumentType, RecordItem

    now, display, types = timezone.now(), actor_display(alice), DocumentType.values
    items = [
        RecordItem(
            patient=patient,
            kind="document" if n % 3 else "message",
            doc_type=types[n % len(types)] if n % 3 else "",
            title=f"Document n° {n} du dossier" if n % 3 else None,
            occurred_at=now - dt.timedelta(hours=n),
            author=alice,
            author_display=display,
            target_type="bench.item",
            target_id=str(n),
            link_id="" if n % 3 else "1",
        )
        for n in range(lines)
    ]
    RecordItem.objects.bulk_create(items, batch_size=500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cordee-bench-documents-"))
    os.environ.update(DEBUG="1", CORDEE_DATA_DIR=str(folder), CORDEE_PLAIN_STATIC="1", API_RATE_LIMITS="")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from cordee import demo
    from cordee.documents.services import Upload, do_upload
    from cordee.vault.blobs import iter_blob
    from tests.conftest import login_as

    settings.ALLOWED_HOSTS = ["*"]
    settings.DOCUMENTS_MAX_BYTES = max(settings.DOCUMENTS_MAX_BYTES, (args.mib + 1) * MIB)
    call_command("migrate", verbosity=0)
    users = demo.seed(with_mfa=False)
    alice, patient = users["alice"], users["paula"].patient
    data = _pdf(args.mib)

    rows: dict[str, list[float]] = {"upload": [], "raw_write": [], "download": [], "raw_read": []}
    for _run in range(args.runs):
        os.sync()
        start = time.perf_counter()
        document = do_upload(
            alice,
            patient.pk,
            Upload(io.BytesIO(data), len(data), "bench.pdf"),
            doc_type="cr_imagerie",
            title="Scanner thoracique",
            act_date="2026-01-02",
        )
        rows["upload"].append(_mibs(time.perf_counter() - start, len(data)))
        version = document.versions.get()
        assert version.preview == "pdf", version.preview
        start = time.perf_counter()
        received = 0
        for chunk in iter_blob(version.blob):
            received += len(chunk)
        rows["download"].append(_mibs(time.perf_counter() - start, len(data)))
        assert received == len(data)
        raw_write, raw_read = _raw(data, Path(settings.BLOB_DIR))
        rows["raw_write"].append(raw_write)
        rows["raw_read"].append(raw_read)

    _fill(patient, alice, args.lines)
    client = Client()
    login_as(client, alice)
    url = f"/dossier/patient/{patient.pk}/"
    client.get(url)
    pages = max(1, args.lines // 30)
    chooser = random.Random(13)
    timings = []
    for _request in range(args.requests):
        params = {"page": chooser.randint(1, pages)}
        if chooser.random() < 0.3:
            params = {"type": chooser.choice(["courrier", "biologie", "message"])}
        start = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    timings.sort()

    def summary(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "file_mib": args.mib,
        "runs": args.runs,
        "mib_per_s": {name: summary(values) for name, values in rows.items()},
        "ratios": {
            "upload_vs_raw_write": statistics.median(rows["upload"]) / statistics.median(rows["raw_write"]),
            "download_vs_raw_read": statistics.median(rows["download"]) / statistics.median(rows["raw_read"]),
        },
        "timeline": {
            "lines": args.lines,
            "requests": args.requests,
            "p50_ms": timings[len(timings) // 2],
            "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
            "max_ms": timings[-1],
        },
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    speeds = report["mib_per_s"]
    lines = [
        "# bench/documents",
        "",
        f"{report['when']} · {report['machine']} · {report['database']} · {args.mib} MiB PDF, {args.runs} runs",
        "",
        "| measure | MiB/s median | min | max |",
        "|---|---|---|---|",
        *(f"| {name} | {s['median']:.1f} | {s['min']:.1f} | {s['max']:.1f} |" for name, s in speeds.items()),
        "",
        f"Upload / raw write: **{report['ratios']['upload_vs_raw_write']:.0%}** · "
        f"download / raw read: **{report['ratios']['download_vs_raw_read']:.0%}**",
        "",
        f"Timeline (record page, {args.lines} lines, {args.requests} requests): p50 "
        f"{report['timeline']['p50_ms']:.1f} ms, **p99 {report['timeline']['p99_ms']:.1f} ms**, "
        f"max {report['timeline']['max_ms']:.1f} ms",
        "",
    ]
    (HERE / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
