"""Database ids from URLs, forms, JSON and socket frames: junk of any shape is the 404.

A forged id ("abc", "-1", "1e3", " 7", a 20-digit number that overflows a 64-bit column, a
boolean in JSON) answers exactly like an id that does not exist: ``Http404``, never a 500 and
never another message, so that ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField (PostgreSQL bigint, SQLite integer)
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(value: Any) -> int:
    """A positive 64-bit id from ``value`` (text or int), or ``Http404``."""
    if isinstance(value, bool):
        raise Http404
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS or not 0 < int(text) <= MAX_ID:
        raise Http404
    return int(text)


def parse_ids(values: list[Any]) -> list[int]:
    """Several ids (a form's multiple choice); any junk among them is the 404."""
    return [parse_id(value) for value in values]


class IdConverter:
    """URL converter ``<id:name>``: at most 19 digits and within a 64-bit column, else no match (404)."""

    regex = f"[0-9]{{1,{_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(value)  # Django answers 404 when a converter refuses a value
        return number

    def to_url(self, value: Any) -> str:
        return str(value)
