"""Encrypted patient identity: stored sealed, read back clear, fails closed, found by blind index."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import connection

from cordee.accounts import services
from cordee.accounts.models import Patient
from cordee.vault import keyset
from cordee.vault.errors import DecryptionError
from cordee.vault.fields import Sealed
from cordee.vault.models import DataKey

from .conftest import TRAITS

ENCRYPTED = ("ins", "birth_name", "birth_given_names", "used_name", "used_given_name", "birth_date")


def _raw(pk: int, column: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_patient WHERE id = %s", [pk])  # noqa: S608  (fixed names)
        return bytes(cursor.fetchone()[0])


def _set_raw(pk: int, column: str, value: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE accounts_patient SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def test_identity_reads_back_clear_and_is_stored_sealed(patient):
    fresh = Patient.objects.get(pk=patient.pk)
    assert (fresh.birth_name, fresh.birth_given_names, fresh.birth_date) == (
        "LEFÈVRE-D'ARC",
        "Zoé Anne",
        dt.date(1931, 7, 29),
    )
    assert (fresh.ins, fresh.birth_place_code, fresh.address) == (
        "285076911234576",
        "75112",
        "3 impasse des Glycines\n13001 Marseille",
    )
    for column in ("birth_name", "ins", "birth_date", "birth_place_code", "address"):
        raw = _raw(patient.pk, column)
        assert b"LEF" not in raw and b"285076911234576" not in raw and b"1931" not in raw and b"Glycines" not in raw
        assert len(raw) % 16 == 1  # 5-byte Tink prefix + 12-byte nonce + padded blocks + 16-byte tag
    assert DataKey.objects.filter(owner_type="accounts.patient", owner_id=str(patient.vault_id)).count() == 1


def test_padding_hides_the_length_of_short_names(patient, registrar):
    other = services.do_register_patient(by=registrar, **{**TRAITS, "birth_name": "Li", "ins": ""})
    assert len(_raw(other.pk, "birth_name")) == len(_raw(patient.pk, "birth_name"))


def test_values_list_gives_sealed_values_not_clear_text(patient):
    (value,) = Patient.objects.filter(pk=patient.pk).values_list("birth_name", flat=True)
    assert isinstance(value, Sealed) and "LEF" not in repr(value)


def test_queries_on_encrypted_columns_are_refused(patient):
    assert Patient.objects.filter(address__isnull=False).count() >= 1
    with pytest.raises(FieldError):
        Patient.objects.filter(birth_name="LEFÈVRE-D'ARC").exists()
    with pytest.raises(TypeError, match="encrypted"):
        Patient.objects.filter(pk=patient.pk).update(birth_name="X")


def test_ciphertext_copied_to_another_patient_fails_closed(patient, registrar):
    other = services.do_register_patient(by=registrar, **{**TRAITS, "birth_name": "Martin"})
    _set_raw(other.pk, "birth_name", _raw(patient.pk, "birth_name"))
    with pytest.raises(DecryptionError, match="birth_name: the ciphertext does not authenticate"):
        Patient.objects.get(pk=other.pk).birth_name  # noqa: B018


def test_ciphertext_moved_to_another_column_fails_closed(patient):
    _set_raw(patient.pk, "used_name", _raw(patient.pk, "birth_name"))
    with pytest.raises(DecryptionError):
        Patient.objects.get(pk=patient.pk).used_name  # noqa: B018


def test_tampered_ciphertext_fails_closed(patient):
    raw = bytearray(_raw(patient.pk, "birth_date"))
    raw[-1] ^= 0x01
    _set_raw(patient.pk, "birth_date", bytes(raw))
    with pytest.raises(DecryptionError):
        Patient.objects.get(pk=patient.pk).birth_date  # noqa: B018


def test_wrong_keyset_fails_closed(vault_keyset, patient, settings, tmp_path):
    other = tmp_path / "other-kek.json"
    keyset.create(other)
    settings.VAULT_KEYSET_PATH = other
    with pytest.raises(DecryptionError, match="cannot be unwrapped with the vault keyset"):
        Patient.objects.get(pk=patient.pk).birth_name  # noqa: B018


def test_altered_data_key_row_fails_closed(patient):
    row = DataKey.objects.get(owner_id=str(patient.vault_id))
    wrapped = bytearray(row.wrapped_aead)
    wrapped[len(wrapped) // 2] ^= 0x01
    DataKey.objects.filter(pk=row.pk).update(wrapped_aead=bytes(wrapped))
    with pytest.raises(DecryptionError):
        Patient.objects.get(pk=patient.pk).ins  # noqa: B018


def test_saving_other_fields_keeps_ciphertexts_untouched(patient):
    before = _raw(patient.pk, "birth_name")
    fresh = Patient.objects.get(pk=patient.pk)
    fresh.identity_status = Patient.IdentityStatus.VALIDEE
    fresh.save()
    assert _raw(patient.pk, "birth_name") == before


def test_look_up_by_ins_and_by_name_and_birth_date(patient, registrar):
    services.do_register_patient(by=registrar, **{**TRAITS, "birth_name": "Martin", "ins": ""})
    assert list(services.find_patients_by_ins("2 85 07 69 112 345 76")) == [patient]
    assert list(services.find_patients_by_name_and_birth_date("lefevre  d arc", dt.date(1931, 7, 29))) == [patient]
    assert not services.find_patients_by_name_and_birth_date("Lefèvre-d'Arc", dt.date(1931, 7, 30)).exists()
    with pytest.raises(ValidationError) as caught:
        services.find_patients_by_ins("123")
    assert "ins" in caught.value.message_dict


def test_blind_index_follows_a_changed_ins_saved_with_update_fields(registrar):
    patient = services.do_register_patient(by=registrar, **{**TRAITS, "ins": ""})
    assert not services.find_patients_by_ins("285076911234576").exists()
    patient.ins = "285076911234576"
    patient.save(update_fields=["ins"])
    assert list(services.find_patients_by_ins("285076911234576")) == [patient]


def test_blind_indexes_are_keyed_and_never_the_clear_value(patient):
    fresh = Patient.objects.get(pk=patient.pk)
    assert len(fresh.ins_index) == 64 and "285076911234576" not in fresh.ins_index
    assert fresh.ins_index != fresh.birth_index


def test_address_too_long_is_refused_with_nothing_saved(registrar):
    before = Patient.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.do_register_patient(by=registrar, **{**TRAITS, "address": "x" * 501})
    assert "address" in caught.value.message_dict
    assert Patient.objects.count() == before


def test_a_patient_with_unwrapped_keys_pickles_without_them(patient):
    import pickle

    fresh = Patient.objects.get(pk=patient.pk)
    assert fresh.birth_name == "LEFÈVRE-D'ARC"  # keys now cached on the instance
    copy = pickle.loads(pickle.dumps(fresh))  # noqa: S301  (our own bytes)
    assert "_vault_aead" not in copy.__dict__ and copy.birth_name == "LEFÈVRE-D'ARC"
