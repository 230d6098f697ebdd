"""The pages: a patient's studies, the chunked upload, the viewer page, the inbox, the export."""

from __future__ import annotations

import io
import json
import zipfile

import pydicom
import pytest

from cordee.audit.models import AuditEntry
from cordee.imaging.models import Instance, Source, Study, Upload
from cordee.imaging.services.ingest import do_ingest
from tests.conftest import login_as, without_csrf
from tests.imaging.conftest import shared, upload, variant

pytestmark = pytest.mark.django_db
MISSING = 987654321


def test_anonymous_is_sent_to_login(client, paula):
    study = do_ingest(variant(), by=None, source=Source.UPLOAD, patient=paula.patient).study
    for url in (f"/imagerie/patient/{paula.patient.pk}/", f"/imagerie/etude/{study.pk}/", "/imagerie/a-rapprocher/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_alice_uploads_in_chunks_and_resumes(client, alice, paula, settings):
    settings.IMAGING_UPLOAD_CHUNK_BYTES = 8 * 1024
    login_as(client, alice)
    data = shared("CT_small.dcm")  # 39 kB: five chunks
    response = client.post(
        f"/imagerie/patient/{paula.patient.pk}/televersements/",
        json.dumps({"size": len(data)}),
        content_type="application/json",
    )
    token = response.json()["token"]
    url = f"/imagerie/televersement/{token}/"
    assert (
        client.put(url, data[:8192], content_type="application/octet-stream", headers={"Upload-Offset": "0"}).json()[
            "received"
        ]
        == 8192
    )
    # A cut: the client asks where to resume; a chunk at the wrong offset gets the right one.
    assert client.get(url).json()["received"] == 8192
    wrong = client.put(url, data[:8192], content_type="application/octet-stream", headers={"Upload-Offset": "0"})
    assert wrong.status_code == 409 and wrong.json()["received"] == 8192
    offset = 8192
    while True:
        answer = client.put(
            url,
            data[offset : offset + 8192],
            content_type="application/octet-stream",
            headers={"Upload-Offset": str(offset)},
        ).json()
        if answer["done"]:
            break
        offset = answer["received"]
    assert answer["stored"] == 1 and answer["refused"] == []
    study = Study.objects.get()
    assert study.patient_id == paula.patient.pk and study.source == "upload"
    assert not Upload.objects.get().chunks.exists()  # the chunks' blobs are gone
    # Someone else cannot reach Alice's upload.
    login_as(client, charlie := alice.__class__.objects.get(email="charlie@cordee.test"))
    assert client.get(url).status_code == 404 and charlie


def test_upload_refusals(client, alice, paula, settings):
    login_as(client, alice)
    status, body = upload(client, paula.patient.pk, shared("no_meta.dcm"))
    assert status == 200 and body["stored"] == 0 and body["refused"][0]["code"] == "not_dicom"
    settings.IMAGING_MAX_FILE_BYTES = 1000
    status, body = upload(client, paula.patient.pk, shared("CT_small.dcm"))
    assert status == 413 and body["code"] == "too_large"


def test_a_cd_folder_as_zip(client, alice, paula):
    login_as(client, alice)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in ("CT_small.dcm", "MR_small.dcm", "examples_ybr_color.dcm"):
            archive.writestr(f"DICOM/{name}", shared(name))
    status, body = upload(client, paula.patient.pk, out.getvalue())
    assert status == 200 and body["stored"] == 3


def test_outsiders_get_the_404_of_a_missing_study(client, alice, charlie, paula, sam):
    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    login_as(client, charlie)
    pages = []
    for study_id in (study.pk, MISSING, "junk"):
        response = client.get(f"/imagerie/etude/{study_id}/")
        assert response.status_code == 404
        pages.append(without_csrf(response.content))
    assert pages[0] == pages[1]
    assert client.get(f"/imagerie/patient/{paula.patient.pk}/").status_code == 404
    assert client.post(f"/imagerie/etude/{study.pk}/copie-anonymisee/").status_code == 404
    assert (
        AuditEntry.objects.filter(actor_id=charlie.pk, action="access.refused", target_type="imaging.study").count()
        >= 2
    )
    start = client.post(
        f"/imagerie/patient/{paula.patient.pk}/televersements/",
        json.dumps({"size": 10}),
        content_type="application/json",
    )
    assert start.status_code == 404


def test_opening_a_study_is_one_audit_entry_with_the_count(client, alice, paula):
    study_uid = "1.2.826.0.1.3680043.8.498.77"
    for _ in range(3):
        do_ingest(variant(study=study_uid), by=alice, source=Source.UPLOAD, patient=paula.patient)
    study = Study.objects.get(study_uid=study_uid)
    login_as(client, alice)
    response = client.get(f"/imagerie/etude/{study.pk}/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store, private"
    entry = AuditEntry.objects.get(action="imaging.study.opened")
    assert entry.patient_id == paula.patient.pk and entry.details["instances"] == 3
    assert entry.details["basis"] == "care_team"


def test_paula_sees_her_studies_and_who_opened_them(client, alice, paula):
    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    login_as(client, alice)
    client.get(f"/imagerie/etude/{study.pk}/")
    login_as(client, paula)
    response = client.get("/imagerie/", follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert f"/imagerie/etude/{study.pk}/" in text and "Alice" in text
    assert client.get(f"/imagerie/etude/{study.pk}/").status_code == 200
    assert client.post(f"/imagerie/etude/{study.pk}/copie-anonymisee/").status_code == 404  # professionals only


def test_inbox_and_reconciliation(client, alice, charlie, paula, structure):
    data = variant(PatientName="BERNARD^Paula", PatientBirthDate="19850714", PatientID="X123")
    stored = do_ingest(data, by=None, source=Source.CSTORE, structure=structure, calling_ae="MODALITY")
    study = stored.study
    assert study.patient_id is None
    login_as(client, alice)
    inbox = client.get("/imagerie/a-rapprocher/")
    assert f"/imagerie/a-rapprocher/{study.pk}/" in inbox.content.decode()
    page = client.get(f"/imagerie/a-rapprocher/{study.pk}/")
    assert f'value="{paula.patient.pk}"' in page.content.decode()  # proposed by name + birth date
    # Charlie (same structure, not in Paula's care team) is not proposed Paula, and cannot attach to her.
    login_as(client, charlie)
    assert f'value="{paula.patient.pk}"' not in client.get(f"/imagerie/a-rapprocher/{study.pk}/").content.decode()
    assert client.post(f"/imagerie/a-rapprocher/{study.pk}/", {"patient": paula.patient.pk}).status_code == 404
    login_as(client, alice)
    response = client.post(f"/imagerie/a-rapprocher/{study.pk}/", {"patient": paula.patient.pk})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.patient_id == paula.patient.pk
    instance = Instance.objects.select_related("blob").get()
    assert instance.blob.owner_type == "accounts.patient"  # re-encrypted with her key
    from cordee.vault.blobs import iter_blob

    assert b"".join(iter_blob(instance.blob)) == data
    assert AuditEntry.objects.filter(action="imaging.study.reconciled", patient_id=paula.patient.pk).exists()


def test_deidentified_export(client, alice, paula):
    study_uid = "1.2.826.0.1.3680043.8.498.88"
    series = "1.2.826.0.1.3680043.8.498.89"
    for _ in range(2):
        do_ingest(
            variant(study=study_uid, series=series, PatientName="BERNARD^Paula", InstitutionName="CHU"),
            by=alice,
            source=Source.UPLOAD,
            patient=paula.patient,
        )
    study = Study.objects.get(study_uid=study_uid)
    login_as(client, alice)
    response = client.post(f"/imagerie/etude/{study.pk}/copie-anonymisee/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    datasets = [pydicom.dcmread(io.BytesIO(archive.read(name))) for name in archive.namelist()]
    assert len(datasets) == 2
    for ds in datasets:
        assert str(ds.PatientName) == "" and "InstitutionName" not in ds and ds.PatientIdentityRemoved == "YES"
        assert ds.StudyInstanceUID != study_uid
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1  # remapped consistently
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert AuditEntry.objects.filter(action="imaging.study.deidentified_export", patient_id=paula.patient.pk).exists()


def test_export_refused_when_burned_in_annotation(client, alice, paula):
    study = do_ingest(variant(BurnedInAnnotation="YES"), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    login_as(client, alice)
    response = client.post(f"/imagerie/etude/{study.pk}/copie-anonymisee/", follow=True)
    assert (
        response.redirect_chain
        and "burned" in response.content.decode().lower()
        or "incrust" in response.content.decode().lower()
    )
    assert not AuditEntry.objects.filter(action="imaging.study.deidentified_export").exists()


def test_share_into_the_care_team_thread(client, alice, bob, charlie, paula):
    from cordee.messaging.models import Conversation, Message

    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    thread = (
        Conversation.objects.filter(patient_id=paula.patient.pk, kind="care_team").first()
        or Conversation.objects.filter(patient_id=paula.patient.pk).first()
    )
    login_as(client, alice)
    page = client.get(f"/imagerie/etude/{study.pk}/").content.decode()
    assert f'value="{thread.pk}"' in page
    response = client.post(f"/imagerie/etude/{study.pk}/partager/", {"conversation": thread.pk})
    assert response.status_code == 302
    message = Message.objects.filter(conversation=thread).order_by("-pk").first()
    assert f"/imagerie/etude/{study.pk}/" in message.body
    assert AuditEntry.objects.filter(action="imaging.study.shared", patient_id=paula.patient.pk).exists()
    login_as(client, bob)
    assert client.get(f"/imagerie/etude/{study.pk}/").status_code == 200
    login_as(client, charlie)
    assert client.get(f"/imagerie/etude/{study.pk}/").status_code == 404
    assert client.post(f"/imagerie/etude/{study.pk}/partager/", {"conversation": thread.pk}).status_code == 404


def test_a_chunk_larger_than_djangos_form_limit(client, alice, paula, settings):
    """A 4 MiB chunk is read from the stream, not refused by DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""
    login_as(client, alice)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n in range(80):
            archive.writestr(f"DICOM/IM{n}", variant())
    data = out.getvalue()
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(data) <= settings.IMAGING_UPLOAD_CHUNK_BYTES
    status, body = upload(client, paula.patient.pk, data)
    assert status == 200 and body["stored"] == 80


def test_the_opening_shows_in_paulas_access_history(client, alice, paula):
    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    login_as(client, alice)
    client.get(f"/imagerie/etude/{study.pk}/")
    login_as(client, paula)
    html = client.get("/patients/mon-historique/").content.decode()
    assert "A ouvert un de vos examens d’imagerie" in html or "Opened one of your imaging studies" in html


def test_only_the_viewer_page_may_compile_webassembly(client, alice, paula):
    """The viewer's codecs are WebAssembly: 'wasm-unsafe-eval' on that page, never 'unsafe-eval',
    and no other page of imaging gets it; the page loads the bundled viewer module."""
    study = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient).study
    login_as(client, alice)
    viewer = client.get(f"/imagerie/etude/{study.pk}/")
    policy = viewer["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src "))
    assert "'wasm-unsafe-eval'" in script_src and "'unsafe-eval'" not in script_src.replace("'wasm-unsafe-eval'", "")
    assert "'unsafe-inline'" not in script_src
    assert 'type="module" src="/static/imaging/build/viewer.js"' in viewer.content.decode()
    listing = client.get(f"/imagerie/patient/{paula.patient.pk}/")
    assert "wasm-unsafe-eval" not in listing["Content-Security-Policy"]
    assert "style-src-attr" not in listing["Content-Security-Policy"]
