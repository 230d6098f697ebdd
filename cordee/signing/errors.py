"""The errors of the signing app: each says what went wrong in words a caller can show or log."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class SigningError(Exception):
    """Base of the signing app's errors."""


class NotAllowedToSign(SigningError):
    """The account may not hold a signing certificate: not an active, verified professional."""


class SigningKeyError(SigningError, ImproperlyConfigured):
    """A key file (the CA, the QR key) is missing or unreadable: the deployment must fix its files."""


class InvalidPdf(SigningError):
    """The bytes given are not a PDF pyHanko can read (or carry no signature to validate)."""


class InvalidQrPayload(SigningError):
    """A QR text that does not verify: junk, truncated, altered, or signed by another key."""
