"""Demo imaging of Paula: a small synthetic CT series (a phantom drawn with numpy, no real patient),
stored through the same ingest as uploads (encrypted with her key, indexed). Idempotent: a patient
who has studies is left as she is. Seeded by ``manage.py seed_demo`` (``cordee.demo.seed``)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from cordee.accounts.models import User
from cordee.imaging.models import Source, Study
from cordee.imaging.services.ingest import do_ingest

SLICES = 12
SIZE = 128


def _slice(study: str, series: str, frame_of_reference: str, n: int, patient: object) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame_of_reference
    ds.PatientName = "BERNARD^Paula"
    ds.PatientBirthDate = "19850714"
    ds.PatientID = getattr(patient, "ins", "") or "DEMO"
    ds.IssuerOfPatientID = "1.2.250.1.213.1.4.8"
    ds.Modality, ds.StudyDescription, ds.SeriesDescription = "CT", "TDM thoracique (démo)", "Thorax 5 mm"
    ds.StudyDate = (timezone.localdate() - dt.timedelta(days=10)).strftime("%Y%m%d")
    ds.SeriesNumber, ds.InstanceNumber = 1, n + 1
    ds.Rows = ds.Columns = SIZE
    ds.PixelSpacing, ds.SliceThickness = [2.5, 2.5], 5
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    y, x = np.mgrid[:SIZE, :SIZE] - SIZE / 2
    body = (x / 55) ** 2 + (y / 40) ** 2 < 1
    lungs = (((x - 22) / 16) ** 2 + (y / 24) ** 2 < 1) | (((x + 22) / 16) ** 2 + (y / 24) ** 2 < 1)
    nodule = ((x - 25) ** 2 + (y - 5 + n) ** 2) < 9
    hu = np.full((SIZE, SIZE), -1000, dtype=np.int16)
    hu[body] = 40
    hu[lungs] = -850
    hu[nodule & lungs] = 30
    hu[(x**2 + (y + 25) ** 2) < 36] = 700  # the spine
    ds.PixelData = (hu + 1024).astype(np.int16).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def seed_imaging(users: dict[str, User]) -> None:
    patient = users["paula"].patient
    if Study.objects.filter(patient=patient).exists():
        return
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for n in range(SLICES):
        data = _slice(study, series, frame_of_reference, n, patient)
        do_ingest(data, by=users["alice"], source=Source.UPLOAD, patient=patient)
