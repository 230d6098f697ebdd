"""The signing app's state changes: issuing a professional's certificate (audited in the same transaction).

The signatures themselves (``pades.sign_pdf``, ``qr.sign_qr_payload``) change no row of their
own; each writes its audit entry through ``record_signature`` below, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from cordee.accounts.models import Professional
from cordee.audit import services as audit
from cordee.signing.keys import CertificateAuthority
from cordee.signing.models import SigningCertificate

ISSUED = "signing.certificate_issued"
PDF_SIGNED = "signing.pdf_signed"
QR_SIGNED = "signing.qr_signed"


def do_issue_certificate(
    user: Any,
    professional: Professional,
    ca: CertificateAuthority,
    subject: x509.Name,
    *,
    replacing: SigningCertificate | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> SigningCertificate:
    """Issue ``user`` a new signing certificate from ``ca`` and make it their current one.

    Raises ``IntegrityError`` if another process issued one at the same moment (the caller reads theirs).
    """
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + dt.timedelta(days=settings.SIGNING_CERTIFICATE_DAYS), ca.certificate.not_valid_after_utc)
    ca_public = ca.certificate.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)  # type: ignore[arg-type]  # the CA key is EC, which it accepts
        .sign(ca.private_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with transaction.atomic():
        if replacing is not None:
            SigningCertificate.objects.filter(pk=replacing.pk).update(current=False)
        issued = SigningCertificate(
            user=user,
            serial=format(certificate.serial_number, "x"),
            subject=subject.rfc4514_string(),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            private_key_pem=key_pem.decode("ascii"),
            ca_fingerprint=ca.fingerprint,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            current=True,
        )
        issued.save()
        audit.record(
            ISSUED,
            actor=user,
            request=request,
            target=issued,
            details={
                "serial": issued.serial,
                "ca": ca.fingerprint,
                "not_after": issued.not_after.isoformat(),
                "rpps": professional.rpps,
                "replaces": replacing.serial if replacing is not None else None,
            },
        )
    return issued


def record_signature(action: str, *, actor: Any, request: HttpRequest | None, details: dict[str, Any]) -> None:
    """The audit entry of one signature (a PDF or a QR payload): what was signed, by which key, never the content."""
    with transaction.atomic():
        audit.record(action, actor=actor, request=request, details=details)
