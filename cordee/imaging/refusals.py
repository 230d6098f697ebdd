"""The words of each ingest refusal (``DicomRefused.code``), in the user's language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cordee.imaging.dicom import DicomRefused

TEXTS: dict[str, str | Promise] = {
    "not_dicom": _("This file is not a DICOM file."),
    "unreadable": _("This DICOM file cannot be read."),
    "no_transfer_syntax": _("This DICOM file gives no transfer syntax in its File Meta."),
    "truncated": _("This DICOM file is truncated."),
    "invalid_value": _("This DICOM file holds a value its type cannot hold."),
    "no_uid": _("This DICOM file lacks a study, series or instance UID."),
    "too_large": _("This file is larger than the limit."),
    "empty": _("This file is empty."),
    "other_patient": _("This file belongs to another patient."),
    "in_inbox": _("This study waits in the imaging to reconcile: attach it to the patient there."),
    "series_conflict": _("This series belongs to another study."),
    "bad_zip": _("This ZIP archive cannot be read."),
    "zip_too_many": _("This ZIP holds too many files."),
    "zip_bomb": _("This ZIP inflates beyond the limits allowed."),
    "zip_path": _("This ZIP names a file outside the archive."),
    "erased": _("This patient's data were erased: nothing more is stored for them."),
}


def text(refusal: DicomRefused) -> str:
    return str(TEXTS.get(refusal.code, refusal.message))
