"""The patient's record: documents (with their versions) and the timeline every module writes into.

- ``Document``: one document of the record (a discharge letter, a lab result…), of a type of the
  French DMP document types (``DocumentType``). Its title, source structure and the reason it was
  entered in error are health data: stored encrypted with the patient's data key, bound to the
  row's ``uuid``. A document is never deleted: its author marks it "entered in error", with a reason.
- ``DocumentVersion``: the file of a document, v1, v2…: a correction adds a version, never
  overwrites one. The file lives in the vault's blob store, encrypted with the patient's key.
- ``RecordItem``: a line of the patient's timeline (a document, a message of the care-team thread,
  later prescriptions, referrals…), written by ``services.do_add_to_record``. The timeline reads
  this one table: its cost does not depend on how many modules write into it.

Models stay thin: changes go through ``services``, reads through ``access``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedCharField, EncryptedTextField
from cordee.vault.models import EncryptedModel


class DocumentType(models.TextChoices):
    """The document types a GP meets, after the DMP's (LOINC codes in ``LOINC``)."""

    HOSPITALISATION = "cr_hospitalisation", _("Hospital discharge report")
    CONSULTATION = "cr_consultation", _("Consultation report")
    OPERATOIRE = "cr_operatoire", _("Operative report")
    IMAGERIE = "cr_imagerie", _("Imaging report")
    BIOLOGIE = "biologie", _("Laboratory results")
    ORDONNANCE = "ordonnance", _("Prescription")
    COURRIER = "courrier", _("Letter")
    CERTIFICAT = "certificat", _("Certificate")
    PHOTO = "photo", _("Clinical photograph")
    AUTRE = "autre", _("Other document")


# The LOINC codes the DMP uses for these types (exports, and the FHIR DocumentReference later).
LOINC = {
    DocumentType.HOSPITALISATION: "34112-3",
    DocumentType.CONSULTATION: "11488-4",
    DocumentType.OPERATOIRE: "34874-8",
    DocumentType.IMAGERIE: "18748-4",
    DocumentType.BIOLOGIE: "11502-2",
    DocumentType.ORDONNANCE: "57833-6",
    DocumentType.COURRIER: "34133-9",  # summary of episode note, the DMP's "courrier"
    DocumentType.CERTIFICAT: "34895-3",  # "certificat médical" in the DMP's list (education note)
    DocumentType.PHOTO: "72170-4",
    DocumentType.AUTRE: "34133-9",
}

# Shown to the patient as soon as uploaded, unless the professional says otherwise; results and
# imaging wait for the doctor's explanation (the professional makes them visible when ready).
HIDDEN_BY_DEFAULT = frozenset({DocumentType.BIOLOGIE, DocumentType.IMAGERIE, DocumentType.PHOTO})


def visible_by_default(doc_type: str) -> bool:
    return doc_type not in HIDDEN_BY_DEFAULT


class Document(EncryptedModel):
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="documents")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # binds the encrypted fields
    doc_type = models.CharField(_("type"), max_length=32, choices=DocumentType.choices)
    title = EncryptedCharField(_("title"), max_length=200, owner="patient", row_key="uuid")
    act_date = models.DateField(_("date of the act"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_display = models.JSONField(default=dict)  # actor_display() at upload: outlives the account
    source = EncryptedCharField(_("source structure"), max_length=200, owner="patient", row_key="uuid", blank=True)
    visible_to_patient = models.BooleanField(_("visible to the patient"), default=False)
    provided_by_patient = models.BooleanField(_("provided by the patient"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_version = models.PositiveIntegerField(default=1)
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entered_in_error_reason = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    # The messaging attachment it was filed from (an id, not a key: the message may be deleted).
    filed_from = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("document")
        indexes = [models.Index(fields=["patient", "-act_date"], name="documents_patient_date_idx")]

    def __str__(self) -> str:
        return f"document #{self.pk}"  # never the title: health data

    @property
    def in_error(self) -> bool:
        return self.entered_in_error_at is not None

    @property
    def loinc(self) -> str:
        return LOINC.get(DocumentType(self.doc_type), "")


class DocumentVersion(EncryptedModel):
    """One file of a document. Written once, never changed."""

    class Preview(models.TextChoices):
        NONE = "", _("No preview")
        IMAGE = "image", _("Image")
        PDF = "pdf", _("First page of the PDF")
        ENCRYPTED = "encrypted", _("Password-protected PDF")

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")  # the key's owner
    number = models.PositiveIntegerField()
    blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, related_name="+")
    file_name = EncryptedCharField(max_length=255, owner="patient", row_key="blob_id")
    content_type = models.CharField(max_length=100)  # sniffed from the bytes
    size = models.BigIntegerField()
    pages = models.PositiveIntegerField(default=0)
    preview = models.CharField(max_length=10, choices=Preview.choices, blank=True, default="")
    preview_blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_by_display = models.JSONField(default=dict)
    reason = EncryptedTextField(owner="patient", row_key="blob_id", blank=True)  # why this version
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("document version")
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="documents_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"version {self.number} of document #{self.document_id}"


class RecordItem(EncryptedModel):
    """A line of the patient's timeline. ``kind`` names the module's item ("document", "message",
    later "prescription"…); ``target_type``/``target_id`` what it links to."""

    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=32)
    doc_type = models.CharField(max_length=32, blank=True, default="")  # documents: their type
    title = EncryptedCharField(max_length=200, owner="patient", row_key="uuid", null=True, blank=True)  # None: by kind
    occurred_at = models.DateTimeField(db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    author_display = models.JSONField(default=dict)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    link_id = models.CharField(max_length=64, blank=True, default="")  # what it opens, if not the target
    visible_to_patient = models.BooleanField(default=False)
    in_error = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("record item")
        indexes = [models.Index(fields=["patient", "-occurred_at", "-id"], name="documents_item_timeline_idx")]
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id"], name="documents_item_one_per_target"),
        ]

    def __str__(self) -> str:
        return f"record item #{self.pk} ({self.kind})"

    @property
    def doc_type_label(self) -> str:
        return str(DocumentType(self.doc_type).label) if self.doc_type in DocumentType.values else ""
