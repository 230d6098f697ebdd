"""A patient's erasure reaches her imaging: study keys destroyed (and on the shred list), rows and
files gone, the same 404 as a missing study everywhere, audited; a restored database re-shreds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cordee.accounts.models import Patient
from cordee.audit.models import AuditEntry
from cordee.backups import shredlist
from cordee.imaging.models import Instance, Series, Source, Study, Upload, UploadChunk
from cordee.imaging.services import reconcile, uploads
from cordee.imaging.services.ingest import do_ingest
from cordee.vault import services as vault
from cordee.vault.blobs import get_store, iter_blob
from cordee.vault.errors import Erased
from cordee.vault.models import Blob, DataKey
from tests.conftest import login_as, without_csrf
from tests.imaging.conftest import variant

pytestmark = pytest.mark.django_db
MISSING = 987654321
REASON = "Demande d'effacement (RGPD art. 17)"


@pytest.fixture
def blob_dir(settings, tmp_path):
    settings.BLOB_BACKEND = "local"
    settings.BLOB_DIR = tmp_path / "blobs"
    return settings.BLOB_DIR


def _files(root) -> set:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _frames_url(study_uid: str, series_uid: str, sop_uid: str) -> str:
    return f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/1"


def _paulas_imaging(alice, paula, structure):
    """Two studies of Paula (one uploaded, one received in the inbox then reconciled), an upload
    left half-way, and a study of nobody yet (which the erasure must leave alone)."""
    uploaded = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    do_ingest(variant(study=uploaded.study.study_uid), by=alice, source=Source.UPLOAD, patient=paula.patient)
    received = do_ingest(variant(), by=None, source=Source.CSTORE, structure=structure).study
    str(received.description)  # its own key exists (the header copies)
    reconcile.do_reconcile(received, paula.patient, by=alice)
    other = do_ingest(variant(), by=None, source=Source.CSTORE, structure=structure).study
    upload = uploads.do_start(paula.patient, by=alice, size=100_000)
    uploads.do_append(upload, 0, b"x" * 1000, by=alice)
    return uploaded.instance, [uploaded.study, received], other, upload


def test_erasing_a_patient_destroys_her_studies_keys_rows_and_files(
    client, alice, paula, structure, blob_dir, django_capture_on_commit_callbacks
):
    instance, studies, other, upload = _paulas_imaging(alice, paula, structure)
    blob = Blob.objects.get(pk=instance.blob_id)
    ciphertext = get_store().path(blob.name).read_bytes()
    urls = [_frames_url(s.study_uid, instance.series.series_uid, instance.sop_instance_uid) for s in studies[:1]]
    owners = [vault.OwnerRef("imaging.study", str(s.vault_id)) for s in studies]
    files_before = _files(blob_dir)
    login_as(client, alice)
    assert client.get(urls[0]).status_code == 200
    entries_before = AuditEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        vault.do_shred(paula.patient, by=alice, reason=REASON)

    # Keys: the patient's and each study's own, destroyed; the shred list names them all.
    assert all(vault.is_shredded(owner) for owner in owners)
    listed = {(e["owner_type"], e["owner_id"]) for e in shredlist.read()}
    assert listed == {("accounts.patient", str(paula.patient.vault_id))} | {(o.owner_type, o.owner_id) for o in owners}
    # Rows and files: her studies, series, instances and unfinished upload are gone; the other stays.
    assert list(Study.objects.values_list("pk", flat=True)) == [other.pk]
    assert not Series.objects.exclude(study=other).exists() and not Instance.objects.exclude(study=other).exists()
    assert not Upload.objects.filter(pk=upload.pk).exists() and not UploadChunk.objects.exists()
    left = _files(blob_dir)
    assert len(files_before - left) == 4  # three instances and the chunk
    assert get_store().path(blob.name) not in left
    # A copy of the ciphertext (an old backup's) no longer decrypts.
    get_store().path(blob.name).write_bytes(ciphertext)
    with pytest.raises(Erased):
        b"".join(iter_blob(blob))

    # Served nowhere: the page and WADO-RS answer exactly as for a study that does not exist.
    for study in studies:
        erased, missing = client.get(f"/imagerie/etude/{study.pk}/"), client.get(f"/imagerie/etude/{MISSING}/")
        assert erased.status_code == missing.status_code == 404
        assert without_csrf(erased.content) == without_csrf(missing.content)
    missing_uid = _frames_url("1.2.3.4", instance.series.series_uid, instance.sop_instance_uid)
    assert client.get(urls[0]).status_code == client.get(missing_uid).status_code == 404
    assert without_csrf(client.get(urls[0]).content) == without_csrf(client.get(missing_uid).content)

    # Audited: one imaging entry per study (counts only) and the shredding of each study's keys.
    erased_entries = AuditEntry.objects.filter(action="imaging.study.erased", pk__gt=0).order_by("seq")
    assert [(e.target_id, e.patient_id, e.category, e.actor_id) for e in erased_entries] == [
        (str(s.pk), paula.patient.pk, "access", alice.pk) for s in studies
    ]
    assert erased_entries[0].details == {"instances": 2, "series": 2} and erased_entries[0].purpose == REASON
    shredded = AuditEntry.objects.filter(action="vault.shredded", target_type="imaging.study")
    assert sorted(shredded.values_list("target_id", flat=True)) == sorted(str(s.pk) for s in studies)
    assert AuditEntry.objects.count() > entries_before


@pytest.mark.django_db(transaction=True)  # the shred list's apply checkpoints SQLite / vacuums PostgreSQL
def test_a_restored_database_has_the_study_keys_destroyed_again(alice, paula, structure, blob_dir):
    """A backup taken before the erasure holds the study's keys and rows: the shred list's
    entries destroy the keys again, and the rows that came back answer the 404 of a missing study."""
    _instance, studies, _other, _upload = _paulas_imaging(alice, paula, structure)
    study = studies[0]
    entries = [{"owner_type": "accounts.patient", "owner_id": str(paula.patient.vault_id)}] + [
        {"owner_type": "imaging.study", "owner_id": str(s.vault_id)} for s in studies
    ]
    # What a restore of that backup finds: keys and rows all there; then the shred list is applied.
    assert DataKey.objects.filter(owner_id__in=[e["owner_id"] for e in entries], destroyed_at=None).count() == 3
    assert shredlist.apply(entries) == 3
    assert all(vault.is_shredded(vault.OwnerRef(e["owner_type"], e["owner_id"])) for e in entries)
    fresh = Study.objects.get(pk=study.pk)
    with pytest.raises(Erased):
        str(fresh.description)


@pytest.mark.django_db(transaction=True)
def test_a_restored_study_of_an_erased_patient_answers_404(client, alice, paula, structure, blob_dir):
    _instance, studies, _other, _upload = _paulas_imaging(alice, paula, structure)
    instance = Instance.objects.filter(study=studies[0]).select_related("series").first()
    shredlist.apply(
        [{"owner_type": "accounts.patient", "owner_id": str(paula.patient.vault_id)}]
        + [{"owner_type": "imaging.study", "owner_id": str(s.vault_id)} for s in studies]
    )
    login_as(client, alice)
    missing = client.get(f"/imagerie/etude/{MISSING}/")
    erased = client.get(f"/imagerie/etude/{studies[0].pk}/")
    assert erased.status_code == 404 and without_csrf(erased.content) == without_csrf(missing.content)
    url = _frames_url(studies[0].study_uid, instance.series.series_uid, instance.sop_instance_uid)
    assert client.get(url).status_code == 404
    listing = client.get(f"/imagerie/patient/{paula.patient.pk}/")
    assert listing.status_code in (200, 404) and f"/imagerie/etude/{studies[0].pk}/" not in listing.content.decode()


def test_nothing_new_is_stored_for_an_erased_patient(client, alice, paula, structure, blob_dir):
    from django.core.exceptions import ValidationError

    from cordee.imaging.dicom import DicomRefused

    ins, patient = paula.patient.ins, paula.patient
    waiting = do_ingest(variant(), by=None, source=Source.CSTORE, structure=structure).study
    vault.do_shred(patient, by=alice, reason=REASON)
    # A device sends a file carrying her INS: refused (a C-STORE failure, a STOW-RS failed instance).
    with pytest.raises(DicomRefused) as refused:
        do_ingest(variant(ins=ins), by=None, source=Source.CSTORE, structure=structure)
    assert refused.value.code == "erased"
    assert list(Study.objects.values_list("pk", flat=True)) == [waiting.pk]  # no new study, no key left
    # Her care team cannot upload for her any more, nor attach a received study to her.
    login_as(client, alice)
    start = client.post(
        f"/imagerie/patient/{patient.pk}/televersements/", '{"size": 1000}', content_type="application/json"
    )
    assert start.status_code == 409 and start.json()["code"] == "erased" and not Upload.objects.exists()
    with pytest.raises(ValidationError):
        reconcile.do_reconcile(waiting, Patient.objects.get(pk=patient.pk), by=alice)
    assert Study.objects.get(pk=waiting.pk).patient_id is None


def test_the_daily_sweep_erases_studies_left_of_an_erased_patient(alice, paula, structure, blob_dir):
    """A patient erased before erasure reached imaging (or studies back with an older backup):
    her key destroyed, her studies still there. The worker's daily job erases them."""
    from cordee.imaging.services.erasure import sweep_erased
    from cordee.worker.jobs import registered

    _instance, studies, other, _upload = _paulas_imaging(alice, paula, structure)
    third = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    # Her key destroyed as an erasure made before this existed did it (no signal to imaging).
    DataKey.objects.filter(owner_type="accounts.patient", owner_id=str(paula.patient.vault_id)).update(
        wrapped_aead=b"", wrapped_streaming=b"", kek_key_id=None, destroyed_at=timezone.now()
    )
    assert sweep_erased() == 3
    assert list(Study.objects.values_list("pk", flat=True)) == [other.pk]
    assert all(vault.is_shredded(s) for s in [*studies, third])
    entries = AuditEntry.objects.filter(action="imaging.study.erased")
    assert entries.count() == 3 and {e.actor_id for e in entries} == {None}
    assert {e.purpose for e in entries} == {"imaging.erasure_catch_up"}
    assert sweep_erased() == 0  # nothing left: nothing written
    assert AuditEntry.objects.filter(action="imaging.study.erased").count() == 3
    (job,) = [job for job in registered() if job.name == "imaging.erase_leftovers"]
    assert job.run is sweep_erased and job.shared


def test_an_erasure_by_vault_id_reaches_the_studies_too(alice, paula, blob_dir):
    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    vault.do_shred(vault.OwnerRef("accounts.patient", str(paula.patient.vault_id)), by=alice, reason=REASON)
    assert not Study.objects.filter(pk=study.pk).exists() and vault.is_shredded(study)
