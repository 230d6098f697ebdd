"""The deployment's two signing keys, each in a file outside the database (like the vault's KEK).

- **The CA** (``SIGNING_CA_FILE``, PEM: the self-signed CA certificate, then its PKCS#8 private key,
  ECDSA P-256): it issues each verified professional's signing certificate (``pki.py``). Made by
  ``manage.py signing create-ca``.
- **The QR key** (``SIGNING_QR_KEY_FILE``, PKCS#8 PEM, Ed25519): it signs the payloads printed as
  QR codes (``qr.py``); its public key (``manage.py signing public-key``) lets a pharmacy verify them
  with no network. Made by ``manage.py signing create-qr-key``.

Both are written once (mode 0600, directory 0700) and never overwritten. In DEBUG (the demo, the
test suite) a missing file is created on start-up with a loud banner; with DEBUG off a missing
file is a ``SigningKeyError`` at first use (and an error of ``manage.py check --deploy``), never a
silent new key: a new CA or QR key would leave every printed prescription unverifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from django.conf import settings

from cordee.audit import keyfiles
from cordee.signing.errors import SigningKeyError

CA_YEARS = 20
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)
_cache: dict[tuple[str, str], tuple[tuple[int, int, int], Any]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class CertificateAuthority:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the CA certificate (DER), in hex: names the CA a certificate was issued by."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def fit(value: str, limit: int = 64) -> str:
    """``value`` cut to ``limit`` bytes of UTF-8 (X.520 upper bounds count bytes), on a character boundary."""
    return value.strip().encode("utf-8")[:limit].decode("utf-8", errors="ignore").strip()


# --- paths -------------------------------------------------------------------------------------------
def ca_path() -> Path:
    return Path(settings.SIGNING_CA_PATH)


def qr_key_path() -> Path:
    return Path(settings.SIGNING_QR_KEY_PATH)


# --- creation ----------------------------------------------------------------------------------------
def new_ca(organization: str, *, now: dt.datetime | None = None) -> CertificateAuthority:
    """A new self-signed CA (ECDSA P-256, 20 years) for ``organization``; nothing is written."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    organization = fit(organization) or "Cordée"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, fit(f"AC de signature - {organization}")),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now.replace(year=now.year + CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate=certificate, private_key=key)


def ca_to_pem(ca: CertificateAuthority) -> bytes:
    key = ca.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.certificate.public_bytes(serialization.Encoding.PEM) + key


def create_ca(path: Path, organization: str) -> CertificateAuthority | None:
    """Write a new CA at ``path`` (mode 0600); None if a file is already there (never overwritten)."""
    ca = new_ca(organization)
    return ca if keyfiles.write_new(path, ca_to_pem(ca)) else None


def create_qr_key(path: Path) -> bool:
    """Write a new Ed25519 key at ``path`` (mode 0600); False if a file is already there."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return keyfiles.write_new(path, pem)


# --- reading -----------------------------------------------------------------------------------------
def _missing(path: Path, what: str, setting: str, command: str) -> SigningKeyError:
    return SigningKeyError(
        f"The {what} {path} ({setting}) does not exist. Restore it from your key backup, or for a new "
        f"installation create it with `manage.py signing {command}` (docs/signing.md). Cordée never makes "
        f"a new one silently outside DEBUG: what was signed with the old one could no longer be verified."
    )


def _cached(kind: str, path: Path, parse: Any, missing: SigningKeyError) -> Any:
    """The parsed file, re-read when it changes (a restored backup, a rotation)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise missing from None
    except OSError as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc.strerror}") from None
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get((kind, str(path)))
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc.strerror}") from None
    value = parse(data, path)
    with _cache_lock:
        _cache[(kind, str(path))] = (stamp, value)
    return value


def parse_ca(data: bytes, path: Path) -> CertificateAuthority:
    blocks = {match.group(1).decode(): match.group(0) for match in _PEM_BLOCK.finditer(data)}
    try:
        certificate = x509.load_pem_x509_certificate(blocks["CERTIFICATE"])
        key = serialization.load_pem_private_key(blocks["PRIVATE KEY"], password=None)
    except (KeyError, ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"The signing CA {path} (SIGNING_CA_FILE) is not a PEM certificate followed by its unencrypted "
            f"PKCS#8 private key ({type(exc).__name__}: {exc}). Restore it from your key backup."
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise SigningKeyError(f"The private key in {path} (SIGNING_CA_FILE) is not the CA certificate's key")
    return CertificateAuthority(certificate=certificate, private_key=key)


def parse_qr_key(data: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"The QR signing key {path} (SIGNING_QR_KEY_FILE) is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"The QR signing key {path} (SIGNING_QR_KEY_FILE) is not an Ed25519 key")
    return key


def current_ca() -> CertificateAuthority:
    path = ca_path()
    return _cached("ca", path, parse_ca, _missing(path, "signing CA", "SIGNING_CA_FILE", "create-ca"))  # type: ignore[no-any-return]  # _cached returns what parse_ca made


def qr_private_key() -> Ed25519PrivateKey:
    path = qr_key_path()
    missing = _missing(path, "QR signing key", "SIGNING_QR_KEY_FILE", "create-qr-key")
    return _cached("qr", path, parse_qr_key, missing)  # type: ignore[no-any-return]  # idem, parse_qr_key


def qr_public_key() -> Ed25519PublicKey:
    return qr_private_key().public_key()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def qr_key_id(key: Ed25519PublicKey | None = None) -> bytes:
    """The first 8 bytes of SHA-256 of the raw public key: the ``kid`` of the QR's COSE header."""
    return hashlib.sha256(raw_public_key(key or qr_public_key())).digest()[:8]


def extra_trust_roots() -> list[x509.Certificate]:
    """Older CAs still trusted after a rotation (``SIGNING_TRUSTED_CA_FILES``: PEM certificates)."""
    roots: list[x509.Certificate] = []
    for path in settings.SIGNING_TRUSTED_CA_PATHS:
        try:
            roots.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
        except (OSError, ValueError) as exc:
            raise SigningKeyError(
                f"SIGNING_TRUSTED_CA_FILES: {path} is not a readable PEM certificate: {exc}"
            ) from None
    return roots


# --- start-up (DEBUG) ----------------------------------------------------------------------------------
def ensure_keys() -> None:
    """From ``SigningConfig.ready``: in DEBUG, create a missing CA or QR key (loudly); else do nothing."""
    if not settings.SIGNING_CREATE_MISSING_KEYS:
        return
    if not ca_path().exists() and create_ca(ca_path(), settings.SIGNING_ORGANIZATION) is not None:
        keyfiles.announce_created(
            ca_path(),
            "signing CA",
            [
                "It issues every professional's signing certificate: the signed PDFs validate against it.",
                "A production deployment creates its own with `manage.py signing create-ca`, keeps it out",
                "of the database and its backups (docs/signing.md). With DEBUG off none is made for you.",
            ],
        )
    if not qr_key_path().exists() and create_qr_key(qr_key_path()):
        keyfiles.announce_created(
            qr_key_path(),
            "QR signing key",
            [
                "It signs the payloads of the printed QR codes; pharmacies verify them with its public key",
                "(`manage.py signing public-key`). Production creates its own with `signing create-qr-key`.",
            ],
        )
