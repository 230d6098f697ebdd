"""Pluggable signers: who holds the professional's key (``SIGNING_BACKEND``, docs/signing.md).

A backend gives ``pades.sign_pdf`` a pyHanko ``Signer`` for a user, and ``pades.validate_pdf`` the
trust roots. The default, ``DeploymentCA``, uses the certificates this deployment issues itself
(``pki.py``). A CPS/e-CPS card (pyHanko's ``PKCS11Signer``) or a remote signing service (a
``Signer`` subclass whose ``async_sign_raw`` calls the service) plugs in by implementing the same
two methods and naming the class in ``SIGNING_BACKEND``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from cordee.signing import pki


class SignerBackend(Protocol):
    """What a signing backend implements."""

    def pdf_signer(self, user: Any, *, request: HttpRequest | None = None) -> tuple[Signer, dict[str, str]]:
        """A pyHanko signer holding ``user``'s key, and the audit details naming the key (serial, CA…).

        Raises ``NotAllowedToSign`` when the user may not sign."""
        ...

    def trust_roots(self) -> list[x509.Certificate]:
        """The CA certificates a valid signature must chain to."""
        ...


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class DeploymentCA:
    """The deployment's own CA issues each verified professional a certificate on first use."""

    def pdf_signer(self, user: Any, *, request: HttpRequest | None = None) -> tuple[Signer, dict[str, str]]:
        material = pki.material_for(user, request=request)
        key_der = material.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        ca = to_asn1(material.ca_certificate)
        signer = SimpleSigner(
            signing_cert=to_asn1(material.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs([ca]),
        )
        details = {"backend": "deployment-ca", "serial": material.record.serial, "ca": material.record.ca_fingerprint}
        return signer, details

    def trust_roots(self) -> list[x509.Certificate]:
        return pki.trust_roots()


@functools.cache
def _backend(path: str) -> SignerBackend:
    return import_string(path)()  # type: ignore[no-any-return]  # a class named by the setting


def backend() -> SignerBackend:
    """The configured backend (``SIGNING_BACKEND``, a dotted path; the deployment CA by default)."""
    return _backend(settings.SIGNING_BACKEND)
