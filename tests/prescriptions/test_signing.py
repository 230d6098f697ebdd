"""The signed PDF: PAdES validates against the deployment CA, a changed byte breaks it; its QR is read
back from the rasterised page and verifies offline; a forged or foreign QR does not."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from cordee.prescriptions import signatures
from cordee.prescriptions.services.signing import qr_payload
from cordee.signing.errors import InvalidQrPayload
from cordee.vault.blobs import open_blob


def _pdf(prescription) -> bytes:
    with open_blob(prescription.pdf_blob) as handle:
        return handle.read()


def test_the_pdf_carries_the_mandatory_mentions_and_validates(signed, alice):
    pdf = _pdf(signed)
    result = signatures.validate_pdf(pdf)
    assert result.valid and result.intact and result.trusted, result.problem
    assert result.signer_rpps == alice.professional.rpps
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for mention in ("Alice Martin", "Médecin", "Médecine générale", "RPPS 10000000009", "Maison de santé des Tilleuls",
                    "12 rue des Tilleuls", "69003 Lyon", "Tél. 04 72 00 00 00",
                    "Paula Marie BERNARD", "Femme", "14/07/1985", "DOLIPRANE 500 mg", "3 fois par jour",
                    "Quantité : 2 boîtes", "NFS, ionogramme", signed.number):  # fmt: skip
        assert mention in text, mention


def test_a_changed_byte_breaks_the_signature(signed):
    pdf = bytearray(_pdf(signed))
    at = pdf.index(b"DOLIPRANE") if b"DOLIPRANE" in pdf else len(pdf) // 3
    pdf[at] ^= 0x01
    result = signatures.validate_pdf(bytes(pdf))
    assert not result.valid


def test_the_qr_is_read_from_the_printed_page_and_verifies(signed):
    page = pypdfium2.PdfDocument(_pdf(signed))[0]
    image = page.render(scale=150 / 72).to_pil()  # 150 dpi, as printed
    (barcode,) = zxingcpp.read_barcodes(image)
    payload = signatures.verify_qr(barcode.text)
    assert payload == qr_payload(signed, list(signed.lines.all()), timezone.localdate(signed.signed_at))
    assert payload["id"] == signed.number and payload["pi"] == "PB" and payload["py"] == 1985


def test_a_forged_qr_and_one_from_another_deployment_fail(signed, settings, tmp_path):
    text = signed.qr_text
    forged = text[:-8] + ("A" if text[-8] != "A" else "B") + text[-7:]
    with pytest.raises(InvalidQrPayload):
        signatures.verify_qr(forged)
    other = tmp_path / "other-qr.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ours = settings.SIGNING_QR_KEY_PATH
    settings.SIGNING_QR_KEY_PATH = other
    foreign = signatures.sign_qr({"id": signed.number})
    settings.SIGNING_QR_KEY_PATH = ours
    with pytest.raises(InvalidQrPayload):
        signatures.verify_qr(foreign)


def test_the_public_key_command(db, capsys):
    call_command("prescriptions", "public-key")
    assert capsys.readouterr().out.startswith("-----BEGIN PUBLIC KEY-----")
