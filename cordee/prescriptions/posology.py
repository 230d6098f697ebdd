"""A structured posology and the French sentence the prescription prints.

The sentence is French whatever the interface language: it is the text of a French prescription.
A stupéfiant's quantities are written in words as well (CSP R.5132-29: "en toutes lettres").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from cordee.lib.errors import CodedError

PERIODS = {"day": "jour", "week": "semaine", "month": "mois"}
ROUTES = ("orale", "cutanée", "nasale", "inhalée", "rectale", "vaginale", "ophtalmique", "intramusculaire",
          "sous-cutanée", "intraveineuse", "sublinguale", "auriculaire")  # fmt: skip
MAX_DAYS = 366


class PosologyError(CodedError):
    pass  # its table is services' ERRORS


_UNITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
          "treize", "quatorze", "quinze", "seize"]  # fmt: skip
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def in_words(n: int) -> str:
    """A whole number from 0 to 9999 in French words (1990 spelling: hyphens throughout)."""
    if n < 0 or n > 9999:
        raise ValueError(n)
    if n < 17:
        return _UNITS[n]
    if n < 20:
        return "dix-" + _UNITS[n - 10]
    if n < 100:
        tens, unit = divmod(n, 10)
        if tens in (7, 9):
            base = "soixante" if tens == 7 else "quatre-vingt"
            rest = 10 + unit
            return f"{base}-et-onze" if n == 71 else f"{base}-{in_words(rest)}"
        base = "quatre-vingt" if tens == 8 else _TENS[tens]
        if unit == 0:
            return "quatre-vingts" if tens == 8 else base
        return f"{base}-et-un" if unit == 1 and tens != 8 else f"{base}-{_UNITS[unit]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else f"{_UNITS[hundreds]}-cent{'s' if rest == 0 else ''}"
        return head if rest == 0 else f"{head}-{in_words(rest)}"
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else f"{in_words(thousands)}-mille"
    return head if rest == 0 else f"{head}-{in_words(rest)}"


def _number(raw: Any, code: str, *, whole: bool = False, optional: bool = False) -> Decimal | None:
    if raw in (None, "") and optional:
        return None
    try:
        value = Decimal(str(raw).replace(",", ".").strip())
    except (InvalidOperation, ValueError):
        raise PosologyError(code) from None
    if not value.is_finite() or value <= 0 or value > 10000 or (whole and value != value.to_integral_value()):
        raise PosologyError(code)
    return value


def clean(raw: dict[str, Any]) -> dict[str, Any]:
    """The posology of a drug line, checked: dose > 0, times ≥ 1, duration 1–366 days."""
    dose = _number(raw.get("dose"), "dose")
    times = _number(raw.get("times") or 1, "times", whole=True)
    period = str(raw.get("per") or "day")
    if period not in PERIODS:
        raise PosologyError("times")
    duration = _number(raw.get("duration_days"), "duration", whole=True, optional=True)
    if duration is not None and duration > MAX_DAYS:
        raise PosologyError("duration")
    return {
        "dose": format(dose.normalize(), "f") if dose is not None else "",
        "unit": " ".join(str(raw.get("unit") or "").split())[:40],
        "times": int(times or 1),
        "per": period,
        "duration_days": int(duration) if duration is not None else None,
        "route": " ".join(str(raw.get("route") or "").split())[:40],
        "timing": " ".join(str(raw.get("timing") or "").split())[:80],
        "instructions": " ".join(str(raw.get("instructions") or "").split())[:300],
    }


def _dose_words(dose: str) -> str:
    value = Decimal(dose)
    if value == value.to_integral_value():
        return in_words(int(value))
    return dose.replace(".", ",")


def sentence(p: dict[str, Any], *, words: bool = False) -> str:
    """e.g. "1 comprimé 3 fois par jour, par voie orale, au cours des repas, pendant 7 jours."."""
    if not p:
        return ""
    dose = p["dose"].replace(".", ",")
    if words:
        dose = f"{dose} ({_dose_words(p['dose'])})"
    parts = [f"{dose} {p['unit']}".strip()]
    per = PERIODS[p["per"]]
    parts[0] += " par " + per if p["times"] == 1 else f" {p['times']} fois par {per}"
    if p.get("route"):
        parts.append(f"par voie {p['route']}")
    if p.get("timing"):
        parts.append(p["timing"])
    if p.get("duration_days"):
        days = p["duration_days"]
        shown = f"{days} ({in_words(days)})" if words else str(days)
        parts.append(f"pendant {shown} jour{'s' if days > 1 else ''}")
    text = ", ".join(parts) + "."
    if p.get("instructions"):
        text += " " + p["instructions"]
    return text
