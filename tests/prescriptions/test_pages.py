"""The pages: anonymous and outsiders get nothing (the same 404 as a missing prescription), the
prescriber writes and signs, the patient sees hers, the pharmacist opens by number or QR and dispenses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cordee.audit.models import AuditEntry
from cordee.prescriptions import purposes
from cordee.prescriptions.models import Prescription
from tests.conftest import without_csrf
from tests.prescriptions.conftest import DOLIPRANE


def test_anonymous_is_sent_to_login(client, signed):
    for url in (
        reverse("prescriptions:detail", args=[signed.pk]),
        reverse("prescriptions:patient", args=[signed.patient_id]),
        reverse("prescriptions:download", args=[signed.pk]),
        reverse("prescriptions:pharmacy"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_outsider_gets_the_answer_of_a_missing_prescription(client_for, charlie, signed):
    client = client_for(charlie)
    outsider = client.get(reverse("prescriptions:detail", args=[signed.pk]))
    missing = client.get(reverse("prescriptions:detail", args=[signed.pk + 1000]))
    assert outsider.status_code == missing.status_code == 404
    assert without_csrf(outsider.content) == without_csrf(missing.content)
    assert client.get(reverse("prescriptions:download", args=[signed.pk])).status_code == 404
    assert client.post(reverse("prescriptions:cancel", args=[signed.pk]), {"reason": "x"}).status_code == 404
    assert AuditEntry.objects.filter(action="access.refused", actor_id=charlie.pk).count() >= 3


def test_the_prescriber_writes_and_signs_from_the_pages(client_for, alice, paula, drugs):
    client = client_for(alice)
    response = client.post(reverse("prescriptions:create", args=[paula.patient.pk]))
    prescription = Prescription.objects.get()
    assert response["Location"] == reverse("prescriptions:detail", args=[prescription.pk])
    results = client.get(reverse("prescriptions:drug_search"), {"q": "doliprane"})
    assert f'value="cis:{DOLIPRANE}"' in results.content.decode()
    client.post(reverse("prescriptions:add_line", args=[prescription.pk]),
                {"choice": f"cis:{DOLIPRANE}", "dose": "1", "unit": "comprimé", "times": "3", "per": "day",
                 "duration_days": "5", "quantity": "2"})  # fmt: skip
    page = client.get(reverse("prescriptions:detail", args=[prescription.pk])).content.decode()
    assert "DOLIPRANE 500 mg" in page and "1 comprimé 3 fois par jour, pendant 5 jours." in page
    client.post(reverse("prescriptions:sign", args=[prescription.pk]))
    prescription.refresh_from_db()
    assert prescription.status == "signed"
    pdf = client.get(reverse("prescriptions:download", args=[prescription.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_signing_from_the_page_needs_a_recent_sign_in(client_for, alice, paula, drugs):
    from cordee.prescriptions.services import drafts
    from tests.prescriptions.conftest import line

    prescription = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, prescription.pk, line())
    response = client_for(alice, recent=False).post(reverse("prescriptions:sign", args=[prescription.pk]))
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    prescription.refresh_from_db()
    assert prescription.status == "draft"


def test_the_patient_sees_her_signed_prescriptions(client_for, paula, signed):
    client = client_for(paula)
    assert client.get(reverse("prescriptions:mine"))["Location"] == reverse(
        "prescriptions:patient", args=[paula.patient.pk]
    )
    page = client.get(reverse("prescriptions:patient", args=[paula.patient.pk])).content.decode()
    assert signed.number in page
    assert client.get(reverse("prescriptions:detail", args=[signed.pk])).status_code == 200
    assert AuditEntry.objects.filter(action=purposes.READ, actor_id=paula.pk).exists()


def test_the_pharmacist_opens_by_number_and_dispenses(client_for, phil, signed):
    client = client_for(phil)
    counter = client.get(reverse("prescriptions:pharmacy"))
    assert counter.status_code == 200 and "camera=(self)" in counter["Permissions-Policy"]
    page = client.post(reverse("prescriptions:pharmacy_open"), {"number": signed.number}).content.decode()
    assert 'data-signature="valid"' in page and "DOLIPRANE" in page
    assert "Délivré : 0 sur 2 · délivrance 1 sur 1" in page or "Dispensed: 0 of 2 · dispensing 1 of 1" in page
    line = signed.lines.get(kind="product")
    client.post(reverse("prescriptions:pharmacy_dispense"), {"number": signed.number, "line": line.pk, "quantity": "2"})
    assert Prescription.objects.get(pk=signed.pk).status == "dispensed"
    assert AuditEntry.objects.filter(action=purposes.DISPENSED, patient_id=signed.patient_id).count() == 1


def test_the_pharmacist_opens_by_qr_and_a_foreign_qr_is_refused(client_for, phil, signed):
    client = client_for(phil)
    page = client.post(reverse("prescriptions:pharmacy_open"), {"qr": signed.qr_text})
    assert page.status_code == 200 and signed.number in page.content.decode()
    refused = client.post(reverse("prescriptions:pharmacy_open"), {"qr": "CRD1:NOTSIGNED"})
    assert refused.status_code == 400


@pytest.mark.parametrize("who", ["alice", "bob", "paula"])
def test_the_counter_is_for_pharmacists_only(client_for, personas, signed, who):
    client = client_for(personas[who])
    assert client.get(reverse("prescriptions:pharmacy")).status_code == 404
    assert client.post(reverse("prescriptions:pharmacy_open"), {"number": signed.number}).status_code == 404
