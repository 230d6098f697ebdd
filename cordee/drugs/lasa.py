"""Look-alike, sound-alike names: known confusion pairs, to warn where the search shows one.

The search already keeps its spelling guesses apart from exact matches (``search.Hit.guess``).
This table adds what spelling distance cannot tell: pairs of names that health professionals
have actually confused, as reported to the French agency. It is deliberately small and every
pair says where it comes from; ANSM keeps the full list ("médicaments dont le nom prête à
confusion", over 180 confusions reported since 2005), which an operator may add here.

A warning is given when a word of the query, or the first word of a result's name, is one of a
pair's names: the other name is shown, so that the prescriber or pharmacist checks which one is
meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordee.drugs.text import fold

ANSM_2016 = (
    "ANSM, liste des médicaments dont le nom prête à confusion, mise à jour du 7 novembre 2016 "
    "(rapportée par le JIM, 10 novembre 2016)"
)
AFSSAPS_VIGILANCES = "Afssaps, bulletin « Vigilances » : dix confusions de noms signalées (rapporté par e-sante.fr)"
CBIP_2000 = "CBIP, Folia pharmacotherapeutica : erreurs de délivrance rapportées en France et aux États-Unis"

PAIRS: tuple[tuple[str, str, str], ...] = (
    ("PREVISCAN", "PERMIXON", ANSM_2016),
    ("TEMERIT", "TEMESTA", ANSM_2016),
    ("SPASFON", "STABLON", AFSSAPS_VIGILANCES),
    ("XANAX", "XATRAL", AFSSAPS_VIGILANCES),
    ("VALIUM", "VALINOR", AFSSAPS_VIGILANCES),
    ("ESPERAL", "HEPSERA", AFSSAPS_VIGILANCES),
    ("REMINYL", "AMAREL", AFSSAPS_VIGILANCES),
    ("PROSTINE", "PROSTIGMINE", AFSSAPS_VIGILANCES),
    ("METHOTREXATE", "METEOXANE", AFSSAPS_VIGILANCES),
    ("ADRENALINE", "NORADRENALINE", AFSSAPS_VIGILANCES),
    ("LAMICTAL", "LAMISIL", CBIP_2000),
)


@dataclass(frozen=True)
class Confusion:
    found: str  # the name that the query or a result has
    other: str  # the name it has been confused with
    source: str


_BY_NAME: dict[str, list[tuple[str, str]]] = {}
for _a, _b, _source in PAIRS:
    _BY_NAME.setdefault(fold(_a), []).append((_b, _source))
    _BY_NAME.setdefault(fold(_b), []).append((_a, _source))


def confusions(query: str, names: list[str]) -> list[Confusion]:
    """The known confusions concerning the query's words or the first word of the names shown."""
    seen = [*fold(query).split(), *(fold(name).split()[0] for name in names if fold(name))]
    found: dict[frozenset[str], Confusion] = {}
    for word in seen:
        for other, source in _BY_NAME.get(word, ()):
            found.setdefault(frozenset((word, fold(other))), Confusion(word.upper(), other, source))
    return list(found.values())
