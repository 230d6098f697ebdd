"""Key escrow: the keys that are NOT in the backups, wrapped for an offline holder.

The vault keyset (KEK and blind-index key), the audit signing key and its ring of retired public
keys (once the key was rotated: without it, the checkpoints the retired keys signed no longer
verify), the audit MAC key and the shred list go into one file encrypted with a passphrase:
scrypt (n=2^17, r=8, p=1: 128 MiB, about half a second) derives a 256-bit key, AES-256-GCM
encrypts and authenticates, the header (format, KDF parameters) being the associated data. Both
from the ``cryptography`` library Cordée already uses (docs/decisions/0019-backups-restic.md says
why not age). The holder keeps the file and the passphrase apart, offline (a safe, a sealed
envelope); ``escrow_keys unwrap`` gives the files back for a restore on a new machine, each under
the name the restore expects (``restore.Keys.from_dir``: the ring beside the signing key, as
``keyring.path_for`` places it). Make a new escrow after each rotation of a key.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.utils import timezone

from cordee.audit import keyring
from cordee.backups import shredlist

FORMAT = "cordee-key-escrow"
VERSION = 1
MIN_PASSPHRASE = 16
SCRYPT = {"n": 2**17, "r": 8, "p": 1}
FILES = {
    "vault-kek.json": "VAULT_KEYSET_PATH",
    "audit-ed25519.pem": "AUDIT_SIGNING_KEY_PATH",
    "audit-mac.key": "AUDIT_MAC_KEY_PATH",
}
SHRED_LIST = "shredded.jsonl"
# Escrowed under the name of the signing key's ring beside "audit-ed25519.pem": audit-ed25519.ring.json.
SIGNING_KEY_RING = keyring.path_for(Path("audit-ed25519.pem")).name


class EscrowError(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(passphrase.encode())


def wrap(passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise EscrowError(f"The escrow passphrase must be at least {MIN_PASSPHRASE} characters long.")
    files = {}
    for name, setting in FILES.items():
        path = Path(getattr(settings, setting))
        if not path.exists():
            raise EscrowError(f"The key file {path} ({setting}) does not exist.")
        files[name] = _b64(path.read_bytes())
    if keyring.ring_path().exists():
        files[SIGNING_KEY_RING] = _b64(keyring.ring_path().read_bytes())
    if shredlist.path().exists():
        files[SHRED_LIST] = _b64(shredlist.path().read_bytes())
    plaintext = json.dumps({"created_at": timezone.now().isoformat(), "files": files}).encode()
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": FORMAT, "version": VERSION, "kdf": {"name": "scrypt", "salt": _b64(salt), **SCRYPT}}
    aad = json.dumps(header, sort_keys=True).encode()
    ciphertext = AESGCM(_key(passphrase, salt, SCRYPT)).encrypt(nonce, plaintext, aad)
    return (json.dumps({**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}, indent=1) + "\n").encode()


def unwrap(document: bytes, passphrase: str) -> dict[str, Any]:
    try:
        data = json.loads(document)
        header = {"format": data["format"], "version": data["version"], "kdf": data["kdf"]}
        if header["format"] != FORMAT or header["version"] != VERSION:
            raise ValueError("not a Cordée key escrow file")
        kdf = header["kdf"]
        key = _key(passphrase, base64.b64decode(kdf["salt"]), kdf)
        aad = json.dumps(header, sort_keys=True).encode()
        plaintext = AESGCM(key).decrypt(base64.b64decode(data["nonce"]), base64.b64decode(data["ciphertext"]), aad)
    except InvalidTag:
        raise EscrowError("Wrong passphrase, or the escrow file was altered.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise EscrowError(f"Not a readable escrow file: {exc}") from None
    return json.loads(plaintext)


def write_files(contents: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for name, encoded in contents["files"].items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never over an existing key
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64decode(encoded))
        written.append(path)
    return written
