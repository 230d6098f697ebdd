"""Signed QR payloads: round trip, forgeries, other deployments, junk; the public key for pharmacies."""

from __future__ import annotations

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from cordee.audit.models import AuditEntry
from cordee.signing import keys, qr
from cordee.signing.errors import InvalidQrPayload

pytestmark = pytest.mark.django_db

PAYLOAD = {"id": "RX-7", "d": "2026-12-03", "rpps": "10000000009", "pt": "PD1980", "l": [["3400930000000", 2, 0]]}


def _signed_by(private: Ed25519PrivateKey, payload: dict, *, kid: bytes | None = None) -> str:
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = keys.raw_public_key(private.public_key())
    message = Sign1Message(
        phdr={Algorithm: EdDSA, KID: kid or keys.qr_key_id(private.public_key())}, payload=cbor2.dumps(payload)
    )
    message.key = OKPKey(crv=Ed25519, d=raw, x=public)
    return qr.PREFIX + base45.b45encode(message.encode()).decode("ascii")


def test_the_payload_round_trips_with_the_printed_public_key():
    text = qr.sign_qr_payload(PAYLOAD)
    assert set(text[len(qr.PREFIX) :]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # QR alphanumeric mode
    assert qr.verify_qr_payload(text, qr.public_key_pem()) == PAYLOAD
    assert qr.verify_qr_payload(text.lower().upper() + "\n") == PAYLOAD  # a scanner's trailing newline
    entry = AuditEntry.objects.get(action="signing.qr_signed")
    assert entry.details["kid"] == keys.qr_key_id().hex() and "RX-7" not in str(entry.details)


def test_a_qr_of_another_deployment_fails():
    other = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidQrPayload, match="another deployment"):
        qr.verify_qr_payload(_signed_by(other, PAYLOAD))
    # signed by another key that claims this deployment's key id
    with pytest.raises(InvalidQrPayload, match="altered or forged"):
        qr.verify_qr_payload(_signed_by(other, PAYLOAD, kid=keys.qr_key_id()))
    # this deployment's QR checked against another deployment's public key
    with pytest.raises(InvalidQrPayload):
        qr.verify_qr_payload(qr.sign_qr_payload(PAYLOAD), other.public_key())


def test_every_changed_character_fails():
    text = qr.sign_qr_payload(PAYLOAD)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for at in range(len(qr.PREFIX), len(text)):
        forged = text[:at] + alphabet[(alphabet.index(text[at]) + 1) % len(alphabet)] + text[at + 1 :]
        with pytest.raises(InvalidQrPayload):
            qr.verify_qr_payload(forged)


def test_a_changed_payload_with_the_old_signature_fails():
    text = qr.sign_qr_payload(PAYLOAD)
    structure = cbor2.loads(base45.b45decode(text[len(qr.PREFIX) :])[1:])
    structure[2] = cbor2.dumps({**PAYLOAD, "l": [["3400930000000", 20, 0]]}, canonical=True)
    forged = qr.PREFIX + base45.b45encode(b"\xd2" + cbor2.dumps(structure)).decode("ascii")
    with pytest.raises(InvalidQrPayload, match="altered or forged"):
        qr.verify_qr_payload(forged)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "hello",
        "CRD1:",
        "CRD1:!!!",
        "CRD1:AB",
        "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0FDC",
        "x" * 10_000,
        "CRD1:" + base45.b45encode(cbor2.dumps([1, 2, 3])).decode(),
        "CRD1:" + base45.b45encode(b"\xd2" + cbor2.dumps([b"", {}, b"", b""])).decode(),
        "CRD1:" + base45.b45encode(b"\xd2" + cbor2.dumps("text")).decode(),
    ],
)
def test_junk_is_an_invalid_qr(junk):
    with pytest.raises(InvalidQrPayload):
        qr.verify_qr_payload(junk)


def test_a_payload_that_is_not_a_map_is_refused_on_both_sides():
    other = Ed25519PrivateKey.generate()
    text = _signed_by(other, {}, kid=None)
    with pytest.raises(InvalidQrPayload):
        qr.verify_qr_payload(text)
    with pytest.raises(TypeError):
        qr.sign_qr_payload(["not", "a", "map"])  # type: ignore[arg-type]  # the refusal under test
    with pytest.raises(TypeError):
        qr.sign_qr_payload({"when": object()})
    with pytest.raises(ValueError, match="keep it short"):
        qr.sign_qr_payload({"notes": "x" * 5000})


def test_the_qr_images():
    text = qr.sign_qr_payload(PAYLOAD)
    assert qr.qr_png(text).startswith(b"\x89PNG\r\n")
    svg = qr.qr_svg(text)
    assert svg.startswith("<svg") and "<?xml" not in svg


def test_the_offline_recipe_of_docs_signing_md_verifies_with_the_printed_key(tmp_path):
    """What a pharmacy runs without Cordée (docs/signing.md), with only the printed public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

    text = qr.sign_qr_payload(PAYLOAD)
    key_file = tmp_path / "cordee-qr.pem"
    key_file.write_text(qr.public_key_pem())
    raw = base45.b45decode(text.removeprefix("CRD1:"))
    assert raw[0] == 0xD2
    message = Sign1Message.from_cose_obj(cbor2.loads(raw[1:]), True)
    public = load_pem_public_key(key_file.read_bytes()).public_bytes(Encoding.Raw, PublicFormat.Raw)
    message.key = OKPKey(crv=Ed25519, x=public)
    assert message.verify_signature()
    assert cbor2.loads(message.payload) == PAYLOAD
    assert message.phdr[KID] == keys.qr_key_id()
