"""Data keys (wrapped), blob rows, and the abstract bases of models that hold encrypted data.

Envelope encryption: each *owner* (a patient, a conversation) has its own data keys, a Tink AEAD
keyset for fields and a Tink streaming-AEAD keyset for files, stored here only wrapped (encrypted)
by the key-encryption key of the keyset file, which never sits in the database. Destroying an
owner's wrapped keys (``services.do_shred``) makes all their ciphertexts unreadable for good.

An owner is named by its model label and its ``vault_id`` (a UUID known before the row is
inserted, so a new patient's fields are encrypted in the very INSERT that creates it).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault import fields as vault_fields


class EncryptedModel(models.Model):
    """Base of models with encrypted fields: keeps blind indexes in step with ``save(update_fields=…)``."""

    class Meta:
        abstract = True

    def __getstate__(self) -> dict:
        """Pickled without the unwrapped keys cached on the instance (they are not picklable, nor wanted)."""
        state = super().__getstate__()
        for key in ("_vault_aead", "_vault_streaming", "_vault_streaming_keys"):  # services.CACHE_KEYS
            state.pop(key, None)
        return state

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]  # Model.save's own signature
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = vault_fields.with_blind_indexes(self._meta, update_fields)
        super().save(*args, **kwargs)


class VaultOwner(EncryptedModel):
    """A model whose rows own data keys (patients now, conversations later)."""

    vault_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True

    @property
    def vault_patient_id(self) -> int | None:
        """The patient the owner's data belongs to, for the audit trail (None if not a patient)."""
        return None


class DataKey(models.Model):
    owner_type = models.CharField(max_length=64)  # model label, e.g. "accounts.patient"
    owner_id = models.CharField(max_length=64)  # the owner's vault_id
    wrapped_aead = models.BinaryField()  # Tink encrypted keyset (AES256-GCM), wrapped by the KEK
    wrapped_streaming = models.BinaryField()  # Tink encrypted keyset (AES256-GCM-HKDF, 1 MiB segments)
    kek_key_id = models.BigIntegerField(null=True, blank=True)  # the KEK key that wrapped them
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)  # last re-wrapped by a KEK rotation
    destroyed_at = models.DateTimeField(null=True, blank=True)  # crypto-shredded: wrapped keys erased

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner_type", "owner_id"], name="vault_datakey_unique_owner")]
        verbose_name = _("data key")

    def __str__(self) -> str:
        return f"data key #{self.pk} ({self.owner_type})"


class Blob(models.Model):
    """An encrypted file in the blob store. The row is written only once the file is complete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_type = models.CharField(max_length=64)
    owner_id = models.CharField(max_length=64)
    backend = models.CharField(max_length=8)  # "local" or "s3", where the ciphertext lives
    size = models.BigIntegerField()  # clear size in bytes (the ciphertext's size tells it anyway)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner_type", "owner_id"], name="vault_blob_owner_idx")]
        verbose_name = _("encrypted file")

    def __str__(self) -> str:
        return f"blob {self.id}"

    @property
    def name(self) -> str:
        """Where the ciphertext lives in the store: no owner, no file name, nothing guessable."""
        return f"{self.id.hex[:2]}/{self.id.hex}"


# The field types, importable from here by the models of other apps (``from cordee.vault import models as vault``).
BlindIndexField = vault_fields.BlindIndexField
EncryptedCharField = vault_fields.EncryptedCharField
EncryptedDateField = vault_fields.EncryptedDateField
EncryptedTextField = vault_fields.EncryptedTextField
