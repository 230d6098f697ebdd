"""Helpers of the imaging tests: the shared DICOM samples, files made for a test, uploads.

The demo gives Paula's care team (Alice, Bob, Sam acting for Alice); Charlie is outside it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "dicom"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data/dicom")

VALID = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "JPEG2000.dcm",
    "JPGExtended.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "SC_rgb_rle_2frame.dcm",
    "examples_ybr_color.dcm",
    "emri_small.dcm",
    "rtdose.dcm",
    "image_dfl.dcm",
    "chrFren.dcm",
    "test-SR.dcm",
]


def shared(name: str) -> bytes:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"the shared DICOM samples are not at {SHARED}")
    return path.read_bytes()


def variant(name: str = "CT_small.dcm", *, study: str | None = None, ins: str | None = None, **attrs) -> bytes:
    """A shared sample with fresh UIDs (a new instance), optionally in a given study, carrying an INS."""
    ds = pydicom.dcmread(io.BytesIO(shared(name)))
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = attrs.pop("series", None) or generate_uid()
    if ins:
        ds.PatientID = ins
        ds.IssuerOfPatientID = "1.2.250.1.213.1.4.8"
    for key, value in attrs.items():
        setattr(ds, key, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def palette(study: str | None = None) -> bytes:
    """chrFren's 8-bit pixels as PALETTE COLOR (the shared data has none): a red ramp, a green
    ramp down, half blue, in 16-bit LUT entries."""
    ds = pydicom.dcmread(io.BytesIO(variant("chrFren.dcm", study=study)))
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ramp = np.arange(256, dtype="<u2") * 257
    for n, table in enumerate((ramp, ramp[::-1], np.full(256, 32768, dtype="<u2"))):
        ds.add_new(0x00281101 + n, "US", [256, 0, 16])  # Red/Green/Blue descriptors, then their data
        ds.add_new(0x00281201 + n, "OW", table.tobytes())
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def upload(client, patient_id: int, data: bytes, *, chunk: int | None = None) -> tuple[int, dict]:
    """The page's chunked protocol: start, then PUT every chunk; the last answer."""
    response = client.post(
        f"/imagerie/patient/{patient_id}/televersements/",
        json.dumps({"size": len(data)}),
        content_type="application/json",
    )
    if response.status_code != 201:
        return response.status_code, response.json() if response.headers["Content-Type"].startswith(
            "application/json"
        ) else {}
    started = response.json()
    size = chunk or started["chunk"]
    url = f"/imagerie/televersement/{started['token']}/"
    offset = 0
    while True:
        answer = client.put(
            url,
            data[offset : offset + size],
            content_type="application/octet-stream",
            headers={"Upload-Offset": str(offset)},
        )
        body = answer.json()
        if answer.status_code != 200 or body.get("done"):
            return answer.status_code, body
        offset = body["received"]
