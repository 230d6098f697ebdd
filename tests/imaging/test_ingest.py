"""The ingest shared by every way in: what it stores, once, encrypted; what it refuses, and why."""

from __future__ import annotations

import io
import zipfile

import pydicom
import pytest

from cordee.audit.models import AuditEntry
from cordee.imaging import dicom
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Instance, Source, Study
from cordee.imaging.services.archives import ingest_upload, unsafe_name
from cordee.imaging.services.ingest import do_ingest
from cordee.vault.blobs import get_store, iter_blob
from tests.imaging.conftest import VALID, shared, variant

pytestmark = pytest.mark.django_db


def test_every_valid_shared_file_is_stored_and_indexed(alice, paula):
    patient = paula.patient
    seen = set()  # the MR_small variants share their SOP Instance UID: the first one is stored
    for name in VALID:
        sop = str(pydicom.dcmread(io.BytesIO(shared(name)), stop_before_pixels=True).SOPInstanceUID)
        stored = do_ingest(shared(name), by=alice, source=Source.UPLOAD, patient=patient)
        assert stored.duplicate == (sop in seen), name
        assert stored.study.patient_id == patient.pk
        if sop not in seen:
            assert b"".join(iter_blob(stored.instance.blob)) == shared(name)
        seen.add(sop)
    instances = Instance.objects.filter(study__patient=patient)
    assert instances.count() == len(seen)
    # Every pixel-bearing file here decodes: none is "no preview"; the SR has no frames.
    assert set(instances.filter(previewable=False).values_list("frames", flat=True)) == {0}
    multi = Instance.objects.get(
        sop_instance_uid=pydicom.dcmread(io.BytesIO(shared("examples_ybr_color.dcm"))).SOPInstanceUID
    )
    assert multi.frames == 30
    assert AuditEntry.objects.filter(action="imaging.instance.stored", patient_id=patient.pk).count() == len(seen)


def test_files_are_encrypted_at_rest(alice, paula):
    data = shared("CT_small.dcm")
    stored = do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
    store = get_store(stored.instance.blob.backend)
    with store.open(stored.instance.blob.name) as handle:
        raw = handle.read()
    assert b"DICM" not in raw and data[200:400] not in raw
    study = Study.objects.get(pk=stored.study.pk)
    assert study.description == str(pydicom.dcmread(io.BytesIO(data)).get("StudyDescription", ""))


def test_the_same_instance_twice_is_stored_once(alice, paula):
    data = variant()
    first = do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
    second = do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert second.duplicate and second.instance.pk == first.instance.pk
    assert Instance.objects.count() == 1
    assert Study.objects.get().instance_count == 1


def test_study_and_series_counts(alice, paula):
    study = "1.2.826.0.1.3680043.8.498.1"
    for series in ("1.2.826.0.1.3680043.8.498.2", "1.2.826.0.1.3680043.8.498.3"):
        for _ in range(2):
            do_ingest(variant(study=study, series=series), by=alice, source=Source.UPLOAD, patient=paula.patient)
    row = Study.objects.get(study_uid=study)
    assert (row.series_count, row.instance_count, row.modalities) == (2, 4, "CT")


@pytest.mark.parametrize(
    ("name", "code"),
    [("no_meta.dcm", "not_dicom"), ("MR_truncated.dcm", "truncated"), ("rtplan_truncated.dcm", "truncated")],
)
def test_the_broken_shared_files_are_refused(alice, paula, name, code):
    with pytest.raises(DicomRefused) as refusal:
        do_ingest(shared(name), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == code
    assert not Instance.objects.exists()


def _without_transfer_syntax() -> bytes:
    data = shared("CT_small.dcm")
    ds = pydicom.dcmread(io.BytesIO(data))
    del ds.file_meta.TransferSyntaxUID
    out = io.BytesIO()
    pydicom.filewriter.dcmwrite(out, ds, implicit_vr=False, little_endian=True)  # writes what it is given
    return out.getvalue()


def _invalid_value() -> bytes:
    raw = bytearray(variant())
    at = raw.find(b"\x28\x00\x10\x00US\x02\x00")  # (0028,0010) Rows, US, length 2
    assert at > 0
    raw[at + 6 : at + 8] = b"\x03\x00"  # a US of 3 bytes: the value and what follows are off
    raw[at + 8 : at + 8] = b"\x00"
    return bytes(raw)


def test_own_bad_inputs_are_refused(alice, paula, settings):
    cases = {
        "not_dicom": b"%PDF-1.7 not an image" * 10,
        "truncated": variant()[:30000],
        "no_transfer_syntax": _without_transfer_syntax(),
        "invalid_value": _invalid_value(),
    }
    for code, data in cases.items():
        with pytest.raises(DicomRefused) as refusal:
            do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
        assert refusal.value.code == code, code
    settings.IMAGING_MAX_FILE_BYTES = 10_000
    with pytest.raises(DicomRefused) as refusal:
        do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == "too_large"
    assert not Instance.objects.exists()


def test_an_unsupported_transfer_syntax_is_stored_without_preview(alice, paula):
    ds = pydicom.dcmread(io.BytesIO(variant()))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"  # HTJ2K Lossless: no decoder here
    ds.PixelData = pydicom.encaps.encapsulate([ds.PixelData])
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    stored = do_ingest(out.getvalue(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert not stored.instance.previewable and stored.instance.frames == 1
    assert stored.instance.transfer_syntax_uid == "1.2.840.10008.1.2.4.201"


def test_matching_by_ins_else_inbox(alice, paula, structure):
    by_ins = do_ingest(variant(ins=paula.patient.ins), by=None, source=Source.CSTORE, structure=structure)
    assert by_ins.study.patient_id == paula.patient.pk
    unknown = do_ingest(variant(ins="185076911234529"), by=None, source=Source.CSTORE, structure=structure)
    assert unknown.study.patient_id is None and unknown.study.structure_id == structure.pk
    # Unmatched: encrypted with the study's own key, not a patient's.
    assert unknown.instance.blob.owner_type == "imaging.study"


def test_an_upload_carrying_another_patients_ins_is_refused(alice, paula):
    with pytest.raises(DicomRefused) as refusal:
        do_ingest(variant(ins="185076911234529"), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == "other_patient"


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_cd_zip_with_its_dicomdir(alice, paula):
    study = "1.2.826.0.1.3680043.8.498.10"
    data = _zip(
        {
            "DICOMDIR": b"\x00" * 128 + b"DICM" + b"\x00" * 10,
            "DICOM/IM0001": variant(study=study),
            "DICOM/IM0002": variant(study=study),
            "AUTORUN.INF": b"[autorun]",
            "DICOM/BROKEN": shared("MR_truncated.dcm"),
        }
    )
    outcome = ingest_upload(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert (outcome.stored, outcome.skipped) == (2, 2)
    assert [r["code"] for r in outcome.refused] == ["truncated"]


def test_zip_bomb_and_path_traversal(alice, paula, settings):
    bomb = _zip({"a.dcm": b"\x00" * (20 * 1024 * 1024)})
    with pytest.raises(DicomRefused) as refusal:
        ingest_upload(bomb, by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == "zip_bomb"
    settings.IMAGING_ZIP_MAX_TOTAL_BYTES = 50_000
    many = _zip({f"{n}.dcm": variant() for n in range(3)}, zipfile.ZIP_STORED)
    with pytest.raises(DicomRefused) as refusal:
        ingest_upload(many, by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == "zip_bomb"
    with pytest.raises(DicomRefused) as refusal:
        ingest_upload(_zip({"../../etc/passwd": variant()}), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert refusal.value.code == "zip_path"
    assert unsafe_name("/abs.dcm") and unsafe_name("C:\\x.dcm") and unsafe_name("a\\..\\b")
    assert not unsafe_name("DICOM/IM0001")


def test_frames_decode_like_pydicom(alice, paula):
    """The values the viewer windows are pydicom's decode of the same frame (modality LUT applied)."""
    for name in ("CT_small.dcm", "MR_small_jp2klossless.dcm", "examples_ybr_color.dcm", "SC_rgb_rle_2frame.dcm"):
        ds = pydicom.dcmread(io.BytesIO(shared(name)))
        values, kind = dicom.frame_values(ds, 0)
        expected = ds.pixel_array if dicom.number_of_frames(ds) == 1 else ds.pixel_array[0]
        if kind == "mono":
            expected = pydicom.pixels.apply_modality_lut(expected, ds)
        assert values.shape[:2] == expected.shape[:2], name
        assert (values.astype(float) == expected.astype(float)).all(), name
    png = dicom.render_png(pydicom.dcmread(io.BytesIO(shared("CT_small.dcm"))), 0, size=64)
    assert png.startswith(b"\x89PNG")
