"""Signing benchmark (issue 14): what a PAdES signature adds to producing a prescription's PDF, and the
cost of verifying a signed QR payload.

Run: ``.venv/bin/python bench/signing/run.py`` (``--pdfs N``, ``--qrs N``). A fresh SQLite database
and data directory (new CA and QR key) in a temporary folder; the demo personas; Alice's certificate
is issued by a warm-up signature (not timed). Then, 3 repetitions, each in the same run:

- ``unsigned``: render a one-page A4 prescription-like PDF with reportlab (about 30 lines of text and
  the QR code of a signed payload as a PNG) — the baseline;
- ``signed``: the same rendering, then ``pades.sign_pdf`` as Alice (her current certificate read,
  its key unsealed from the vault, PAdES B-B by pyHanko, the audit entry in its transaction);
  the two are interleaved, one of each per iteration, so that noise falls on both alike;
- ``sign_only``: ``pades.sign_pdf`` of an already rendered PDF (the cost of the signature alone), and
  ``pyhanko_only``: pyHanko's ``sign_pdf`` of the same PDF with a signer built once (no certificate
  look-up, no audit entry: the floor that Cordée's wrapper adds to);
- ``validate``: ``pades.validate_pdf`` of a signed PDF (what the pharmacist's page runs);
- ``qr_sign`` / ``qr_verify``: ``qr.sign_qr_payload`` (with its audit entry) and
  ``qr.verify_qr_payload`` of a prescription-sized payload (4 lines).

Report: bench/signing/report.json and report.md (p50/p99 per repetition, median of the 3).
Aims: signing adds ≤ 100 ms at p50; QR verification ≤ 5 ms at p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REPETITIONS = 3
MEASURES = ("unsigned", "signed", "sign_only", "pyhanko_only", "validate", "qr_sign", "qr_verify")

PAYLOAD = {
    "v": 1,
    "id": "01JF8Y4K7W3M2Q9X5R6T8V0B1C",
    "d": "2026-12-03",
    "ps": "10000000009",
    "pt": ["P", "D", 1980],
    "r": 2,
    "l": [
        ["3400930000000", 2, 0],
        ["3400935955838", 1, 0],
        ["sub:1234", 3, 1],
        ["3400936403116", 1, 0],
    ],
}


def _render(qr_png: bytes) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont("Helvetica-Bold", 14)
    page.drawString(20 * mm, 275 * mm, "Dr Alice Martin — Médecin généraliste — RPPS 10000000009")
    page.setFont("Helvetica", 10)
    for n in range(30):
        page.drawString(
            20 * mm, (260 - n * 6) * mm, f"{n + 1}. Paracétamol 1 g, 1 comprimé 3 fois par jour pendant 5 jours"
        )
    page.drawImage(ImageReader(io.BytesIO(qr_png)), 160 * mm, 15 * mm, 35 * mm, 35 * mm)
    page.showPage()
    page.save()
    return out.getvalue()


def _pyhanko_only(pdf: bytes, signer: Any) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name="Signature", reason="Prescription", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return signers.sign_pdf(writer, metadata, signer=signer, bytes_reserved=8192).getvalue()  # type: ignore[no-any-return]  # BytesIO


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
    }


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=200, help="PDFs of each kind per repetition")
    parser.add_argument("--qrs", type=int, default=1000, help="QR payloads signed and verified per repetition")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cordee-bench-signing-"))
    os.environ.update(DEBUG="1", CORDEE_DATA_DIR=str(folder), CORDEE_PLAIN_STATIC="1", AUDIT_CHECKPOINT_COPY="")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from cordee import demo
    from cordee.signing import backends, pades, qr

    settings.DEBUG = False  # DEBUG=1 only created the keys; no query logging while timing
    call_command("migrate", verbosity=0)
    alice = demo.seed(with_mfa=False)["alice"]

    text = qr.sign_qr_payload(PAYLOAD)
    png = qr.qr_png(text, scale=4)
    signed = pades.sign_pdf(_render(png), alice, reason="Prescription")  # warm-up: issues the certificate
    assert pades.validate_pdf(signed).valid

    rendered = _render(png)
    pyhanko_signer, _details = backends.backend().pdf_signer(alice)
    repetitions: list[dict[str, dict[str, float]]] = []
    for _repetition in range(REPETITIONS):
        timings: dict[str, list[float]] = {name: [] for name in MEASURES}
        for _n in range(args.pdfs):
            _pdf, ms = _timed(_render, png)
            timings["unsigned"].append(ms)
            start = time.perf_counter()
            signed = pades.sign_pdf(_render(png), alice, reason="Prescription", location="Lyon")
            timings["signed"].append((time.perf_counter() - start) * 1000)
            _pdf, ms = _timed(pades.sign_pdf, rendered, alice, reason="Prescription", location="Lyon")
            timings["sign_only"].append(ms)
            _pdf, ms = _timed(_pyhanko_only, rendered, pyhanko_signer)
            timings["pyhanko_only"].append(ms)
        for _n in range(max(1, args.pdfs // 4)):
            result, ms = _timed(pades.validate_pdf, signed)
            assert result.valid
            timings["validate"].append(ms)
        for _n in range(args.qrs):
            text, ms = _timed(qr.sign_qr_payload, PAYLOAD)
            timings["qr_sign"].append(ms)
            payload, ms = _timed(qr.verify_qr_payload, text)
            assert payload == PAYLOAD
            timings["qr_verify"].append(ms)
        repetitions.append({name: _percentiles(values) for name, values in timings.items()})

    def median_of(name: str, key: str) -> float:
        return statistics.median(rep[name][key] for rep in repetitions)

    summary = {
        name: {key: median_of(name, key) for key in ("p50", "p99", "max")}
        | {"p50_spread": [min(rep[name]["p50"] for rep in repetitions), max(rep[name]["p50"] for rep in repetitions)]}
        for name in MEASURES
    }
    added_p50 = summary["signed"]["p50"] - summary["unsigned"]["p50"]
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "pdfs_per_repetition": args.pdfs,
        "qrs_per_repetition": args.qrs,
        "repetitions": REPETITIONS,
        "pdf_bytes": {"unsigned": len(_render(png)), "signed": len(signed)},
        "qr": {"characters": len(text), "version": __import__("segno").make_qr(text, error="m").version},
        "ms": summary,
        "signing_added_ms_p50": added_p50,
        "signing_added_ms_p99": summary["signed"]["p99"] - summary["unsigned"]["p99"],
        "signed_vs_unsigned_p50": summary["signed"]["p50"] / summary["unsigned"]["p50"],
        "aims": {
            "signing_adds_at_most_100ms_p50": added_p50 <= 100,
            "qr_verify_at_most_5ms_p50": summary["qr_verify"]["p50"] <= 5,
        },
        "per_repetition": repetitions,
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        "# bench/signing",
        "",
        f"{report['when']} · {report['machine']} · {report['database']} · "
        f"{args.pdfs} PDFs and {args.qrs} QR payloads per repetition, {REPETITIONS} repetitions (medians)",
        "",
        "| measure | p50 ms | p99 ms | max ms | p50 spread |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {s['p50']:.2f} | {s['p99']:.2f} | {s['max']:.2f} | "
            f"{s['p50_spread'][0]:.2f}–{s['p50_spread'][1]:.2f} |"
            for name, s in summary.items()
        ),
        "",
        f"Signing adds **{added_p50:.1f} ms** at p50 (signed / unsigned: **{report['signed_vs_unsigned_p50']:.2f}×**; "
        f"aim ≤ 100 ms: {'met' if report['aims']['signing_adds_at_most_100ms_p50'] else 'NOT met'}). "
        f"QR verification p50 **{summary['qr_verify']['p50']:.2f} ms** (aim ≤ 5 ms: "
        f"{'met' if report['aims']['qr_verify_at_most_5ms_p50'] else 'NOT met'}). "
        f"PDF {report['pdf_bytes']['unsigned']} → {report['pdf_bytes']['signed']} bytes; "
        f"QR text {report['qr']['characters']} characters (version {report['qr']['version']}, level M).",
        "",
    ]
    (HERE / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
