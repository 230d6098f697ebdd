"""Crypto-shredding: destroying an owner's data keys makes everything of theirs unreadable, audited."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cordee.accounts import services as accounts
from cordee.accounts.models import Patient
from cordee.audit.models import AuditEntry
from cordee.vault import blobs, services
from cordee.vault.errors import Erased
from cordee.vault.models import DataKey

from .conftest import TRAITS


def test_shredded_patient_reads_raise_erased_and_the_act_is_audited(patient, registrar, blob_dir):
    blob = blobs.store_blob(patient, io.BytesIO(b"compte rendu"), max_bytes=1024)
    row = services.do_shred(patient, by=registrar, reason="Demande d'effacement (RGPD art. 17)")
    assert row.destroyed_at is not None and bytes(row.wrapped_aead) == b"" and bytes(row.wrapped_streaming) == b""
    fresh = Patient.objects.get(pk=patient.pk)
    with pytest.raises(Erased, match="was erased on .* it can no longer be read"):
        fresh.birth_name  # noqa: B018
    with pytest.raises(Erased):
        blobs.open_blob(blob)
    assert services.is_shredded(patient)
    entry = AuditEntry.objects.get(action="vault.shredded")
    assert (entry.actor_id, entry.patient_id, entry.target_id) == (registrar.pk, patient.pk, str(patient.pk))
    assert entry.purpose.startswith("Demande d'effacement") and entry.details["owner_type"] == "accounts.patient"
    assert "LEF" not in str(entry.details) + entry.target_display


def test_the_instance_in_hand_forgets_its_keys_too(patient, registrar):
    patient.birth_name  # noqa: B018  (keys unwrapped and cached on the instance)
    services.do_shred(patient, by=registrar, reason="effacement")
    with pytest.raises(Erased):
        services.aead_for(patient)


def test_nothing_new_is_encrypted_for_a_shredded_owner(patient, registrar):
    services.do_shred(patient, by=registrar, reason="effacement")
    fresh = Patient.objects.get(pk=patient.pk)
    fresh.address = "nouvelle adresse"
    with pytest.raises(Erased), transaction.atomic():
        fresh.save()
    assert DataKey.objects.get(owner_id=str(patient.vault_id)).destroyed_at is not None


def test_other_patients_are_untouched(patient, registrar):
    other = accounts.do_register_patient(by=registrar, **{**TRAITS, "birth_name": "Martin"})
    services.do_shred(patient, by=registrar, reason="effacement")
    assert Patient.objects.get(pk=other.pk).birth_name == "MARTIN"


def test_shred_needs_a_reason_and_happens_once(patient, registrar):
    with pytest.raises(ValidationError):
        services.do_shred(patient, by=registrar, reason="  ")
    assert not services.is_shredded(patient)
    assert not AuditEntry.objects.filter(action="vault.shredded").exists()
    services.do_shred(patient, by=registrar, reason="effacement")
    with pytest.raises(Erased, match="already erased"):
        services.do_shred(patient, by=registrar, reason="effacement")
    assert AuditEntry.objects.filter(action="vault.shredded").count() == 1


def test_an_owner_without_keys_yet_can_be_shredded(registrar):
    from cordee.vault.services import OwnerRef

    owner = OwnerRef("messaging.conversation", "00000000-0000-4000-8000-000000000001")
    services.do_shred(owner, by=registrar, reason="conversation supprimée")
    with pytest.raises(Erased):
        services.aead_for(owner)
    assert AuditEntry.objects.get(action="vault.shredded").target_type == "messaging.conversation"


@pytest.mark.django_db(transaction=True)
def test_after_commit_the_database_is_scrubbed_without_error(caplog):
    """SQLite: WAL checkpoint (TRUNCATE); PostgreSQL: VACUUM of the key table, outside any transaction."""
    from cordee.accounts.models import User

    registrar = User.objects.create_user("scrub@cordee.test", "x", kind="professional")
    patient = accounts.do_register_patient(by=registrar, **TRAITS)
    with caplog.at_level("WARNING", logger="cordee.vault.services"):
        services.do_shred(patient, by=registrar, reason="effacement")
    assert "did not complete" not in caplog.text
    assert services.is_shredded(patient)


def test_preloaded_keys_read_many_owners_in_one_query_and_leave_an_erased_one_erased(patient, registrar):
    other = accounts.do_register_patient(by=registrar, **(TRAITS | {"birth_name": "AUTRE"}))
    services.do_shred(patient, by=registrar, reason="effacement")
    erased, kept, kept_again = (Patient.objects.get(pk=pk) for pk in (patient.pk, other.pk, other.pk))
    with CaptureQueriesContext(connection) as captured:
        services.preload_keys([erased, kept, kept_again, None])
        assert (kept.birth_name, kept_again.birth_name) == ("AUTRE", "AUTRE")
    assert len(captured.captured_queries) == 1  # one key row read for both instances, none per field
    with pytest.raises(Erased):
        erased.birth_name  # noqa: B018  (not preloaded: its read still says erased)
