"""Dose-dependent thesaurus entries: the level that applies to a product's strength.

The thesaurus grades some interactions of aspirin by its dose, always in the same words:
anti-inflammatory doses (≥ 1 g per intake and/or ≥ 3 g a day), analgesic or antipyretic doses
(≥ 500 mg per intake and/or < 3 g a day) and antiplatelet doses (50 to 375 mg a day). An entry
either gives one level per dose ("Contre-indication avec : - des doses anti-inflammatoires … -
des doses antalgiques … et en cas d'antécédent d'ulcère … Association déconseillée avec : - …"),
or restricts its single level to some doses ("Pour des doses anti-inflammatoires … ou pour des
doses antalgiques …"). The extraction sometimes moved the last level's clause to the start of
the mechanism (" avec : - des doses antiagrégantes …"): it belongs to the level whose heading
the text lost.

A product's strength says which doses it can reach, assuming at most two units per intake
(one unit once a day for antiplatelet use): a 75 or 160 mg unit only antiplatelet doses, a
250 to 375 mg unit antiplatelet or (two units) analgesic doses, a unit of 500 mg or more
analgesic or anti-inflammatory doses. ``assess`` then gives the levels that apply at those
doses, each with the thesaurus' own words as its condition, and the others for information.
When the strength is unknown or the text cannot be read that way, nothing is decided: the
entry is shown at its levels with its whole text, as before.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

SUBJECT = "acide acetylsalicylique"  # the molecule whose doses the thesaurus grades
ANTI_INFLAMMATORY, ANALGESIC, ANTIPLATELET = "anti_inflammatory", "analgesic", "antiplatelet"
BAND_LABELS = {
    ANTI_INFLAMMATORY: _("anti-inflammatory doses (≥ 1 g per intake or ≥ 3 g a day)"),
    ANALGESIC: _("analgesic or antipyretic doses (≥ 500 mg per intake, < 3 g a day)"),
    ANTIPLATELET: _("antiplatelet doses (50 to 375 mg a day)"),
}
_BAND_WORDS = (
    (ANTI_INFLAMMATORY, re.compile(r"\banti-?inflammatoires?\b")),
    (ANALGESIC, re.compile(r"\b(antalgiques?|antipyretiques?)\b")),
    (ANTIPLATELET, re.compile(r"\bantiagregant")),
)
_WORD = r"(?:anti-?inflammatoires?|antalgiques?|antipyretiques?|antiagregantes?)"
_DOSES = re.compile(rf"\bdoses? ({_WORD}(?:(?:,| ou| et) {_WORD})*)")
_HEADINGS = {
    "contre-indication": "1-CI",
    "association deconseillee": "2-AD",
    "precaution d'emploi": "3-PE",
    "a prendre en compte": "4-PC",
}
_HEADING = re.compile(r"\b(contre-indication|association deconseillee|precaution d'emploi|a prendre en compte) avec\b")
_CONTEXT = re.compile(r"\bavec (?:le|la|les|l') [^:.]{3,80}:")
_RESTRICTED = re.compile(r"^(pour des doses|avec l'acide acetylsalicylique a doses)")
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])")
_AMOUNT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mg|g|µg|microgrammes?)\b", re.IGNORECASE)
MAX_UNITS_PER_INTAKE = 2


@dataclass(frozen=True)
class DoseRule:
    level: str  # an Interaction.Level value
    bands: frozenset[str]
    condition: str  # the thesaurus' words for it


@dataclass(frozen=True)
class Assessment:
    strength_mg: Decimal
    bands: tuple[str, ...]  # the doses this strength reaches
    applicable: tuple[DoseRule, ...]  # most severe first; empty: the entry does not apply
    others: tuple[DoseRule, ...]

    @property
    def band_labels(self) -> list[str]:
        return [str(BAND_LABELS[b]) for b in self.bands]


def _plain(text: str) -> str:
    """Without accents, whitespace tidied; same letters, so positions map back to the text."""
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def _bands(text: str) -> frozenset[str]:
    """The doses a text names ("doses antalgiques, antipyretiques ou anti-inflammatoires")."""
    named = " ".join(match.group(1) for match in _DOSES.finditer(text.lower()))
    return frozenset(band for band, pattern in _BAND_WORDS if pattern.search(named))


def _clauses(level: str, text: str, context: str) -> list[DoseRule]:
    """One rule per "- …" clause that names doses; its condition is its first sentence."""
    found = []
    for clause in re.split(r"(?:^|\s)-\s", text):
        clause = _SENTENCE_END.split(clause, 1)[0].strip(" :.")
        bands = _bands(clause)
        if bands:
            found.append(DoseRule(level, bands, f"{context} {clause}".strip()))
    return found


def rules(conduct: str, mechanism: str, levels: list[str]) -> list[DoseRule]:
    """The dose rules of an entry about aspirin's doses; [] when it grades nothing by dose."""
    text, meca = _plain(conduct), _plain(mechanism)
    if "doses" not in f"{text} {meca}".lower() or not _bands(f"{text} {meca}"):
        return []
    lower = text.lower()
    headings = list(_HEADING.finditer(lower))
    if headings:
        found: list[DoseRule] = []
        for heading, following in zip(headings, [*headings[1:], None], strict=True):
            end = following.start() if following else len(text)
            contexts = list(_CONTEXT.finditer(lower, 0, heading.start()))
            context = text[contexts[-1].start() : contexts[-1].end()] if contexts else ""
            found += _clauses(_HEADINGS[heading.group(1)], text[heading.end() : end], context)
        named = {_HEADINGS[h.group(1)] for h in headings}
        lost = [lv for lv in levels if lv not in named]
        if lost and meca.lower().startswith("avec"):  # the lost heading's clause, moved to the mechanism
            found += _clauses(lost[-1], meca.split(")", 1)[0] + ")" if ")" in meca else meca, "")
        return found
    restricted = [c.split(":", 1)[0].strip() for c in (text, meca) if _RESTRICTED.match(c.lower())]
    if not restricted or len(levels) != 1:
        return []
    condition = max(restricted, key=lambda c: (len(_bands(c)), len(c)))
    return [DoseRule(levels[0], _bands(condition), condition)]


def strength_mg(dosage: str) -> Decimal | None:
    """ "75 mg", "0,330 g", "500,00 mg" → milligrams; None when it is not a plain amount."""
    match = _AMOUNT.match(dosage)
    if not match:
        return None
    try:
        value = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None
    unit = match.group(2).lower()
    return value * 1000 if unit == "g" else value / 1000 if unit != "mg" else value


def reachable(unit_mg: Decimal) -> tuple[str, ...]:
    """The doses a unit of this strength reaches (see the module docstring)."""
    bands = []
    if unit_mg >= 1000 / MAX_UNITS_PER_INTAKE:
        bands.append(ANTI_INFLAMMATORY)
    if unit_mg >= 500 / MAX_UNITS_PER_INTAKE:
        bands.append(ANALGESIC)
    if 50 <= unit_mg <= 375:
        bands.append(ANTIPLATELET)
    return tuple(bands)


def assess(entry_rules: list[DoseRule], unit_mg: Decimal | None) -> Assessment | None:
    """What applies at this strength; None when nothing can be decided."""
    if not entry_rules or unit_mg is None:
        return None
    bands = reachable(unit_mg)
    if not bands:
        return None
    applicable = sorted((r for r in entry_rules if r.bands & set(bands)), key=lambda r: r.level)
    others = sorted((r for r in entry_rules if not r.bands & set(bands)), key=lambda r: r.level)
    return Assessment(unit_mg, bands, tuple(applicable), tuple(others))
