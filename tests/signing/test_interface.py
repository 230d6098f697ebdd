"""The signing interface end to end: certificate on first use, PAdES sign and validate, QR sign and verify."""

from __future__ import annotations

import pytest

from cordee.audit.models import AuditEntry
from cordee.signing import pki, qr
from cordee.signing.errors import InvalidQrPayload, NotAllowedToSign
from cordee.signing.models import SigningCertificate
from cordee.signing.pades import sign_pdf, validate_pdf
from tests.signing.pdfs import one_page

pytestmark = pytest.mark.django_db


def test_a_signed_pdf_validates_and_names_its_signer(alice):
    signed = sign_pdf(one_page(), alice, reason="Prescription", location="Lyon")
    result = validate_pdf(signed)
    assert result.valid and result.intact and result.trusted, result.problem
    assert result.signer_rpps == alice.professional.rpps
    assert result.signer_name == alice.display_name
    assert result.signed_at is not None and result.problem is None and not result.timestamped
    entry = AuditEntry.objects.get(action="signing.pdf_signed")
    assert entry.actor_id == alice.pk and entry.details["serial"] == SigningCertificate.objects.get().serial


def test_the_certificate_is_issued_once_on_first_use(alice):
    first = pki.certificate_for(alice)
    assert pki.certificate_for(alice).pk == first.pk
    assert first.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert f"2.5.4.5=8{alice.professional.rpps}" in first.subject
    assert AuditEntry.objects.filter(action="signing.certificate_issued", actor_id=alice.pk).count() == 1


def test_a_patient_or_a_secretary_may_not_sign(paula, sam):
    for user in (paula, sam):
        with pytest.raises(NotAllowedToSign):
            sign_pdf(one_page(), user, reason="x")


def test_a_qr_payload_round_trips_and_a_changed_byte_fails(db):
    payload = {"id": "RX-1", "rpps": "10000000009", "lines": [{"cip13": "3400930000000", "qty": 2}]}
    text = qr.sign_qr_payload(payload)
    assert text.startswith("CRD1:")
    assert qr.verify_qr_payload(text) == payload
    assert qr.qr_png(text).startswith(b"\x89PNG")
    forged = text[:-10] + ("0" if text[-10] != "0" else "1") + text[-9:]
    with pytest.raises(InvalidQrPayload):
        qr.verify_qr_payload(forged)


def test_a_printed_qr_is_read_back_from_the_rasterised_pdf_and_verifies(db):
    import pypdfium2
    import zxingcpp

    payload = {"id": "RX-2", "d": "2026-12-03", "rpps": "10000000009", "pt": "PD1980", "l": [["3400930000000", 2]]}
    text = qr.sign_qr_payload(payload)
    pdf = one_page(qr_png=qr.qr_png(text, scale=8), qr_size_mm=30)
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=150 / 72).to_pil()  # 150 dpi, as printed
    found = zxingcpp.read_barcodes(image)
    assert [barcode.text for barcode in found] == [text]
    assert qr.verify_qr_payload(found[0].text) == payload
