"""The keyed MAC of every audit entry, with a key held in a file outside the database.

The hash chain shows an entry edited, removed, inserted or moved; the signed checkpoints show the
chain cut or rewritten up to the last checkpoint. Neither stops someone who can write to the
database from *appending* an entry with well-formed hashes, or from rewriting an entry and
recomputing every hash after it, past the last checkpoint: the chain's format is public. So each
entry also carries

    mac = HMAC-SHA256(key, "cordee-audit-mac/1\\n" ‖ seq ‖ "\\n" ‖ entry_hash)   (hex)

with a 32-byte key that never sits in the database (``AUDIT_MAC_KEY_FILE``, default
``<data dir>/keys/audit-mac.key``: 64 hexadecimal characters, e.g. ``openssl rand -hex 32``, or
``python -m cordee.audit.mac create PATH``). Forging an entry, or re-hashing after an edit, then
needs the server's key: ``verify`` names the first entry whose MAC does not match.

The MAC covers ``entry_hash``, which commits to the previous entry, the header and the content
hash, so it survives a retention purge (a tombstone keeps its hashes) and costs one HMAC per entry
on append and on verify. In DEBUG a missing key is created on the first run with a loud warning;
with DEBUG off a missing, unreadable or malformed key stops the start-up (``AuditConfig.ready``),
as for the signing key. Unlike the signing key, the MAC key is secret for good: whoever holds it can
forge entries that pass ``verify`` up to the next checkpoint, so keep it readable by Cordée's
processes only, and out of the database's backups.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cordee.audit import keyfiles

KEY_BYTES = 32
_PREFIX = b"cordee-audit-mac/1\n"

_cache: dict[tuple[str, int], hmac.HMAC] = {}

Signer = Callable[[int, str], str]


def key_path() -> Path:
    return Path(settings.AUDIT_MAC_KEY_PATH)


def create_key(path: Path) -> bool:
    """Write a new random key at ``path`` (mode 0600); False if another process made it first."""
    return keyfiles.write_new(path, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")


def _read_key(path: Path) -> bytes:
    where = f"The audit MAC key {path} (AUDIT_MAC_KEY_FILE)"
    try:
        text = path.read_bytes().decode("ascii").strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{where} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        text = "?"
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ImproperlyConfigured(f"{where} is not hexadecimal (make one with `openssl rand -hex 32`)") from None
    if len(key) < KEY_BYTES:
        raise ImproperlyConfigured(f"{where} is shorter than {KEY_BYTES} bytes ({2 * KEY_BYTES} hex characters)")
    return key


def _keyed() -> hmac.HMAC:
    """An HMAC already keyed and fed the prefix; ``copy()`` it for each entry."""
    path = key_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _cache.get((str(path), stamp))
    if cached is None:
        cached = hmac.new(_read_key(path), _PREFIX, hashlib.sha256)
        _cache.clear()
        _cache[(str(path), stamp)] = cached
    return cached


def signer() -> Signer:
    """``mac(seq, entry_hash)`` with the current key: read the key once, then one HMAC per entry."""
    keyed = _keyed()

    def mac(seq: int, entry_hash: str) -> str:
        digest = keyed.copy()
        digest.update(b"%d\n%s" % (seq, entry_hash.encode("ascii")))
        return digest.hexdigest()

    return mac


def entry_mac(seq: int, entry_hash: str) -> str:
    return signer()(seq, entry_hash)


def ensure_mac_key() -> None:
    """Start-up check: the key exists and is well-formed; in DEBUG, create it (loudly) if missing."""
    path = key_path()
    if not path.exists():
        if not settings.AUDIT_CREATE_MISSING_MAC_KEY:
            raise ImproperlyConfigured(
                f"The audit MAC key {path} (AUDIT_MAC_KEY_FILE) is missing, and Cordée refuses to start "
                f"without it with DEBUG off. Create it outside the database and its backups with "
                f"`python -m cordee.audit.mac create {path}` (or `(umask 077; openssl rand -hex 32 > {path})`)."
            )
        if create_key(path):
            keyfiles.announce_created(
                path,
                "audit MAC key",
                [
                    "It authenticates every audit entry. A production deployment creates its own and keeps it",
                    "secret, out of the database and its backups (docs/security.md). Losing it makes every",
                    "entry written with it unverifiable; with DEBUG off, Cordée refuses to start without it.",
                ],
            )
    _keyed()


def main(argv: list[str]) -> int:
    """``python -m cordee.audit.mac create PATH``: a new key for a new installation (never overwrites)."""
    if len(argv) != 3 or argv[1] != "create":
        print("usage: python -m cordee.audit.mac create PATH", file=sys.stderr)
        return 2
    path = Path(argv[2]).expanduser().resolve()
    if not create_key(path):
        print(f"{path} exists: not overwritten", file=sys.stderr)
        return 1
    print(f"Audit MAC key written to {path} (mode 0600): keep it secret, out of the database and its backups")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
