"""Signed payloads small enough for a printed QR code, verifiable offline with the deployment's public key.

The text is ``CRD1:`` + base45(COSE_Sign1) — the construction of the EU digital COVID certificate
(without its zlib step: on a few hundred bytes, most of them a signature, it saves nothing):

- the payload (a dict) is encoded as canonical CBOR;
- COSE_Sign1 (RFC 9052) signs it with the deployment's Ed25519 QR key (``keys.py``); the protected
  header holds the algorithm (EdDSA) and ``kid``, the first 8 bytes of SHA-256 of the raw public key;
- base45 (RFC 9285) uses only characters of the QR code's alphanumeric mode (5.5 bits each), so the
  code is smaller than with base64 in byte mode.

Any reader with the public key (``manage.py signing public-key``) verifies it with no network, with
any COSE library (docs/signing.md). The choice is recorded in docs/decisions/0014-signing-pades-and-qr.md.
"""

from __future__ import annotations

import binascii
import hashlib
import io
from typing import Any

import base45
import cbor2
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.http import HttpRequest
from pycose.algorithms import EdDSA
from pycose.exceptions import CoseException
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from cordee.signing import keys, services
from cordee.signing.errors import InvalidQrPayload

PREFIX = "CRD1:"
MAX_TEXT = 4000  # a QR code holds at most 4296 alphanumeric characters
COSE_SIGN1_TAG = b"\xd2"  # CBOR tag 18 (COSE_Sign1), in its one-byte form
MAX_PAYLOAD = 2000  # bytes of CBOR: what still prints as a code a phone reads at print size


def _cose_key(*, private: bool, public_key: Ed25519PublicKey | None = None) -> OKPKey:
    if private:
        secret = keys.qr_private_key()
        raw_private = secret.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return OKPKey(crv=Ed25519, d=raw_private, x=keys.raw_public_key(secret.public_key()))
    return OKPKey(crv=Ed25519, x=keys.raw_public_key(public_key or keys.qr_public_key()))


def sign_qr_payload(payload: dict[str, Any], *, actor: Any = None, request: HttpRequest | None = None) -> str:
    """``payload`` signed with the deployment's QR key, as QR-ready text (``CRD1:…``); audited.

    The payload must be CBOR-encodable (str, int, bytes, lists, dicts, bools, None) and keep to
    what a pharmacy needs: it is readable by anyone who scans the code (it is signed, not encrypted).
    """
    if not isinstance(payload, dict):
        raise TypeError("a QR payload is a dict")
    try:
        body = cbor2.dumps(payload, canonical=True)
    except cbor2.CBOREncodeError as exc:
        raise TypeError(f"the QR payload cannot be encoded as CBOR: {exc}") from None
    if len(body) > MAX_PAYLOAD:
        raise ValueError(f"the QR payload is {len(body)} bytes of CBOR, more than {MAX_PAYLOAD}: keep it short")
    kid = keys.qr_key_id()
    message = Sign1Message(phdr={Algorithm: EdDSA, KID: kid}, payload=body)
    message.key = _cose_key(private=True)
    text = PREFIX + base45.b45encode(message.encode()).decode("ascii")
    services.record_signature(
        services.QR_SIGNED,
        actor=actor,
        request=request,
        details={"kid": kid.hex(), "sha256": hashlib.sha256(body).hexdigest(), "length": len(text)},
    )
    return text


def _public_key(public_key: Ed25519PublicKey | str | bytes | None) -> Ed25519PublicKey:
    if public_key is None:
        return keys.qr_public_key()
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    data = public_key.encode("ascii") if isinstance(public_key, str) else public_key
    loaded = serialization.load_pem_public_key(data)
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("the QR public key must be an Ed25519 key")
    return loaded


def _decode_sign1(encoded: bytes) -> Sign1Message:
    """A tagged COSE_Sign1 (tag 18), decoded without the tag.

    ``Sign1Message.decode`` fails with cbor2 6, which decodes the content of a tag as immutable
    tuples and frozen dicts where pycose wants a list and a dict: the tag byte is checked here and
    the array under it decoded on its own (a plain CBOR array: a list and a dict, as pycose wants).
    """
    if encoded[:1] != COSE_SIGN1_TAG:
        raise ValueError("not a tagged COSE_Sign1")
    structure = cbor2.loads(encoded[1:])
    if not isinstance(structure, list) or len(structure) != 4:
        raise ValueError("not a COSE_Sign1 structure")
    return Sign1Message.from_cose_obj(structure, True)  # type: ignore[no-any-return]  # pycose is untyped


def verify_qr_payload(text: str, public_key: Ed25519PublicKey | str | bytes | None = None) -> dict[str, Any]:
    """The payload of a QR text signed by the deployment's key (or by ``public_key``, a key or its PEM).

    ``InvalidQrPayload`` for anything else: junk, a truncated or altered text, another deployment's code.
    """
    key = _public_key(public_key)
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InvalidQrPayload("This is not a Cordée QR code.")
    text = text.strip()
    if not text.startswith(PREFIX):
        raise InvalidQrPayload("This is not a Cordée QR code.")
    try:
        encoded = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, binascii.Error):
        raise InvalidQrPayload("The QR code is damaged or incomplete.") from None
    try:
        message = _decode_sign1(encoded)
    except (CoseException, cbor2.CBORDecodeError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        raise InvalidQrPayload("The QR code is damaged or incomplete.") from None
    if message.phdr.get(Algorithm) is not EdDSA or message.uhdr:
        raise InvalidQrPayload("The QR code was not signed the way Cordée signs.")
    if message.phdr.get(KID) != keys.qr_key_id(key):
        raise InvalidQrPayload("The QR code was signed by another deployment's key.")
    message.key = _cose_key(private=False, public_key=key)
    try:
        verified = message.verify_signature()
    except (CoseException, ValueError, TypeError):
        verified = False
    if not verified:
        raise InvalidQrPayload("The QR code's signature does not verify: it was altered or forged.")
    try:
        payload = cbor2.loads(message.payload or b"")
    except (cbor2.CBORDecodeError, ValueError):
        raise InvalidQrPayload("The QR code's content cannot be read.") from None
    if not isinstance(payload, dict):
        raise InvalidQrPayload("The QR code's content cannot be read.")
    return payload


def public_key_pem() -> str:
    """The QR key's public key (PEM, SubjectPublicKeyInfo): what a pharmacy needs to verify offline."""
    return (
        keys.qr_public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _qr(text: str) -> segno.QRCode:
    # Error correction M (15 %): a printed code survives a fold or a smudge; segno picks the
    # alphanumeric mode for base45 text by itself.
    return segno.make_qr(text, error="m", boost_error=False)


def qr_png(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    """A PNG of the QR code of ``text`` (``scale`` pixels per module, the standard 4-module quiet zone)."""
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(text: str, *, scale: int = 4, border: int = 4) -> str:
    """An SVG of the QR code of ``text`` (no XML declaration: ready to inline in a page or a template)."""
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="svg", scale=scale, border=border, xmldecl=False, svgns=True)
    return buffer.getvalue().decode("utf-8")
