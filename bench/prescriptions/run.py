"""Prescriptions benchmark: render + sign against render alone, QR verification, dispensing throughput.

Run: ``.venv/bin/python bench/prescriptions/run.py`` (``--n N`` samples). For each database (a SQLite
file with the production pragmas, and PostgreSQL if reachable, else skipped) a child process migrates
a fresh database, seeds the personas (Alice, Paula, Phil) and two BDPM products, then measures in the
same run, interleaved so that neither side gets a warmer machine:

- ``render``: the A4 PDF of a two-line prescription with its QR (ReportLab), unsigned;
- ``render_sign``: the same PDF then its PAdES signature (``cordee.signing``), i.e. what signing adds;
- ``qr_verify``: verifying the QR's COSE_Sign1 payload with the deployment's public key;
- ``dispense``: ``do_dispense`` of one unit at a time (conditional UPDATE + dispensation row + status
  + audit entry, one transaction each), sequential, on a line of 10 000 units: dispensings per second.

Report: bench/prescriptions/report.json and report.md. Aims (issue 14): signing adds ≤ 100 ms p50;
QR verification ≤ 5 ms p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_prescriptions"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(_pct(values, 0.99) * 1000, 2),
        "n": len(values),
    }


def child(n: int) -> dict[str, Any]:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from cordee import demo
    from cordee.drugs.models import Composition, Presentation, Product
    from cordee.prescriptions import pdf, signatures
    from cordee.prescriptions.demo import seed_pharmacist
    from cordee.prescriptions.services import drafts, signing
    from cordee.prescriptions.services.dispensing import Dispensing, do_dispense

    users = demo.seed(with_mfa=False)
    phil = seed_pharmacist(users, with_mfa=False)
    alice, patient = users["alice"], users["paula"].patient
    for cis, name, code, cip in (("60000001", "DOLIPRANE 500 mg", "2202", "3400930000011"),
                                 ("60000002", "ADVIL 200 mg", "1002", "3400930000028")):  # fmt: skip
        Product.objects.create(cis=cis, name=name, amm_status="Autorisation active", is_commercialised=True)
        Composition.objects.create(cis=cis, substance_code=code, substance_name=name, nature="SA")
        Presentation.objects.create(cip13=cip, cip7=cip[5:12], cis=cis, label="boîte")
    line = {"kind": "product", "dose": "1", "unit": "comprimé", "times": 3, "duration_days": 5, "quantity": 2}
    draft = drafts.do_create_draft(alice, patient.pk)
    drafts.do_add_line(alice, draft.pk, {**line, "code": "60000001"})
    drafts.do_add_line(alice, draft.pk, {**line, "code": "60000002"})
    day = timezone.localdate()
    lines = list(draft.lines.all())
    qr_text = signatures.sign_qr(signing.qr_payload(draft, lines, day))

    def render() -> bytes:
        return pdf.render(draft, qr_text=qr_text, signed_on=day)

    signatures.sign_pdf(render(), alice, reason="warm-up")  # certificate issued once, outside the timing
    runs: dict[str, list[float]] = {"render": [], "render_sign": [], "qr_verify": []}
    for i in range(n):
        for which in ("render", "render_sign") if i % 2 == 0 else ("render_sign", "render"):
            start = time.perf_counter()
            body = render()
            if which == "render_sign":
                signatures.sign_pdf(body, alice, reason="bench")
            runs[which].append(time.perf_counter() - start)
    for _ in range(n * 5):
        start = time.perf_counter()
        signatures.verify_qr(qr_text)
        runs["qr_verify"].append(time.perf_counter() - start)

    big = drafts.do_create_draft(alice, patient.pk)
    drafts.do_add_line(alice, big.pk, {**line, "code": "60000001", "quantity": 999})
    signed = signing.do_sign(alice, big.pk)
    target = signed.lines.get()
    count = min(999, n * 10)
    start = time.perf_counter()
    for _ in range(count):
        do_dispense(phil, signed.number, Dispensing(target.pk, 1))
    elapsed = time.perf_counter() - start
    summary = {name: _stats(values) for name, values in runs.items()}
    summary["signing_adds_p50_ms"] = round(summary["render_sign"]["p50_ms"] - summary["render"]["p50_ms"], 2)
    summary["render_sign/render_p50"] = round(summary["render_sign"]["p50_ms"] / summary["render"]["p50_ms"], 2)
    summary["dispense"] = {"count": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}
    return {"vendor": connection.vendor, **summary}


def _run_child(environment: dict[str, str], n: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--n", str(n)]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=3600)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _environment(data_dir: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings", DEBUG="1", CORDEE_DATA_DIR=data_dir, LOG_LEVEL="WARNING"
    )
    return environment


def _postgres(n: int, data_dir: str) -> dict[str, Any]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 (any failure to connect means: skip PostgreSQL)
        return {"skipped": f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"}
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
        admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        try:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
            return _run_child({**_environment(data_dir), "DATABASE_URL": url}, n)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Prescriptions benchmark",
        "",
        f"{report['generated_at']} · Python {report['python']} · {report['machine']} · {report['n']} samples each",
        "",
        "| database | render p50 / p99 (ms) | render+sign p50 / p99 (ms) | signing adds p50 (ms) "
        "| QR verify p50 / p99 (ms) | dispensings/s (sequential) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["databases"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | |")
            continue
        lines.append(
            f"| {name} | {r['render']['p50_ms']} / {r['render']['p99_ms']} "
            f"| {r['render_sign']['p50_ms']} / {r['render_sign']['p99_ms']} | {r['signing_adds_p50_ms']} "
            f"| {r['qr_verify']['p50_ms']} / {r['qr_verify']['p99_ms']} | {r['dispense']['per_second']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.n)))
        return
    databases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as sqlite_dir:
        databases["sqlite"] = _run_child(_environment(sqlite_dir), args.n)
    with tempfile.TemporaryDirectory() as pg_dir:
        databases["postgresql"] = _postgres(args.n, pg_dir)
    report = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "n": args.n,
        "databases": databases,
    }
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
