"""Imaging benchmark (issue 16), every figure against a baseline measured in the same run.

Run: ``.venv/bin/python bench/imaging/run.py`` (``--instances N``, ``--runs N``). A fresh SQLite
database and data directory in a temporary folder, the demo personas, then:

- ``C-STORE ingest``: the same N synthetic 512×512 CT instances (16-bit, 512 KiB each) sent over
  one association by a pynetdicom SCU of this process to (a) Cordée's receiver, ``manage.py
  dicom_receiver`` in a process of its own (parse, validate, encrypt with the study's key, index,
  audit, commit before answering), and (b) **Orthanc** (Debian package, ``Orthanc`` started on
  loopback with its own port and storage folder, default SQLite index) — instances/s and MB/s.
- ``first frame``: a 512×512 CT and a 1024×1024 JPEG 2000 (lossless) MR in the viewer as people
  get them: Chromium (Playwright) opens the study page of a uvicorn server on loopback, ``--runs``
  times each; Cornerstone3D asks for ``frames/1`` (access check, blob decrypted or taken from the
  decrypted-instance cache, the frame sent undecoded) and decodes it in its worker (WebAssembly
  OpenJPEG for the MR). Reported p50/p99: the viewer's own measure from asking for the series to its
  first frame drawn, and from the page's navigation to that moment; beside them the server's part
  alone (``GET …/frames/1`` over HTTP) and, as the same run's baseline, pydicom decoding the same
  frame on the server (what the first viewer did for every frame).
- ``upload``: a ZIP of the N instances sent to a uvicorn server on loopback with the page's
  chunked protocol (4 MiB chunks, each encrypted at once; the ZIP ingested at the end) — against
  copying the same bytes to a file of the same disk (fsync'd).

Report: bench/imaging/report.json and report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MIB = 1 << 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _ct(n: int, study: str, series: str, size: int = 512) -> bytes:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "BENCH^Patient", "BENCH1", "19700101"
    ds.Modality, ds.StudyDescription, ds.StudyDate = "CT", "Bench", "20260101"
    ds.SeriesNumber, ds.InstanceNumber = 1, n + 1
    ds.Rows = ds.Columns = size
    ds.PixelSpacing = [0.7, 0.7]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    rng = np.random.default_rng(n)
    ds.PixelData = rng.integers(0, 2000, (size, size), dtype=np.int16).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _j2k_mr() -> bytes:
    import numpy as np
    from pydicom.uid import JPEG2000Lossless, MRImageStorage

    ds_bytes = _ct(0, "1.2.826.0.1.3680043.8.498.900", "1.2.826.0.1.3680043.8.498.901", size=1024)
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(ds_bytes))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.Modality = "MR"
    y, x = np.mgrid[:1024, :1024]
    arr = ((np.sin(x / 40) + np.cos(y / 55)) * 800 + 1500).astype(np.uint16)
    ds.PixelRepresentation, ds.BitsStored, ds.HighBit = 0, 12, 11
    del ds.RescaleIntercept, ds.RescaleSlope
    ds.compress(JPEG2000Lossless, (arr & 0x0FFF), encoding_plugin="pylibjpeg")
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _send(port: int, called: str, calling: str, files: list[bytes]) -> float:
    """Seconds to C-STORE every file over one association (answers checked)."""
    import pydicom
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage

    datasets = [pydicom.dcmread(io.BytesIO(data)) for data in files]
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 120
    started = time.perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    if not assoc.is_established:
        raise RuntimeError(f"{called}: association refused")
    for ds in datasets:
        status = assoc.send_c_store(ds)
        if getattr(status, "Status", None) != 0:
            raise RuntimeError(f"{called}: C-STORE answered {status}")
    assoc.release()
    return time.perf_counter() - started


def _orthanc(folder: Path, files: list[bytes]) -> dict:
    exe = shutil.which("Orthanc")
    if exe is None:
        return {"skipped": "Orthanc is not installed (apt-get install orthanc)"}
    dicom_port, http_port = _free_port(), _free_port()
    storage = folder / "orthanc"
    storage.mkdir()
    config = {
        "Name": "bench",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "Plugins": [],
        "StorageCompression": False,
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [exe, str(folder / "orthanc.json")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(dicom_port)
        seconds = _send(dicom_port, "ORTHANC", "BENCH", files)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "seconds": seconds,
        "version": subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split("\n")[0],
    }


def _cordee_receiver(folder: Path, files: list[bytes], structure_id: int, env: dict) -> dict:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "dicom_receiver", "--port", str(port)],
        cwd=ROOT,
        env={**env, "DICOM_CALLING_AE_TITLES": f"BENCH={structure_id}", "DICOM_AE_TITLE": "CORDEE"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        seconds = _send(port, "CORDEE", "BENCH", files)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"seconds": seconds}


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "n": len(ordered),
    }


def _quiet() -> None:
    import logging

    for name in ("pynetdicom", "openjpeg"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30, help="viewer page loads per image")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cordee-bench-imaging-"))
    env = {
        **os.environ,
        "DEBUG": "1",
        "CORDEE_DATA_DIR": str(folder),
        "CORDEE_PLAIN_STATIC": "1",
        "API_RATE_LIMITS": "",
        "DJANGO_SETTINGS_MODULE": "cordee.settings",
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "AUDIT_CHECKPOINT_COPY": "",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    _quiet()
    from django.core.management import call_command

    from cordee import demo

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    users = demo.seed(with_mfa=False)
    structure_id = users["alice"].memberships.get().structure_id

    from pydicom.uid import generate_uid

    study, series = generate_uid(), generate_uid()
    files = [_ct(n, study, series) for n in range(args.instances)]
    total = sum(len(f) for f in files)
    report: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "instances": args.instances,
        "bytes": total,
    }

    # 1. C-STORE: Orthanc, then Cordée (fresh UIDs for Cordée: the same instance twice is stored once).
    orthanc = _orthanc(folder, files)
    cordee = _cordee_receiver(folder, files, structure_id, env)
    for result in (orthanc, cordee):
        if "seconds" in result:
            result["instances_per_s"] = round(args.instances / result["seconds"], 1)
            result["mb_per_s"] = round(total / MIB / result["seconds"], 1)
    report["cstore"] = {"orthanc": orthanc, "cordee": cordee}
    if "seconds" in orthanc:
        report["cstore"]["cordee_vs_orthanc"] = round(orthanc["seconds"] / cordee["seconds"], 2)

    # 2. First frame, in Chromium (see the module).
    report["first_frame"] = _first_frame(users, env, args.runs)

    # 3. Upload over loopback (uvicorn) vs a disk copy of the same bytes.
    report["upload"] = _upload(folder, files, users, env)
    (HERE / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "report.md").write_text(_markdown(report))
    print(_markdown(report))
    shutil.rmtree(folder, ignore_errors=True)


class _Server:
    """uvicorn serving cordee.asgi on a free loopback port, for the time of a ``with``."""

    def __init__(self, env: dict) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env

    def __enter__(self) -> _Server:
        command = [sys.executable, "-m", "uvicorn", "cordee.asgi:application", "--port", str(self.port)]
        command += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        _wait_port(self.port)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _session_of(user) -> str:
    from django.conf import settings
    from django.test import Client

    from tests.conftest import login_as

    client = Client(SERVER_NAME="localhost")
    login_as(client, user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _first_frame(users: dict, env: dict, runs: int) -> dict:
    import pydicom
    import requests
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from cordee.imaging import dicom
    from cordee.imaging.models import Instance, Source
    from cordee.imaging.services.ingest import do_ingest

    chromium = shutil.which("chromium")
    if chromium is None:
        return {"skipped": "no chromium (make browser)"}
    from pydicom.uid import generate_uid

    images = {}
    for label, data in (("ct_512", _ct(0, generate_uid(), generate_uid())), ("mr_1024_j2k", _j2k_mr())):
        stored = do_ingest(data, by=users["alice"], source=Source.UPLOAD, patient=users["paula"].patient)
        images[label] = (Instance.objects.select_related("study", "series").get(pk=stored.instance.pk), data)
    session = _session_of(users["alice"])
    out: dict = {}
    with _Server(env) as server, sync_playwright() as playwright:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        context = browser.new_context(base_url=server.base, viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server.base}])
        page = context.new_page()
        http = requests.Session()
        http.cookies.set(settings.SESSION_COOKIE_NAME, session, domain="127.0.0.1")
        for label, (instance, data) in images.items():
            frame_url = (
                f"{server.base}/dicomweb/studies/{instance.study.study_uid}/series/{instance.series.series_uid}"
                f"/instances/{instance.sop_instance_uid}/frames/1"
            )
            viewer, page_load, served, decoded = [], [], [], []
            for _ in range(runs):
                page.goto(f"/imagerie/etude/{instance.study.pk}/")
                page.wait_for_selector("#viewer-canvas[data-ready='1']", timeout=60_000)
                timing = page.evaluate(
                    "() => { const e = document.getElementById('viewer-canvas');"
                    " return [Number(e.dataset.firstFrameMs), Number(e.dataset.readyAtMs)]; }"
                )
                viewer.append(timing[0] / 1000)
                page_load.append(timing[1] / 1000)
                started = time.perf_counter()
                answer = http.get(frame_url, headers={"Accept": "multipart/related; type=application/octet-stream"})
                served.append(time.perf_counter() - started)
                assert answer.status_code == 200 and len(answer.content) > 0
                started = time.perf_counter()
                dicom.frame_array(pydicom.dcmread(io.BytesIO(data)), 0)
                decoded.append(time.perf_counter() - started)
            out[label] = {
                "transfer_syntax": instance.transfer_syntax_uid,
                "file_bytes": len(data),
                "viewer_series_to_first_frame": _percentiles(viewer),
                "page_navigation_to_first_frame": _percentiles(page_load),
                "server_frames_request": _percentiles(served),
                "baseline_pydicom_decode_on_server": _percentiles(decoded),
            }
        browser.close()
    return out


def _upload(folder: Path, files: list[bytes], users: dict, env: dict) -> dict:
    import requests
    from django.conf import settings

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n, data in enumerate(files):
            archive.writestr(f"DICOM/IM{n:05d}", data)
    body = out.getvalue()
    started = time.perf_counter()
    with open(folder / "copy.bin", "wb") as handle:
        for offset in range(0, len(body), 4 * MIB):
            handle.write(body[offset : offset + 4 * MIB])
        handle.flush()
        os.fsync(handle.fileno())
    copy_seconds = time.perf_counter() - started

    session = _session_of(users["alice"])
    with _Server(env) as server:
        http = requests.Session()
        http.cookies.set(settings.SESSION_COOKIE_NAME, session, domain="127.0.0.1")
        base = server.base
        http.get(f"{base}/imagerie/patient/{users['paula'].patient.pk}/")
        csrf = http.cookies.get(settings.CSRF_COOKIE_NAME)
        headers = {"X-CSRFToken": csrf, "Referer": base + "/"}
        started = time.perf_counter()
        start = http.post(
            f"{base}/imagerie/patient/{users['paula'].patient.pk}/televersements/",
            json={"size": len(body)},
            headers=headers,
        )
        start.raise_for_status()
        token, chunk = start.json()["token"], start.json()["chunk"]
        offset = 0
        while True:
            answer = http.put(
                f"{base}/imagerie/televersement/{token}/",
                data=body[offset : offset + chunk],
                headers={**headers, "Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
            )
            answer.raise_for_status()
            result = answer.json()
            if result.get("done"):
                break
            offset = result["received"]
        upload_seconds = time.perf_counter() - started
    return {
        "bytes": len(body),
        "stored": result.get("stored"),
        "duplicates": result.get("duplicates"),
        "upload_mb_per_s": round(len(body) / MIB / upload_seconds, 1),
        "disk_copy_mb_per_s": round(len(body) / MIB / copy_seconds, 1),
        "ratio": round(copy_seconds / upload_seconds, 3),
    }


def _markdown(report: dict) -> str:
    c = report["cstore"]
    lines = [
        "# bench/imaging — figures",
        "",
        f"{report['date']}, {report['instances']} instances ({report['bytes'] / MIB:.0f} MiB), "
        f"load average at start {report['machine']['load'][0]:.1f} on {report['machine']['cpus']} CPUs.",
        "",
        "| C-STORE, one association | instances/s | MB/s |",
        "|---|---|---|",
    ]
    for name in ("orthanc", "cordee"):
        r = c[name]
        lines.append(f"| {name} | {r.get('instances_per_s', r.get('skipped', '—'))} | {r.get('mb_per_s', '—')} |")
    if "cordee_vs_orthanc" in c:
        lines.append(f"\nCordée / Orthanc throughput: **{c['cordee_vs_orthanc']:.0%}** (aim ≥ 50 %).")
    first = report["first_frame"]
    if "skipped" in first:
        lines += ["", f"First frame: skipped ({first['skipped']})."]
    else:
        lines += [
            "",
            "| first frame in the viewer (Chromium, Cornerstone3D) | series → drawn p50 / p99 ms "
            "| page → drawn p50 / p99 ms | server `frames/1` p50 / p99 ms | baseline: pydicom decode p50 ms |",
            "|---|---|---|---|---|",
        ]
        for name, r in first.items():
            v, p, s, b = (
                r[k]
                for k in (
                    "viewer_series_to_first_frame",
                    "page_navigation_to_first_frame",
                    "server_frames_request",
                    "baseline_pydicom_decode_on_server",
                )
            )
            lines.append(
                f"| {name} ({r['transfer_syntax']}, {r['file_bytes'] / MIB:.1f} MiB, n={v['n']}) | "
                f"{v['p50_ms']} / {v['p99_ms']} | {p['p50_ms']} / {p['p99_ms']} | {s['p50_ms']} / {s['p99_ms']} "
                f"| {b['p50_ms']} |"
            )
    u = report["upload"]
    lines += [
        "",
        f"Upload (chunked, uvicorn on loopback, ZIP of the instances, ingested): **{u['upload_mb_per_s']} MB/s**; "
        f"disk copy of the same bytes: {u['disk_copy_mb_per_s']} MB/s (ratio {u['ratio']}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
