"""E-prescriptions: the prescription, its lines and their dispensations.

- ``Prescription``: written by a prescriber for a patient; a draft until signed, then immutable
  (only its status moves: cancelled, dispensed). Its public ``number`` is what a pharmacist types
  or scans. Everything that says *what* was prescribed is health data: the lines' content, the
  override reason, the cancel reason and the QR text are encrypted with the patient's key
  (``cordee.vault``), bound to the row's ``uuid``.
- ``PrescriptionLine``: a drug (a BDPM product by CIS/CIP13, or a substance for an INN line) or a
  free-text act (biology, nursing, device). Its content (codes, label, posology) is one encrypted
  JSON document; what the atomic dispensing needs stays in clear: the quantity per dispensing,
  renewals, the round being dispensed and how much of it was given (numbers that say nothing alone).
- ``Dispensation``: one dispensing of a line by a pharmacist (quantity, box given).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedCharField, EncryptedTextField
from cordee.vault.models import EncryptedModel

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper


def new_number() -> str:
    """The prescription's public identifier, e.g. ``RX-7KQ2-M9TD-3HZP`` (80 bits of chance)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"RX-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class Prescription(EncryptedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")
        PARTIAL = "partial", _("Partly dispensed")
        DISPENSED = "dispensed", _("Dispensed")
        CANCELLED = "cancelled", _("Cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=20, unique=True, default=new_number, editable=False)
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="prescriptions")
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    prescriber_display = models.JSONField(default=dict)  # name, RPPS, profession: outlives the account
    structure = models.ForeignKey("accounts.Structure", on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    bizone = models.BooleanField(_("ALD (bizone) layout"), default=False)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    override_reason = EncryptedTextField(owner="patient", row_key="uuid", blank=True)  # contre-indication
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)  # last day of the first dispensing
    renewals_until = models.DateField(null=True, blank=True)  # last day of any dispensing
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = EncryptedTextField(owner="patient", row_key="uuid", blank=True)
    renewed_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    qr_text = EncryptedTextField(owner="patient", row_key="uuid", blank=True)
    pdf_blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    document = models.ForeignKey("documents.Document", on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        verbose_name = _("prescription")
        indexes = [models.Index(fields=["patient", "-created_at"], name="prescriptions_patient_idx")]

    def __str__(self) -> str:
        return f"prescription #{self.pk}"  # never its content: health data

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_expired(self) -> bool:
        if self.status not in (self.Status.SIGNED, self.Status.PARTIAL):
            return False
        today = timezone.localdate()
        if self.status == self.Status.SIGNED and self.valid_until and today > self.valid_until:
            return True
        return bool(self.renewals_until and today > self.renewals_until)

    @property
    def shown_status(self) -> str:
        return "expired" if self.is_expired else self.status

    @property
    def shown_status_label(self) -> str:
        return str(_("Expired")) if self.is_expired else str(self.get_status_display())


class PrescriptionLine(EncryptedModel):
    class Kind(models.TextChoices):
        PRODUCT = "product", _("Medicine (product)")
        SUBSTANCE = "substance", _("Medicine (INN)")
        FREE = "free", _("Other (biology, nursing, device…)")

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="lines")
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")  # the key's owner
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_json = EncryptedTextField(owner="patient", row_key="uuid")  # codes, label, posology
    quantity = models.PositiveIntegerField(default=1)  # units per dispensing (boxes, or 1 for an act)
    renewals = models.PositiveSmallIntegerField(default=0)
    dispensing_round = models.PositiveSmallIntegerField(default=0)  # 0: first dispensing; n: n-th renewal
    dispensed_in_round = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dispensed_in_round__lte=models.F("quantity")), name="prescriptions_line_not_over"
            ),
            models.CheckConstraint(
                condition=models.Q(dispensing_round__lte=models.F("renewals")), name="prescriptions_line_rounds"
            ),
        ]

    def __str__(self) -> str:
        return f"line #{self.pk} of prescription #{self.prescription_id}"

    @property
    def content(self) -> dict[str, Any]:
        cached = self.__dict__.get("_content")
        if cached is None:
            cached = json.loads(self.content_json or "{}")
            self.__dict__["_content"] = cached
        return cached

    def set_content(self, value: dict[str, Any]) -> None:
        self.content_json = json.dumps(value, ensure_ascii=False, sort_keys=True)
        self.__dict__["_content"] = value

    @property
    def fully_dispensed(self) -> bool:
        return self.dispensing_round >= self.renewals and self.dispensed_in_round >= self.quantity

    @property
    def remaining_in_round(self) -> int:
        return self.quantity - self.dispensed_in_round


class Dispensation(EncryptedModel):
    line = models.ForeignKey(PrescriptionLine, on_delete=models.CASCADE, related_name="dispensations")
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pharmacist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    pharmacist_display = models.JSONField(default=dict)
    dispensing_round = models.PositiveSmallIntegerField(default=0)
    quantity = models.PositiveIntegerField()
    cip13 = EncryptedCharField(max_length=13, owner="patient", row_key="uuid", blank=True)
    substituted = models.BooleanField(default=False)
    dispensed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"dispensation #{self.pk}"
