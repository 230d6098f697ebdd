"""The DICOM index: studies, series and instances, their files in the vault.

- ``Study``: one DICOM study (Study Instance UID, unique). It belongs to a Cordée patient once
  matched (by INS on arrival, or reconciled from the inbox by a professional of the structure that
  received it). It is a vault owner: its DICOM header copies (description, the name, identifier and
  birth date the file carries) are encrypted with the study's own key, so an unmatched study is
  readable by nobody's patient key by mistake; its instances are encrypted with the *patient's* key
  once matched (re-encrypted at reconciliation), with the study's key while in the inbox.
- ``Series``: one series of a study (modality, number, description encrypted).
- ``Instance``: one SOP instance (SOP Instance UID unique: the same instance twice is stored once),
  its transfer syntax, size, frames, and whether Cordée can decode its pixels (``previewable``).

Models stay thin: changes go through ``services``, reads through ``access``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedCharField, EncryptedDateField
from cordee.vault.models import EncryptedModel, VaultOwner


class Source(models.TextChoices):
    UPLOAD = "upload", _("Uploaded in the browser")
    CSTORE = "cstore", _("Received from a DICOM device (C-STORE)")
    STOW = "stow", _("Pushed over DICOMweb (STOW-RS)")


class Study(VaultOwner):
    study_uid = models.CharField(max_length=64, unique=True)
    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="imaging_studies"
    )
    # Who received it: the inbox of unmatched studies is per structure.
    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    calling_ae = models.CharField(max_length=16, blank=True, default="")
    study_date = models.DateField(null=True, blank=True)
    modalities = models.CharField(max_length=64, blank=True, default="")  # "CT,SR"
    description = EncryptedCharField(max_length=200, blank=True, default="")
    accession_number = EncryptedCharField(max_length=64, blank=True, default="")
    # What the files say about the patient (shown to the reconciling professional, then kept).
    dicom_patient_name = EncryptedCharField(max_length=200, blank=True, default="")
    dicom_patient_id = EncryptedCharField(max_length=64, blank=True, default="")
    dicom_birth_date = EncryptedDateField(null=True, blank=True)
    series_count = models.PositiveIntegerField(default=0)
    instance_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("imaging study")
        verbose_name_plural = _("imaging studies")
        indexes = [
            models.Index(fields=["patient", "-study_date"], name="imaging_study_patient_idx"),
            models.Index(fields=["structure", "patient"], name="imaging_study_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"study #{self.pk}"  # never the description: health data

    @property
    def vault_patient_id(self) -> int | None:
        return self.patient_id

    @property
    def key_owner(self) -> Any:
        """Whose key encrypts the instances: the patient once matched, else the study."""
        return self.patient if self.patient_id else self


class Series(EncryptedModel):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_uid = models.CharField(max_length=64, unique=True)
    number = models.IntegerField(null=True, blank=True)
    modality = models.CharField(max_length=16, blank=True, default="")
    description = EncryptedCharField(max_length=200, blank=True, default="", owner="study", row_key="series_uid")
    instance_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("imaging series")
        verbose_name_plural = _("imaging series")

    def __str__(self) -> str:
        return f"series #{self.pk}"


class Instance(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="instances")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64)
    transfer_syntax_uid = models.CharField(max_length=64)
    number = models.IntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    frames = models.PositiveIntegerField(default=0)  # 0: no pixels (a structured report…)
    previewable = models.BooleanField(default=False)  # Cordée decodes its pixels
    burned_in_annotation = models.BooleanField(default=False)
    blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("imaging instance")
        indexes = [models.Index(fields=["series", "number"], name="imaging_instance_order_idx")]

    def __str__(self) -> str:
        return f"instance #{self.pk}"


class Upload(models.Model):
    """A resumable browser upload of one file (Cordée's own chunked protocol): its chunks are
    blobs encrypted with the patient's key until the last one arrives and the file is ingested."""

    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=43, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.JSONField(default=dict)  # what the ingest said (counts, refusals: no health data)

    def __str__(self) -> str:
        return f"upload #{self.pk}"


class UploadChunk(models.Model):
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    offset = models.BigIntegerField()
    blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "offset"], name="imaging_chunk_offset_unique")]

    def __str__(self) -> str:
        return f"chunk {self.offset} of upload #{self.upload_id}"


class Sender(models.Model):
    """A system that pushes studies over STOW-RS (a PACS, a modality's gateway): no person signs
    in, so it presents a bearer token; only the token's SHA-256 is kept. What it sends lands in its
    structure's inbox (or with the patient its INS names), like a C-STORE calling AE title; its name
    is shown where the AE title would be. Created and revoked with ``manage.py dicomweb_sender``."""

    structure = models.ForeignKey("accounts.Structure", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=16, unique=True)
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"DICOMweb sender {self.name}"
