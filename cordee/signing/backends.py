"""Pluggable signers: who holds the professional's key (``SIGNING_BACKEND``, docs/signing.md).

A backend gives ``pades.sign_pdf`` a pyHanko ``Signer`` for a user, and ``pades.validate_pdf`` the
trust roots. The default, ``DeploymentCA``, uses the certificates this deployment issues itself
(``pki.py``). A CPS/e-CPS card (pyHanko's ``PKCS11Signer``) or a remote signing service (a
``Signer`` subclass whose ``async_sign_raw`` calls the service) plugs in by implementing the same
two methods and naming the class in ``SIGNING_BACKEND``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
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

SIGNER_CACHE_SECONDS = 300
SIGNER_CACHE_SIZE = 32


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
    """The deployment's own CA issues each verified professional a certificate on first use.

    The right to sign and the current certificate are checked at every signature
    (``pki.certificate_for``: one query). The pyHanko signer built from a certificate (its key
    unsealed from the vault, the certificates parsed into asn1crypto's objects) is kept for
    ``SIGNER_CACHE_SECONDS`` in the thread that built it (rebuilding it cost ~6 ms a signature here).
    A new certificate (rotation, renewal, new name) has a new serial, so it is never served stale;
    a certificate whose vault key was shredded stays usable in that thread until its entry expires.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _signers(self) -> OrderedDict[tuple[int, str, str], tuple[float, SimpleSigner]]:
        cache = getattr(self._local, "signers", None)
        if cache is None:
            cache = self._local.signers = OrderedDict()
        return cache  # type: ignore[no-any-return]  # set just above

    def pdf_signer(self, user: Any, *, request: HttpRequest | None = None) -> tuple[Signer, dict[str, str]]:
        record = pki.certificate_for(user, request=request)
        details = {"backend": "deployment-ca", "serial": record.serial, "ca": record.ca_fingerprint}
        cache, now = self._signers(), time.monotonic()
        # The random serial and the CA name the certificate even where a row id was reused (a restore).
        slot = (record.pk, record.serial, record.ca_fingerprint)
        cached = cache.get(slot)
        if cached is not None and now - cached[0] < SIGNER_CACHE_SECONDS:
            return cached[1], details
        signer = self._build(pki.material_of(record))
        cache[slot] = (now, signer)
        cache.move_to_end(slot)
        while len(cache) > SIGNER_CACHE_SIZE:
            cache.popitem(last=False)
        return signer, details

    @staticmethod
    def _build(material: pki.SigningMaterial) -> SimpleSigner:
        key_der = material.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return SimpleSigner(
            signing_cert=to_asn1(material.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(material.ca_certificate)]),
        )

    def forget(self) -> None:
        """Drop this thread's cached signers (a CA rotation needs nothing: new certificates, new serials)."""
        self._signers().clear()

    def trust_roots(self) -> list[x509.Certificate]:
        return pki.trust_roots()


@functools.cache
def _backend(path: str) -> SignerBackend:
    return import_string(path)()  # type: ignore[no-any-return]  # a class named by the setting


def backend() -> SignerBackend:
    """The configured backend (``SIGNING_BACKEND``, a dotted path; the deployment CA by default)."""
    return _backend(settings.SIGNING_BACKEND)
