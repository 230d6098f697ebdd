"""Hash chain of the audit trail: canonical encoding and link hashing (chain format 2).

Each entry is hashed in two levels, so that retention can erase what an entry says without
breaking the chain (see ``retention.py``):

- ``content_hash`` = SHA-256 of the canonical encoding of what the entry says (actor, action,
  target, patient, purpose, client, details): the part that a purge blanks;
- ``entry_hash`` = SHA-256 of the previous entry's hash and the canonical encoding of the
  entry's header (``seq``, ``created_at``, ``category``) with its ``content_hash``.

A purged entry (tombstone) keeps its header, ``content_hash``, ``prev_hash`` and ``entry_hash``:
its link and its header (position, time, category) stay verifiable; only its content is gone.

The canonical encoding is JSON with sorted keys, no whitespace, UTF-8, times in ISO 8601 UTC
with microseconds. Adding or renaming a sealed field means a new chain format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64
CHAIN_FORMAT = 2

# The header stays readable after a purge; the content is blanked by it.
HEADER_FIELDS = ("seq", "created_at", "category")
CONTENT_FIELDS = (
    "action",
    "outcome",
    "actor_id",
    "actor_display",
    "target_type",
    "target_id",
    "target_display",
    "patient_id",
    "purpose",
    "ip",
    "user_agent",
    "details",
)
# Every sealed field, in a fixed order.
CHAINED_FIELDS = HEADER_FIELDS + CONTENT_FIELDS

_CONTENT_PREFIX = b"cordee-audit-content/2\n"


def _dumps(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_utc(moment: dt.datetime) -> str:
    """The canonical text of a time: ISO 8601 in UTC with microseconds."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(values: dict[str, Any], fields: tuple[str, ...] = CHAINED_FIELDS) -> bytes:
    """Deterministic bytes for the given fields of an entry (missing fields encode as null)."""
    ordered = {}
    for name in fields:
        value = values.get(name)
        if name == "created_at" and value is not None:
            value = iso_utc(value)
        ordered[name] = value
    return _dumps(ordered)


def content_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(_CONTENT_PREFIX + canonical(values, CONTENT_FIELDS)).hexdigest()


def header_hash(prev_hash: str, seq: int, created_at: dt.datetime, category: str, content_digest: str) -> str:
    """The entry's hash from its header and the hash of its content (what a tombstone keeps)."""
    header = {"category": category, "content_hash": content_digest, "created_at": iso_utc(created_at), "seq": seq}
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _dumps(header)).hexdigest()


def link_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """The hash of a whole entry given the previous entry's hash."""
    return header_hash(prev_hash, values["seq"], values["created_at"], values["category"], content_hash(values))
