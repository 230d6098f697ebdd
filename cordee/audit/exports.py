"""The signed records as self-contained JSON lines: the export for a third party, and the copy.

Each line carries ``statement`` (the exact text signed), ``signature`` and ``public_key`` (raw 32
bytes, of the key that signed it: its ``key_id`` is its SHA-256), base64, and the statement's
fields repeated for reading; trust only the statement. With those lines, a rewrite of the chain by
someone who holds the database but not the key is detected. After a rotation of the signing key
(``keyring.py``), the export also carries one ``key-rotation`` line per retired key: its handover
to its successor, signed by the retired key, so that whoever trusts the first public key can
follow the later ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cordee.audit import keyring, signing
from cordee.audit.models import AuditCheckpoint, AuditPurge
from cordee.audit.statements import (
    CHECKPOINT_TYPE,
    PURGE_TYPE,
    ROTATION_TYPE,
    checkpoint_statement,
    purge_statement,
)


def _line(kind: str, statement: bytes, signature: str, public_key: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "statement": statement.decode("ascii"),
        "signature": signature,
        "public_key": public_key,
        **json.loads(statement),
    }


def public_key_base64() -> str:
    return base64.b64encode(signing.raw_public_key()).decode("ascii")


def ring_for_export() -> keyring.KeyRing:
    """The ring whose public keys the lines carry (the current key alone if the ring is unsound:
    ``audit verify`` says why, and a third party then sees the lines it cannot check)."""
    try:
        return keyring.load()
    except keyring.RingError:
        return keyring.current_only()


def checkpoint_line(checkpoint: AuditCheckpoint, public_key: str) -> dict[str, Any]:
    """One checkpoint as a line (``public_key``: the raw public key in base64)."""
    return _line("checkpoint", checkpoint_statement(checkpoint), checkpoint.signature, public_key)


def export_lines() -> Iterator[dict[str, Any]]:
    """Every key rotation, checkpoint, then purge record, as self-contained dictionaries (one JSON
    line each).

    ``statement`` is the exact text signed; ``signature`` and ``public_key`` (raw 32 bytes, of the
    key that signed) are base64. The statement's fields are repeated alongside for convenience;
    trust only the statement.
    """
    ring = ring_for_export()
    yield from ring.handover_lines()
    for checkpoint in AuditCheckpoint.objects.order_by("seq").iterator(chunk_size=1000):
        yield checkpoint_line(checkpoint, ring.public_key_base64(checkpoint.key_id))
    for purge in AuditPurge.objects.order_by("up_to_seq", "pk"):
        yield _line("purge", purge_statement(purge), purge.signature, ring.public_key_base64(purge.key_id))


@dataclass(frozen=True)
class ExportedCheckpoint:
    """A checkpoint read back from an export (a third party's copy)."""

    seq: int
    entry_hash: str
    entry_count: int
    created_at: dt.datetime
    key_id: str
    signature: str
    statement: bytes
    source: str

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} ({self.source})"


def read_exported_checkpoints(lines: Iterable[str], source: str) -> list[ExportedCheckpoint]:
    """Parse the checkpoint lines of an export; the fields are taken from the signed statement."""
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            statement = record["statement"]
            fields = json.loads(statement)
            if fields.get("type") != CHECKPOINT_TYPE:
                if fields.get("type") in (PURGE_TYPE, ROTATION_TYPE):
                    continue
                raise ValueError(f"unknown statement type {fields.get('type')!r}")
            found.append(
                ExportedCheckpoint(
                    seq=int(fields["seq"]),
                    entry_hash=str(fields["entry_hash"]),
                    entry_count=int(fields["entry_count"]),
                    created_at=dt.datetime.fromisoformat(fields["created_at"]),
                    key_id=str(fields["key_id"]),
                    signature=str(record["signature"]),
                    statement=statement.encode("ascii"),
                    source=f"{source} line {number}",
                )
            )
        except (ValueError, KeyError, TypeError, UnicodeEncodeError) as exc:
            raise ValueError(f"{source} line {number} is not an exported checkpoint: {exc}") from None
    return found
