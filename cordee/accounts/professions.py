"""RPPS profession codes (nomenclature TRE_G15-ProfessionSante) and their labels."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

PROFESSION_CHOICES = [
    ("10", _("Médecin")),
    ("21", _("Pharmacien")),
    ("26", _("Audioprothésiste")),
    ("28", _("Opticien-lunetier")),
    ("40", _("Chirurgien-dentiste")),
    ("50", _("Sage-femme")),
    ("60", _("Infirmier")),
    ("69", _("Infirmier psychiatrique")),
    ("70", _("Masseur-kinésithérapeute")),
    ("80", _("Pédicure-podologue")),
    ("81", _("Orthoprothésiste")),
    ("91", _("Orthophoniste")),
    ("92", _("Orthoptiste")),
    ("94", _("Ergothérapeute")),
    ("95", _("Diététicien")),
    ("96", _("Psychomotricien")),
    ("98", _("Manipulateur ERM")),
]
PRESCRIBING_PROFESSIONS = frozenset({"10", "40", "50"})
_LABELS = dict(PROFESSION_CHOICES)


_TRANSLATED: dict[tuple[str, str | None], str] = {}  # (code, language) → label: every audit entry names one


def profession_label(code: str) -> str:
    key = (code, get_language())
    label = _TRANSLATED.get(key)
    if label is None:
        label = str(_LABELS.get(code, code))
        if code in _LABELS:  # bounded: the codes above times the languages
            _TRANSLATED[key] = label
    return label
