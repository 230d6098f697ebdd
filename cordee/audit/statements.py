"""The exact bytes that the audit signing key signs, for checkpoints and purge records.

A statement is canonical JSON (sorted keys, no whitespace, ASCII) with a ``type`` naming what it
is, so that a checkpoint signature can never pass for a purge signature or the reverse. Exports
carry the statement text itself: a third party verifies the signature over its UTF-8 bytes with
any Ed25519 tool, then reads the fields from it.
"""

from __future__ import annotations

import json
from typing import Any

from cordee.audit.chain import iso_utc

CHECKPOINT_TYPE = "cordee-audit-checkpoint/1"
PURGE_TYPE = "cordee-audit-purge/1"
ROTATION_TYPE = "cordee-audit-key-rotation/1"


def _dumps(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode("ascii")


def checkpoint_statement(checkpoint: Any) -> bytes:
    """What a checkpoint signs: the entry it seals, that entry's hash, how many entries it covers."""
    return _dumps(
        {
            "type": CHECKPOINT_TYPE,
            "seq": checkpoint.seq,
            "entry_hash": checkpoint.entry_hash,
            "entry_count": checkpoint.entry_count,
            "created_at": iso_utc(checkpoint.created_at),
            "key_id": checkpoint.key_id,
        }
    )


def purge_statement(purge: Any) -> bytes:
    """What a purge record signs: its cutoffs, its reach, and where verification restarts."""
    return _dumps(
        {
            "type": PURGE_TYPE,
            "purged_at": iso_utc(purge.purged_at),
            "up_to_seq": purge.up_to_seq,
            "security_cutoff": iso_utc(purge.security_cutoff),
            "access_cutoff": iso_utc(purge.access_cutoff),
            "tombstoned": purge.tombstoned,
            "deleted": purge.deleted,
            "anchor_seq": purge.anchor_seq,
            "anchor_hash": purge.anchor_hash,
            "key_id": purge.key_id,
        }
    )


def rotation_statement(retired_key_id: str, successor_key_id: str, retired_at: Any) -> bytes:
    """What a retiring signing key signs as its last act: its successor and the end of its service.

    Signed by the retired key (``keyring.py``), so that whoever trusts the first public key can
    follow every rotation since, and nobody without that private key can move its retirement.
    """
    return _dumps(
        {
            "type": ROTATION_TYPE,
            "retired_key_id": retired_key_id,
            "successor_key_id": successor_key_id,
            "retired_at": iso_utc(retired_at),
        }
    )
