"""Comparing family names as typed at sign-up with the Annuaire Santé's *nom d'exercice*."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
_SEPARATORS = re.compile(r"[\s\-‐‑–'’`.]+")


def name_key(name: str) -> str:
    """``name`` without case, accents, ligatures, and with hyphens, apostrophes and spaces alike.

    The Annuaire writes names in capitals without accents (``LE GALL``, ``N'DIAYE``) while
    people type ``Le Gall`` or ``Le-Gall``: those are the same name. Letters themselves must
    match: ``Martin`` is not ``Martins``.
    """
    decomposed = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", letters.casefold()).strip()


def same_family_name(typed: str, annuaire: str) -> bool:
    return bool(name_key(typed)) and name_key(typed) == name_key(annuaire)
