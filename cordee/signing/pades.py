"""PAdES signatures of PDFs with pyHanko: sign as a professional, validate against the deployment CA.

``sign_pdf`` adds a PAdES baseline B-B signature (B-T when ``SIGNING_TSA_URL`` names a time-stamp
authority) as an incremental update, with the key the backend holds for the user (``backends.py``):
no network unless a TSA is configured. ``validate_pdf`` checks every signature with pyHanko's
validator, trusting only the deployment CA (and the older CAs of ``SIGNING_TRUSTED_CA_FILES``),
with no fetching of revocation data; a PDF changed after its signature (a byte in the signed
range, or an incremental update that alters content) does not validate.

Both call pyHanko's synchronous API (which runs its own event loop): call them from synchronous
code (a sync view, a service, a task), not from inside a running event loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from cordee.signing import services
from cordee.signing.backends import backend, to_asn1
from cordee.signing.errors import InvalidPdf

logger = logging.getLogger(__name__)

MAX_PDF_BYTES = 50 * 1024 * 1024
# Room for the CMS object: an ECDSA signature, two certificates and the signed attributes take ~2 KB.
# Reserving it saves pyHanko a trial signature to measure it (with a TSA, pyHanko measures).
BYTES_RESERVED = 8192
# Incremental updates a signature survives: none, or only validation data and document timestamps
# (what a later PAdES B-LT / B-LTA upgrade adds). Anything else (content, form fields) breaks it.
ACCEPTED_MODIFICATIONS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


@dataclass(frozen=True)
class PdfValidation:
    """The verdict on a PDF's signatures (the last one's signer when there are several)."""

    valid: bool  # every signature intact, trusted, and the document not changed after it
    intact: bool  # the signed bytes are unchanged and the signature matches them
    trusted: bool  # the signer's certificate chains to a trusted CA and is valid now
    signer_name: str
    signer_rpps: str
    signed_at: dt.datetime | None  # the time stamp's time (B-T), else the time the signer claims (B-B)
    problem: str | None  # why it is not valid, in a sentence (None when valid)
    timestamped: bool = False  # signed_at comes from a valid RFC 3161 time stamp


def _check_bytes(pdf: bytes) -> None:
    if not isinstance(pdf, bytes | bytearray | memoryview):
        raise InvalidPdf("The document is not bytes.")
    if len(pdf) > MAX_PDF_BYTES:
        raise InvalidPdf("The document is too large to be signed or validated here.")
    if not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        raise InvalidPdf("The document is not a PDF (it does not start with %PDF-).")


def sign_pdf(
    pdf: bytes,
    user: Any,
    *,
    reason: str,
    location: str = "",
    field_name: str = "Signature",
    request: HttpRequest | None = None,
) -> bytes:
    """The PDF signed by ``user`` (PAdES B-B), audited. ``NotAllowedToSign`` for an account that may not
    sign, ``InvalidPdf`` for bytes that are not a readable PDF (or already hold a field of that name)."""
    _check_bytes(pdf)
    signer, key_details = backend().pdf_signer(user, request=request)
    tsa_url = settings.SIGNING_TSA_URL
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason or None,
        location=location or None,
        name=signer.subject_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
        output = signers.sign_pdf(
            writer,
            metadata,
            signer=signer,
            timestamper=timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None,
            bytes_reserved=None if tsa_url else BYTES_RESERVED,
        )
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        # pyHanko's reader raises these on a damaged file (its own PdfError, and plain errors of the
        # structures it walks); SigningError (an existing filled field) is a PdfError too.
        raise InvalidPdf(f"The document could not be signed: {type(exc).__name__}: {exc}") from None
    signed: bytes = output.getvalue()
    with transaction.atomic():
        services.record_signature(
            services.PDF_SIGNED,
            actor=user,
            request=request,
            details={
                **key_details,
                "field": field_name[:100],
                "sha256": hashlib.sha256(signed).hexdigest(),
                "timestamped": bool(tsa_url),
            },
        )
    return signed


def _context() -> ValidationContext:
    roots = [to_asn1(root) for root in backend().trust_roots()]
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def _name_and_rpps(status: PdfSignatureStatus) -> tuple[str, str]:
    certificate = status.signing_cert
    if certificate is None:
        return "", ""
    subject = certificate.subject.native
    id_nat_ps = str(subject.get("serial_number", ""))
    rpps = id_nat_ps[1:] if id_nat_ps.startswith("8") and len(id_nat_ps) == 12 else ""
    return str(subject.get("common_name", "")), rpps


def _problem(status: PdfSignatureStatus) -> str | None:
    if not status.intact:
        return "The signed content was changed after signing (the digest does not match)."
    if not status.valid:
        return "The signature does not match the signer's certificate."
    if not status.trusted:
        return "The signer's certificate is not issued by this deployment's CA (or is expired or unusable)."
    if (
        status.modification_level not in ACCEPTED_MODIFICATIONS
        and status.coverage != SignatureCoverageLevel.ENTIRE_FILE
    ):
        return "The document was modified after it was signed."
    if not status.bottom_line:
        return "The signature does not satisfy the document's signature rules."
    return None


def validate_pdf(pdf: bytes) -> PdfValidation:
    """Validate every signature of ``pdf``; ``InvalidPdf`` if it is not a readable PDF."""
    _check_bytes(pdf)
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidPdf(f"The document is not a readable PDF: {type(exc).__name__}: {exc}") from None
    if not signatures:
        return PdfValidation(False, False, False, "", "", None, "The document carries no signature.")
    context = _context()
    verdict: PdfValidation | None = None
    for embedded in signatures:
        try:
            status = validate_pdf_signature(embedded, context)
        except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            logger.info("PDF signature validation failed: %s", type(exc).__name__)
            return PdfValidation(
                False, False, False, "", "", None, f"The signature cannot be read ({type(exc).__name__})."
            )
        name, rpps = _name_and_rpps(status)
        problem = _problem(status)
        stamp = status.timestamp_validity
        timestamped = stamp is not None and bool(stamp.intact and stamp.valid and stamp.trusted)
        verdict = PdfValidation(
            valid=problem is None,
            intact=bool(status.intact),
            trusted=bool(status.trusted),
            signer_name=name,
            signer_rpps=rpps,
            signed_at=stamp.timestamp if timestamped and stamp is not None else status.signer_reported_dt,
            problem=problem,
            timestamped=timestamped,
        )
        if problem is not None:
            return verdict
    assert verdict is not None  # noqa: S101  (the loop ran at least once)
    return verdict
