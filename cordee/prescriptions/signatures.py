"""The signing app's interface, as the prescriptions use it (``cordee.signing``, its own app).

``cordee.signing.pades`` signs the PDF (PAdES, the prescriber's certificate from the deployment CA)
and validates it; ``cordee.signing.qr`` signs and verifies the QR's compact payload (COSE_Sign1,
Ed25519). This module only narrows their answers to what the prescriptions show.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cordee.signing import pades, qr
from cordee.signing.errors import InvalidPdf, InvalidQrPayload

__all__ = ["InvalidPdf", "InvalidQrPayload", "public_key_pem", "sign_pdf", "sign_qr", "validate_pdf", "verify_qr"]


def sign_pdf(pdf: bytes, user: Any, *, reason: str, request: HttpRequest | None = None) -> bytes:
    return pades.sign_pdf(pdf, user, reason=reason, location="France", request=request)


def validate_pdf(pdf: bytes) -> pades.PdfValidation:
    return pades.validate_pdf(pdf)


def sign_qr(payload: dict[str, Any], *, actor: Any = None, request: HttpRequest | None = None) -> str:
    return qr.sign_qr_payload(payload, actor=actor, request=request)


def verify_qr(text: str) -> dict[str, Any]:
    """The payload of a QR text signed by this deployment; ``InvalidQrPayload`` otherwise."""
    return qr.verify_qr_payload(text)


def qr_png(text: str) -> bytes:
    return qr.qr_png(text, scale=8, border=2)


def public_key_pem() -> str:
    return qr.public_key_pem()
