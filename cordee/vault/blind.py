"""Blind indexes: keyed hashes (HMAC-SHA256, Tink PRF) of clear values, for exact look-ups.

The key lives in the vault keyset file, never in the database: a stolen database cannot test a
guessed INS or name against an index. What an index does reveal: which rows share a value. So we
index only what exact look-ups need (the INS; birth name + birth date together), never a name alone.

Values are normalised first, so that a look-up finds what was typed differently: case, accents,
hyphens/apostrophes and runs of spaces do not count (``Lefèvre-d'Arc`` = ``LEFEVRE D ARC``);
dates use their ISO form. Each index has a *purpose*, mixed into the hash, so two indexes of the
same value differ.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from cordee.vault import keyset

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’`´]+")
_LENGTH = 32  # bytes of HMAC output kept (hex: 64 characters)


def normalise(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", text).strip().upper()


def blind_index(purpose: str, *values: object) -> str:
    """The index of ``values`` for ``purpose``, or "" when any value is empty (nothing to look up)."""
    parts = [normalise(value) for value in values]
    if not parts or any(part == "" for part in parts):
        return ""
    message = purpose.encode("utf-8") + b"\x00" + "\x1f".join(parts).encode("utf-8")
    return keyset.current().blind_prf.compute(message, _LENGTH).hex()
