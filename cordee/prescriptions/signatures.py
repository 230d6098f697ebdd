"""The signing app's interface, as the prescriptions use it (``cordee.signing``, its own app).

``cordee.signing.pades`` signs the PDF (PAdES, the prescriber's certificate from the deployment CA)
and validates it; ``cordee.signing.qr`` signs and verifies the QR's compact payload (Ed25519).
Until the signing app is installed in this branch, ``available()`` is False: a prescription is then
rendered but not signed, and the QR carries the payload unsigned (the tests that need the
signature skip). Nothing else in this app imports ``cordee.signing``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

try:  # the signing app may be absent from a checkout of this branch alone
    from cordee.signing import pades as _pades
    from cordee.signing import qr as _qr
except ImportError:  # pragma: no cover - the merged product always has it
    _pades = None
    _qr = None


class InvalidQr(Exception):
    pass


@dataclass(frozen=True)
class Validation:
    valid: bool
    intact: bool
    trusted: bool
    signer_name: str
    signer_rpps: str
    signed_at: Any
    problem: str


def available() -> bool:
    return _pades is not None and _qr is not None


def sign_pdf(pdf: bytes, user: Any, *, reason: str) -> bytes:
    if _pades is None:
        return pdf
    return bytes(_pades.sign_pdf(pdf, user, reason=reason, location="France"))


def validate_pdf(pdf: bytes) -> Validation:
    if _pades is None:
        return Validation(False, False, False, "", "", None, "unsigned")
    found = _pades.validate_pdf(pdf)
    return Validation(
        bool(found.valid),
        bool(found.intact),
        bool(found.trusted),
        str(found.signer_name or ""),
        str(found.signer_rpps or ""),
        found.signed_at,
        str(found.problem or ""),
    )


def sign_qr(payload: dict[str, Any]) -> str:
    if _qr is None:
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return str(_qr.sign_qr_payload(payload))


def verify_qr(text: str) -> dict[str, Any]:
    if _qr is None:
        raise InvalidQr("unsigned")
    try:
        return dict(_qr.verify_qr_payload(text))
    except _qr.InvalidQrPayload as error:
        raise InvalidQr(str(error)) from None


def public_key_pem() -> str:
    if _qr is None:
        return ""
    key = _qr.public_key_pem()
    return key.decode() if isinstance(key, bytes) else str(key)
