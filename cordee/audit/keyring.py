"""The audit signing key ring: the current key and every public key it replaced, in order.

Rotating the Ed25519 key that signs checkpoints and purge records (``rotation.py``, ``manage.py
audit rotate-signing-key``) must not orphan what the earlier keys signed. The retired public keys
are kept in a JSON file beside the private key, outside the database (``<key file without its
suffix>.ring.json``, e.g. ``audit-ed25519.ring.json``; mode 0600, replaced atomically). Each entry
is a retired key: its raw public key (base64), its key id (SHA-256 of those 32 bytes, hex: the id
each checkpoint records), when it was retired, and its successor's key id, with the retired key's
own signature over ``statements.rotation_statement`` (its *handover*). So:

- the ring joins up: each entry hands over to the next, the last to the current key. Whoever holds
  the first public key can follow every rotation (``audit export-checkpoints`` writes the handovers);
- the ring cannot be altered unseen by someone without the retired private keys (which the rotation
  discards): a public key swapped, a key added, a retirement moved later all fail the handover check;
- a key signs only during its service: from its predecessor's retirement to its own (excluded).
  A record signed by a retired key after its retirement (its private key stolen, say) is refused,
  and so is one signed by a key the ring does not hold.

A malformed or altered ring does not stop Cordée (the current key still signs): ``audit verify``
reports it and then trusts the current key alone; ``rotate-signing-key`` refuses to run on it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cordee.audit import signing
from cordee.audit.chain import iso_utc
from cordee.audit.statements import rotation_statement

FORMAT = "cordee-audit-key-ring"
VERSION = 1


class RingError(Exception):
    """The key ring file cannot be read, is malformed, or does not join up."""


def short(key_id: str) -> str:
    """A key id as messages show it: its first 16 hex digits."""
    return key_id[:16] + "…" if len(key_id) > 16 else key_id or "(none)"


def path_for(key_path: Path) -> Path:
    """Where the ring of the signing key at ``key_path`` is kept: beside it."""
    return key_path.with_suffix(".ring.json") if key_path.suffix else key_path.with_name(key_path.name + ".ring.json")


def ring_path() -> Path:
    return path_for(signing.key_path())


def raw_base64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(signing.raw_public_key(key)).decode("ascii")


@dataclass(frozen=True)
class RingKey:
    """A signing key and its time of service: [``in_service_from``, ``retired_at``); None: open."""

    key_id: str
    public_key: Ed25519PublicKey
    in_service_from: dt.datetime | None
    retired_at: dt.datetime | None = None
    successor_key_id: str = ""
    handover_signature: str = ""

    def entry(self) -> dict[str, str]:
        """This retired key as the ring file holds it."""
        assert self.retired_at is not None  # noqa: S101 (only retired keys are written)
        return {
            "key_id": self.key_id,
            "public_key": raw_base64(self.public_key),
            "retired_at": iso_utc(self.retired_at),
            "successor_key_id": self.successor_key_id,
            "handover_signature": self.handover_signature,
        }

    def handover_statement(self) -> bytes:
        assert self.retired_at is not None  # noqa: S101
        return rotation_statement(self.key_id, self.successor_key_id, self.retired_at)


def _verifies(key: Ed25519PublicKey, signature: str, statement: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), statement)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _entry(number: int, raw: Any, previous: RingKey | None, where: str) -> RingKey:
    what = f"{where}: retired key #{number}"
    if not isinstance(raw, dict):
        raise RingError(f"{what} is not an object")
    fields = ("key_id", "public_key", "retired_at", "successor_key_id", "handover_signature")
    missing = [name for name in fields if not isinstance(raw.get(name), str) or not raw[name]]
    if missing:
        raise RingError(f"{what} lacks {', '.join(missing)} (or they are not text)")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw["public_key"], validate=True))
    except (binascii.Error, ValueError):
        raise RingError(f"{what}: its public key is not 32 bytes of base64 (an Ed25519 public key)") from None
    key_id = signing.key_id(public_key)
    if raw["key_id"] != key_id:
        raise RingError(f"{what}: its key id {short(raw['key_id'])} is not its public key's ({short(key_id)})")
    try:
        retired_at = dt.datetime.fromisoformat(raw["retired_at"])
    except ValueError:
        raise RingError(f"{what} ({short(key_id)}): its retirement time is not an ISO 8601 time") from None
    if retired_at.tzinfo is None:
        raise RingError(f"{what} ({short(key_id)}): its retirement time has no time zone")
    if previous is not None:
        if previous.successor_key_id != key_id:
            raise RingError(
                f"{what} ({short(key_id)}) does not join up: the key before it hands over to "
                f"{short(previous.successor_key_id)}"
            )
        if previous.retired_at is not None and retired_at < previous.retired_at:
            raise RingError(f"{what} ({short(key_id)}) was retired before the key it replaced")
    key = RingKey(
        key_id=key_id,
        public_key=public_key,
        in_service_from=previous.retired_at if previous else None,
        retired_at=retired_at,
        successor_key_id=raw["successor_key_id"],
        handover_signature=raw["handover_signature"],
    )
    if not _verifies(public_key, key.handover_signature, key.handover_statement()):
        raise RingError(
            f"{what} ({short(key_id)}): its handover signature does not verify: the ring was altered "
            f"(its retirement time, its successor or its public key changed)"
        )
    return key


def read_retired(path: Path) -> list[RingKey]:
    """The retired keys of the ring file at ``path``, oldest first ([] when there is no file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RingError(f"the audit key ring {path} cannot be read: {exc.strerror}") from None
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RingError(f"the audit key ring {path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RingError(f"{path} is not an audit key ring (format {FORMAT!r} expected)")
    if document.get("version") != VERSION:
        raise RingError(f"the audit key ring {path} has version {document.get('version')!r}; {VERSION} expected")
    entries = document.get("retired")
    if not isinstance(entries, list):
        raise RingError(f"the audit key ring {path} has no list of retired keys")
    keys: list[RingKey] = []
    for number, raw in enumerate(entries, start=1):
        key = _entry(number, raw, keys[-1] if keys else None, str(path))
        if any(known.key_id == key.key_id for known in keys):
            raise RingError(f"{path}: the key {short(key.key_id)} is retired twice")
        keys.append(key)
    return keys


def document(retired: list[RingKey]) -> bytes:
    """The ring file's bytes for these retired keys."""
    body = {"format": FORMAT, "version": VERSION, "retired": [key.entry() for key in retired]}
    return (json.dumps(body, indent=1) + "\n").encode("ascii")


class KeyRing:
    """Every key that ever signed, oldest first; the last is the current one."""

    def __init__(self, keys: list[RingKey]) -> None:
        self.keys = keys
        self._by_id = {key.key_id: (position, key) for position, key in enumerate(keys)}

    @property
    def current(self) -> RingKey:
        return self.keys[-1]

    @property
    def retired(self) -> list[RingKey]:
        return self.keys[:-1]

    def position(self, key_id: str) -> int | None:
        found = self._by_id.get(key_id)
        return found[0] if found else None

    def get(self, key_id: str) -> RingKey | None:
        found = self._by_id.get(key_id)
        return found[1] if found else None

    def in_service_at(self, at: dt.datetime) -> RingKey | None:
        for key in self.keys:
            if (key.in_service_from is None or at >= key.in_service_from) and (
                key.retired_at is None or at < key.retired_at
            ):
                return key
        return None

    def problem(self, statement: bytes, signature: str, key_id: str, at: dt.datetime) -> str:
        """Why ``signature`` is not a valid signature of ``statement``, made at ``at`` by a key of the
        ring in its service ("" if it is). A record without a key id (none should exist: every
        record names its key) is checked with the key in service at its time."""
        key = self.get(key_id) if key_id else self.in_service_at(at)
        if key is None:
            return f"signed by a key that is not in the audit key ring (key id {short(key_id)})"
        if key.retired_at is not None and at >= key.retired_at:
            return f"signed by the key {short(key.key_id)} after its retirement ({iso_utc(key.retired_at)})"
        if key.in_service_from is not None and at < key.in_service_from:
            return f"signed by the key {short(key.key_id)} before it came into service ({iso_utc(key.in_service_from)})"
        if not _verifies(key.public_key, signature, statement):
            return "bad signature"
        return ""

    def public_key_base64(self, key_id: str) -> str:
        """The raw public key (base64) of ``key_id``; the current one's for an unknown id."""
        key = self.get(key_id) or self.current
        return raw_base64(key.public_key)

    def handover_lines(self) -> list[dict[str, Any]]:
        """Each rotation as a self-contained line (the export's ``key-rotation`` lines)."""
        return [
            {
                "kind": "key-rotation",
                "statement": key.handover_statement().decode("ascii"),
                "signature": key.handover_signature,
                "public_key": raw_base64(key.public_key),
                **json.loads(key.handover_statement()),
            }
            for key in self.retired
        ]


def _joined(retired: list[RingKey], current: Ed25519PublicKey, where: Path) -> KeyRing:
    current_id = signing.key_id(current)
    if any(key.key_id == current_id for key in retired):
        raise RingError(
            f"the current audit signing key {short(current_id)} is listed as retired in {where}: an interrupted "
            f"rotation? Its successor's private key is in {signing.key_path()}.new, if the rotation got that far "
            f"(docs/security.md, rotating the audit signing key)"
        )
    if retired and retired[-1].successor_key_id != current_id:
        raise RingError(
            f"the audit key ring {where} does not join up with the current key: its last key hands over to "
            f"{short(retired[-1].successor_key_id)}, the current key is {short(current_id)}"
        )
    current_key = RingKey(current_id, current, retired[-1].retired_at if retired else None)
    return KeyRing([*retired, current_key])


def load() -> KeyRing:
    """The ring of the configured signing key (raises ``RingError`` if it is malformed or altered)."""
    path = ring_path()
    return _joined(read_retired(path), signing.public_key(), path)


def current_only() -> KeyRing:
    """The current key alone: what verification trusts when the ring is unreadable."""
    key = signing.public_key()
    return KeyRing([RingKey(signing.key_id(key), key, None)])


def retire(ring: KeyRing, old: Ed25519PrivateKey, successor: Ed25519PublicKey, at: dt.datetime) -> list[RingKey]:
    """The retired keys once ``old`` (the current key) hands over to ``successor`` at ``at``."""
    current = ring.current
    if signing.key_id(old.public_key()) != current.key_id:
        raise RingError("the key to retire is not the ring's current key")
    if current.in_service_from is not None and at <= current.in_service_from:
        raise RingError(f"a key cannot be retired before it came into service ({iso_utc(current.in_service_from)})")
    handed = RingKey(
        key_id=current.key_id,
        public_key=current.public_key,
        in_service_from=current.in_service_from,
        retired_at=at,
        successor_key_id=signing.key_id(successor),
    )
    signature = base64.b64encode(old.sign(handed.handover_statement())).decode("ascii")
    return [*ring.retired, dataclasses.replace(handed, handover_signature=signature)]


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
