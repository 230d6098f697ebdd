"""The Ed25519 key that signs checkpoints and purge records, held in a PEM file outside the database.

The private key is a PKCS#8 PEM file (``AUDIT_SIGNING_KEY_FILE``), e.g. made with
``openssl genpkey -algorithm ed25519 -out audit-ed25519.pem``. In DEBUG a missing key is created
on the first run with a loud warning; with DEBUG off a missing or unreadable key stops the
start-up (``AuditConfig.ready``). Whoever keeps the public key (``manage.py audit public-key``)
can check every exported checkpoint with any Ed25519 tool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cordee.audit import keyfiles

_cache: dict[tuple[str, int], Ed25519PrivateKey] = {}


def key_path() -> Path:
    return Path(settings.AUDIT_SIGNING_KEY_PATH)


def create_key(path: Path) -> bool:
    """Write a new private key at ``path`` (mode 0600); False if another process made it first."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return keyfiles.write_new(path, pem)


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"The audit signing key {path} (AUDIT_SIGNING_KEY_FILE) cannot be read: {exc.strerror}"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"The audit signing key {path} (AUDIT_SIGNING_KEY_FILE) is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"The audit signing key {path} (AUDIT_SIGNING_KEY_FILE) is not an Ed25519 key")
    return key


def private_key() -> Ed25519PrivateKey:
    path = key_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _cache.get((str(path), stamp))
    if cached is None:
        cached = _read_key(path)
        _cache.clear()
        _cache[(str(path), stamp)] = cached
    return cached


def ensure_signing_key() -> None:
    """Start-up check: the key exists and is readable; in DEBUG, create it (loudly) if missing."""
    path = key_path()
    if not path.exists():
        if not settings.AUDIT_CREATE_MISSING_SIGNING_KEY:
            raise ImproperlyConfigured(
                f"The audit signing key {path} (AUDIT_SIGNING_KEY_FILE) is missing, and Cordée refuses to "
                f"start without it with DEBUG off. Create it outside the database and its backups with "
                f"`openssl genpkey -algorithm ed25519 -out {path}` (mode 0600), then give its public key "
                f"(`manage.py audit public-key`) to the party that keeps the exported checkpoints."
            )
        if create_key(path):
            keyfiles.announce_created(
                path,
                "audit signing key",
                [
                    "It signs the audit checkpoints. A production deployment creates its own, keeps it out of the",
                    "database and its backups, and gives its public key to a third party (docs/security.md).",
                    "With DEBUG off, Cordée refuses to start without an existing key.",
                ],
            )
    private_key()


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def raw_public_key(key: Ed25519PublicKey | None = None) -> bytes:
    return (key or public_key()).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """The fingerprint of a public key: SHA-256 of its 32 raw bytes, in hex."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def sign(statement: bytes) -> tuple[str, str]:
    """(key id, base64 signature) of ``statement`` with the current key."""
    key = private_key()
    return key_id(key.public_key()), base64.b64encode(key.sign(statement)).decode("ascii")


def signature_problem(statement: bytes, signature: str, signed_by: str, key: Ed25519PublicKey | None = None) -> str:
    """Why ``signature`` is not a valid signature of ``statement`` by ``key``, by default the current
    key ("" if it is). Verification trusts the whole ring instead (``keyring.KeyRing.problem``)."""
    key = key or public_key()
    if signed_by != key_id(key):
        return "signed by another key"
    try:
        key.verify(base64.b64decode(signature, validate=True), statement)
    except (InvalidSignature, binascii.Error, ValueError):
        return "bad signature"
    return ""


def main(argv: list[str]) -> int:
    """``python -m cordee.audit.signing create PATH``: a new key for a new installation (never overwrites)."""
    if len(argv) != 3 or argv[1] != "create":
        print("usage: python -m cordee.audit.signing create PATH", file=sys.stderr)
        return 2
    path = Path(argv[2]).expanduser().resolve()
    if not create_key(path):
        print(f"{path} exists: not overwritten", file=sys.stderr)
        return 1
    key = _read_key(path).public_key()
    print(f"Audit signing key written to {path} (mode 0600); public key id {key_id(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
