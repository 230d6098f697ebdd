"""The deployment PKI: each verified professional's signing certificate, issued on first use.

``certificate_for(user)`` gives the user's current certificate, issuing one from the deployment CA
(``keys.current_ca``) when they have none, when it was issued by another CA (after a rotation),
when their name or profession changed, or when it comes near its end: a certificate is replaced
while it still has ``RENEW_BEFORE`` to run, so that a PDF signed with it validates for at least
that long (a prescription may be dispensed up to a year after it was signed).

Only an active, *verified* professional (RPPS checked against the Annuaire Santé) gets one:
anyone else gets ``NotAllowedToSign``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import translation

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Professional
from cordee.accounts.professions import profession_label
from cordee.signing import keys, services
from cordee.signing.errors import NotAllowedToSign
from cordee.signing.models import SigningCertificate

RENEW_BEFORE = dt.timedelta(days=400)


@dataclass(frozen=True)
class SigningMaterial:
    """What a signer needs: the professional's certificate and key, and the CA certificate (the chain)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    ca_certificate: x509.Certificate
    record: SigningCertificate


def professional_of(user: Any) -> Professional:
    """The user's verified professional profile, or ``NotAllowedToSign``."""
    professional = verified_professional(user)
    if professional is None:
        if getattr(user, "is_authenticated", False) and getattr(user, "kind", None) == "professional":
            raise NotAllowedToSign("Only a professional whose RPPS identity is verified may sign.")
        raise NotAllowedToSign("Only a verified health professional may sign.")
    return professional


def subject_for(user: Any, professional: Professional) -> x509.Name:
    """Names as in the RPPS directory: the idNat_PS (``8`` + RPPS) as serialNumber, the profession as title."""
    with translation.override("fr"):
        title = profession_label(professional.profession_code)
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, keys.fit(settings.SIGNING_ORGANIZATION) or "Cordée"),
        x509.NameAttribute(NameOID.TITLE, keys.fit(title)),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, professional.id_nat_ps),
    ]
    if keys.fit(user.first_name, 200):
        attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, keys.fit(user.first_name, 200)))
    if keys.fit(user.last_name, 200):
        attributes.append(x509.NameAttribute(NameOID.SURNAME, keys.fit(user.last_name, 200)))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, keys.fit(user.display_name) or professional.id_nat_ps))
    return x509.Name(attributes)


def _still_good(record: SigningCertificate, ca: keys.CertificateAuthority, subject: x509.Name) -> bool:
    now = dt.datetime.now(dt.UTC)
    return (
        record.ca_fingerprint == ca.fingerprint
        and record.subject == subject.rfc4514_string()
        and record.not_after - now > min(RENEW_BEFORE, dt.timedelta(days=settings.SIGNING_CERTIFICATE_DAYS // 3))
    )


def certificate_for(user: Any, *, request: HttpRequest | None = None) -> SigningCertificate:
    """The user's current certificate, issued (and audited) now if they need a new one."""
    professional = professional_of(user)
    ca = keys.current_ca()
    subject = subject_for(user, professional)
    record = SigningCertificate.objects.filter(user=user, current=True).first()
    if record is not None and _still_good(record, ca, subject):
        return record
    try:
        with transaction.atomic():
            return services.do_issue_certificate(user, professional, ca, subject, replacing=record, request=request)
    except IntegrityError:
        # Another request issued one at the same moment (the one-current constraint): use theirs.
        winner = SigningCertificate.objects.filter(user=user, current=True).first()
        if winner is None:
            raise
        return winner


def material_of(record: SigningCertificate) -> SigningMaterial:
    """The certificate and its key unsealed from the vault (``record`` from ``certificate_for``)."""
    key = serialization.load_pem_private_key(record.private_key_pem.encode("ascii"), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # noqa: S101  (issued by do_issue_certificate only)
    return SigningMaterial(
        certificate=x509.load_pem_x509_certificate(record.certificate_pem.encode("ascii")),
        private_key=key,
        ca_certificate=keys.current_ca().certificate,
        record=record,
    )


def material_for(user: Any, *, request: HttpRequest | None = None) -> SigningMaterial:
    return material_of(certificate_for(user, request=request))


def trust_roots() -> list[x509.Certificate]:
    """The CAs a signed PDF may chain to: the deployment CA, then the older ones still trusted."""
    return [keys.current_ca().certificate, *keys.extra_trust_roots()]
