"""``manage.py vault_rotate``: a new KEK key re-wraps every data key; retiring the old one loses nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cordee.accounts.models import Patient
from cordee.audit.models import AuditEntry
from cordee.vault import blobs, keyset, services
from cordee.vault.errors import DecryptionError
from cordee.vault.models import DataKey


def _read_everything(patient_pk: int, blob) -> tuple[str, str, bytes]:
    fresh = Patient.objects.get(pk=patient_pk)  # a new instance: keys are unwrapped again
    with blobs.open_blob(blob) as stream:
        return fresh.birth_name, fresh.address, stream.read()


def test_rotation_then_retirement_keeps_everything_readable(vault_keyset, blob_dir, patient, registrar):
    blob = blobs.store_blob(patient, io.BytesIO(b"lettre de liaison"), max_bytes=1024)
    before = _read_everything(patient.pk, blob)
    old = keyset.load(vault_keyset)
    old_wrapped = bytes(DataKey.objects.get().wrapped_aead)

    call_command("vault_rotate", stdout=io.StringIO())
    rotated = keyset.load(vault_keyset)
    assert len(rotated.kek_ids) == 2 and old.primary_kek_id in rotated.kek_ids
    row = DataKey.objects.get()
    assert row.kek_key_id == rotated.primary_kek_id and row.rotated_at is not None
    assert bytes(row.wrapped_aead) != old_wrapped
    assert _read_everything(patient.pk, blob) == before

    call_command("vault_rotate", "--retire-old", stdout=io.StringIO())
    retired = keyset.load(vault_keyset)
    assert retired.kek_ids == [retired.primary_kek_id]
    assert old.primary_kek_id not in retired.kek_ids and rotated.primary_kek_id not in retired.kek_ids
    assert _read_everything(patient.pk, blob) == before
    assert retired.blind_prf.compute(b"x", 32) == old.blind_prf.compute(b"x", 32)

    rotations = AuditEntry.objects.filter(action="vault.kek_rotated").order_by("seq")
    assert [entry.details["rewrapped"] for entry in rotations] == [1, 1]
    retirement = AuditEntry.objects.get(action="vault.kek_retired")
    assert set(retirement.details["retired_key_ids"]) == set(rotated.kek_ids)


def test_old_keyset_alone_no_longer_opens_rewrapped_keys(vault_keyset, patient, settings, tmp_path):
    stolen_before = tmp_path / "old-copy.json"
    stolen_before.write_bytes(vault_keyset.read_bytes())
    call_command("vault_rotate", "--retire-old", stdout=io.StringIO())
    settings.VAULT_KEYSET_PATH = stolen_before
    with pytest.raises(DecryptionError):
        Patient.objects.get(pk=patient.pk).birth_name  # noqa: B018


def test_retirement_refuses_when_a_data_key_would_be_lost(vault_keyset, patient, monkeypatch):
    monkeypatch.setattr(services, "unreadable_with", lambda keyset: [42])
    with pytest.raises(CommandError, match="would not unwrap without the old KEK keys; nothing was retired"):
        call_command("vault_rotate", "--retire-old", stdout=io.StringIO())
    assert len(keyset.load(vault_keyset).kek_ids) == 2  # rotated, not retired
    assert not AuditEntry.objects.filter(action="vault.kek_retired").exists()
