"""Hash chain of the audit trail: canonical encoding and link hashing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that are sealed, in a fixed order. Adding a field later means a new chain version.
CHAINED_FIELDS = (
    "seq",
    "created_at",
    "category",
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


def canonical(values: dict[str, Any]) -> bytes:
    """Deterministic bytes for an entry: sorted keys, no whitespace, UTF-8, times in ISO UTC."""
    ordered = {}
    for name in CHAINED_FIELDS:
        value = values.get(name)
        if name == "created_at" and value is not None:
            value = value.isoformat(timespec="microseconds")
        ordered[name] = value
    return json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def link_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(values)).hexdigest()
