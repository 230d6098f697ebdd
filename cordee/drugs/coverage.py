"""How much of the BDPM the interaction thesaurus can see: the mapping-coverage report.

The subject is what a prescriber prescribes: the active substances (SA lines) of the
commercialised specialities still listed. A substance line is *mapped* when its name, or the
name of its therapeutic fraction (the FT line linked to it: "HYDROGÉNOSULFATE DE CLOPIDOGREL"
→ "CLOPIDOGREL"), matches a thesaurus molecule, class member or protagonist. Homeopathic
stocks are counted apart: the thesaurus does not name them.

An unmapped substance is not necessarily a miss: the thesaurus (2016 edition) lists about a
thousand molecules, those with interactions worth a warning; most other substances have none.
The list of unmapped names, most prescribed first, is what to read to find real misses;
``near_misses`` are unmapped names that contain a thesaurus name among their words, the first
place to look for a missing rule or alias.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from cordee.drugs.models import Composition, Product
from cordee.drugs.substances import forms
from cordee.drugs.text import fold
from cordee.drugs.thesaurus_index import Thesaurus, thesaurus


def _is_homeopathic(name: str) -> bool:
    return "homeopathique" in fold(name)


def _near_miss(book: Thesaurus, name: str) -> str:
    words = f" {fold(name)} "
    candidates = [key for key in book.names if len(key) > 4 and f" {key} " in words]
    return max(candidates, key=len) if candidates else ""


def _substance_lines() -> tuple[list[tuple[str, str, list[str]]], set[str]]:
    """(CIS, substance, names of its fractions) for every SA line of a commercialised, listed
    speciality, homeopathic stocks apart; and the homeopathic names."""
    listed = Product.objects.filter(is_commercialised=True, removed_at__isnull=True).values("cis")
    fractions: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    substances = []
    for cis, element, link, nature, name in Composition.objects.filter(cis__in=listed).values_list(
        "cis", "element", "link_number", "nature", "substance_name"
    ):
        if nature == "FT":
            fractions[(cis, element, link)].append(name)
        else:
            substances.append((cis, element, link, name))
    homeopathic = {name for *_key, name in substances if _is_homeopathic(name)}
    lines = [(cis, name, fractions.get((cis, element, link), [])) for cis, element, link, name in substances]
    return [line for line in lines if line[1] not in homeopathic], homeopathic


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def report(*, unmapped_limit: int | None = None) -> dict[str, Any]:
    """The coverage of the commercialised specialities' substances (see the module docstring)."""
    book = thesaurus()
    lines, homeopathic = _substance_lines()
    mapped: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    products: dict[str, bool] = {}
    for cis, name, fraction_names in lines:
        found = any(book.molecule_for(n) for n in [name, *fraction_names])
        (mapped if found else unmapped)[name] += 1
        products[cis] = products.get(cis, False) or found
    never = sorted(set(unmapped) - set(mapped), key=lambda n: (-unmapped[n], n))  # some map only via a fraction
    names = len(set(mapped) | set(unmapped))
    return {
        "scope": "active substances (SA) of commercialised specialities still listed, homeopathic stocks apart",
        "substances": names,
        "substances_mapped": len(mapped),
        "substances_mapped_pct": _pct(len(mapped), names),
        "substance_lines": len(lines),
        "substance_lines_mapped": mapped.total(),
        "substance_lines_mapped_pct": _pct(mapped.total(), len(lines)),
        "products": len(products),
        "products_with_a_mapped_substance": sum(products.values()),
        "homeopathic_substances": len(homeopathic),
        "unmapped": [{"name": n, "lines": unmapped[n]} for n in never[:unmapped_limit]],
        "near_misses": [{"name": n, "contains": c} for n in never if (c := _near_miss(book, n))][:unmapped_limit],
    }


def match_forms(name: str) -> list[str]:
    """The forms tried for a name, for the command's ``--explain``."""
    return forms(name)
