"""The vault keyset file: the key-encryption key (KEK) and the blind-index key, outside the database.

The file (JSON, mode 0600) holds two Tink keysets, each in Tink's own JSON format::

    {"format": "cordee-vault-keyset", "version": 1,
     "kek": {... AES256_GCM AEAD keys; the primary one wraps new data keys ...},
     "blind_index": {... one HMAC-SHA256 PRF key: the keyed hashes used for exact look-ups ...}}

Either part can be cut out and handled by Tink's own tools (tinkey). ``vault_rotate`` adds a KEK
key and makes it primary; the old ones stay to unwrap until ``--retire-old`` removes them. The
blind-index key is not rotated (the indexes would have to be recomputed from the clear values).

A new installation creates its keyset with ``python -m cordee.vault.keyset create PATH`` (DEBUG
runs create it on start-up); nothing ever writes a new keyset over an existing file.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tink
from tink import aead, prf, secret_key_access, streaming_aead

from cordee.vault.errors import KeysetError

FORMAT = "cordee-vault-keyset"
VERSION = 1

_cache: dict[str, tuple[tuple[int, int, int], VaultKeyset]] = {}
_cache_lock = threading.Lock()


@functools.cache
def register_tink() -> None:
    aead.register()
    streaming_aead.register()
    prf.register()


@dataclass(frozen=True, eq=False)
class VaultKeyset:
    kek: tink.KeysetHandle
    blind_index: tink.KeysetHandle

    @functools.cached_property
    def kek_aead(self) -> aead.Aead:
        return self.kek.primitive(aead.Aead)

    @functools.cached_property
    def blind_prf(self) -> prf.Prf:
        return self.blind_index.primitive(prf.PrfSet).primary()

    @property
    def primary_kek_id(self) -> int:
        return self.kek.keyset_info().primary_key_id

    @property
    def kek_ids(self) -> list[int]:
        return [info.key_id for info in self.kek.keyset_info().key_info]


def _to_dict(handle: tink.KeysetHandle) -> dict[str, Any]:
    return json.loads(tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN))


def _from_dict(data: dict[str, Any]) -> tink.KeysetHandle:
    return tink.json_proto_keyset_format.parse(json.dumps(data), secret_key_access.TOKEN)


def generate() -> VaultKeyset:
    register_tink()
    return VaultKeyset(
        kek=tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM),
        blind_index=tink.new_keyset_handle(prf.prf_key_templates.HMAC_SHA256),
    )


def to_json(keyset: VaultKeyset) -> str:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "kek": _to_dict(keyset.kek),
        "blind_index": _to_dict(keyset.blind_index),
    }
    return json.dumps(document, indent=2) + "\n"


def from_json(text: str, source: Path) -> VaultKeyset:
    """Parse and check a keyset document; any defect is a ``KeysetError`` naming the file."""
    register_tink()
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f'not a Cordée vault keyset (expected "format": "{FORMAT}")')
        if document.get("version") != VERSION:
            raise ValueError(f"unknown keyset version {document.get('version')!r}")
        keyset = VaultKeyset(kek=_from_dict(document["kek"]), blind_index=_from_dict(document["blind_index"]))
        keyset.kek_aead  # noqa: B018  (builds the primitives now: a wrong key type fails here)
        keyset.blind_prf  # noqa: B018
    except (ValueError, KeyError, TypeError, tink.TinkError) as exc:
        raise KeysetError(corrupt_message(source, str(exc) or type(exc).__name__)) from None
    return keyset


def missing_message(path: Path) -> str:
    return (
        f"The vault keyset {path} does not exist. Cordée refuses to start without it: every encrypted "
        "field and file is read with it. Restore it from your key backup and point VAULT_KEYSET_FILE at it; "
        f"only for a new, empty installation create one with: python -m cordee.vault.keyset create {path}"
    )


def corrupt_message(path: Path, reason: str) -> str:
    return (
        f"The vault keyset {path} cannot be read ({reason}). Cordée refuses to start. Restore the file from "
        "your key backup; do not create a new one in its place: data encrypted with it would be lost."
    )


def load(path: Path) -> VaultKeyset:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeysetError(missing_message(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysetError(corrupt_message(path, str(exc))) from None
    return from_json(text, path)


def _write_temporary(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path) -> VaultKeyset:
    """Write a new keyset at ``path``; refuses (FileExistsError) if a file is already there."""
    keyset = generate()
    temporary = _write_temporary(path, to_json(keyset))
    try:
        os.link(temporary, path)  # atomic and never overwrites: two racing start-ups keep one keyset
    finally:
        temporary.unlink()
    _sync_directory(path.parent)
    return keyset


def replace(path: Path, keyset: VaultKeyset) -> None:
    """Atomically replace the keyset file (rotation): readers see the old or the new file, never half."""
    temporary = _write_temporary(path, to_json(keyset))
    os.replace(temporary, path)
    _sync_directory(path.parent)
    with _cache_lock:
        _cache.pop(str(path), None)


def current() -> VaultKeyset:
    """The keyset at ``settings.VAULT_KEYSET_PATH``, re-read when the file changes (after a rotation)."""
    from django.conf import settings

    path = Path(settings.VAULT_KEYSET_PATH)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise KeysetError(missing_message(path)) from None
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
    keyset = load(path)
    with _cache_lock:
        _cache[str(path)] = (stamp, keyset)
    return keyset


def _warn_created(path: Path) -> None:
    bar = "!" * 100
    sys.stderr.write(
        f"\n{bar}\n"
        f"!!! Cordée (DEBUG) created a NEW vault keyset: {path}\n"
        "!!! It is the key to every encrypted field and file. Lose it and the data is lost; whoever holds it\n"
        "!!! together with the database reads the data. Keep it out of the repository and out of database\n"
        "!!! backups. With DEBUG off, Cordée refuses to start without an existing keyset.\n"
        f"{bar}\n\n"
    )


def check_at_startup() -> None:
    """Run from ``VaultConfig.ready``: under uvicorn and every ``manage.py`` command."""
    from django.conf import settings

    path = Path(settings.VAULT_KEYSET_PATH)
    if not path.exists() and settings.VAULT_CREATE_MISSING_KEYSET:
        try:
            create(path)
            _warn_created(path)
        except FileExistsError:
            pass  # another process created it at the same moment: use theirs
    current()


def with_new_primary(keyset: VaultKeyset) -> VaultKeyset:
    """The same keyset plus a new AES256-GCM KEK key, made primary; the old keys stay to unwrap."""
    data = _to_dict(keyset.kek)
    taken = {key["keyId"] for key in data["key"]}
    while True:
        new = _to_dict(tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM))["key"][0]
        if new["keyId"] not in taken:
            break
    data["key"].append(new)
    data["primaryKeyId"] = new["keyId"]
    return VaultKeyset(kek=_from_dict(data), blind_index=keyset.blind_index)


def without_old_keys(keyset: VaultKeyset) -> VaultKeyset:
    """Only the primary KEK key remains: anything wrapped by an older key can no longer be unwrapped."""
    data = _to_dict(keyset.kek)
    data["key"] = [key for key in data["key"] if key["keyId"] == data["primaryKeyId"]]
    return VaultKeyset(kek=_from_dict(data), blind_index=keyset.blind_index)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "create":
        sys.stderr.write("usage: python -m cordee.vault.keyset create PATH\n")
        return 2
    path = Path(argv[2]).expanduser().resolve()
    try:
        create(path)
    except FileExistsError:
        sys.stderr.write(f"{path} already exists: a keyset is never overwritten.\n")
        return 1
    sys.stderr.write(
        f"Created the vault keyset {path} (mode 0600). Back it up apart from the database backups, and set\n"
        f"VAULT_KEYSET_FILE={path}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
