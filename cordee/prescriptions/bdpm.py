"""What a prescription line needs from the drug database (``cordee.drugs``).

- ``resolve_product`` / ``resolve_substance``: a CIS or CIP13 typed or chosen, or a substance code
  for an INN line, checked against the BDPM (unknown → ``LineError("unknown_code")``, a product
  no longer listed or whose authorisation is not active → ``"withdrawn"``).
- ``conditions_of``: the BDPM prescription conditions of a product as flags (liste I/II,
  stupéfiant, hospital-only, médicament d'exception, a legal maximum duration).
- ``same_group``: whether a dispensed box is the prescribed product or a generic of its group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cordee.drugs.models import Composition, GenericMembership, PrescriptionCondition, Presentation, Product
from cordee.drugs.text import fold
from cordee.lib.errors import CodedError

_DURATION = re.compile(r"limitee a (\d+) (jours?|semaines?|mois)")
_UNIT_DAYS = {"jour": 1, "jours": 1, "semaine": 7, "semaines": 7, "mois": 30}
STUPEFIANT_MAX_DAYS = 28  # CSP R.5132-30: 28 days at most, less for some (their BDPM condition says so)


class LineError(CodedError):
    pass  # its table is services' ERRORS (set there)


@dataclass
class Conditions:
    liste_i: bool = False
    liste_ii: bool = False
    stupefiant: bool = False
    hospital_only: bool = False  # réservé à l'usage hospitalier / prescription hospitalière
    initial_hospital: bool = False  # prescription initiale hospitalière: renewal from a cabinet
    exception: bool = False  # médicament d'exception: its special form
    secure_form: bool = False  # en toutes lettres sur ordonnance sécurisée
    max_days: int | None = None
    texts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v and k != "texts"}


def conditions_of(cis: str) -> Conditions:
    found = Conditions()
    for text in PrescriptionCondition.objects.filter(cis=cis).order_by("position").values_list("text", flat=True):
        folded = fold(text)
        found.texts.append(text)
        if folded == "liste i":
            found.liste_i = True
        elif folded == "liste ii":
            found.liste_ii = True
        if "stupefiant" in folded:
            found.stupefiant = True
        if "usage hospitalier" in folded or folded == "prescription hospitaliere":
            found.hospital_only = True
        if "initiale hospitaliere" in folded:
            found.initial_hospital = True
        if "exception" in folded:
            found.exception = True
        if "toutes lettres" in folded or "securisee" in folded:
            found.secure_form = True
        match = _DURATION.search(folded)
        if match:
            days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
            found.max_days = min(found.max_days or days, days)
    if found.stupefiant:
        found.max_days = min(found.max_days or STUPEFIANT_MAX_DAYS, STUPEFIANT_MAX_DAYS)
    return found


def _withdrawn(product: Product) -> bool:
    status = fold(product.amm_status)
    return product.removed_at is not None or (bool(status) and "active" not in status)


def resolve_product(code: str) -> tuple[Product, Presentation | None]:
    """The product of a CIS (8 digits) or of a box's CIP13 (13 digits)."""
    code = "".join(str(code or "").split())
    presentation = None
    if len(code) == 13 and code.isdigit():
        presentation = Presentation.objects.filter(cip13=code).first()
        cis = presentation.cis if presentation else ""
    elif len(code) == 8 and code.isdigit():
        cis = code
    else:
        raise LineError("unknown_code")
    product = Product.objects.filter(cis=cis).first() if cis else None
    if product is None:
        raise LineError("unknown_code")
    if _withdrawn(product) or (presentation is not None and presentation.removed_at is not None):
        raise LineError("withdrawn")
    return product, presentation


def resolve_substance(code: str) -> tuple[str, str, str]:
    """(substance code, its name, a representative product's CIS) for an INN line."""
    code = str(code or "").strip()
    if not code.isdigit() or len(code) > 10:
        raise LineError("unknown_code")
    rows = Composition.objects.filter(substance_code=code).values_list("substance_name", "cis")
    best: tuple[str, str] | None = None
    listed = set(
        Product.objects.filter(cis__in=[cis for _n, cis in rows], removed_at=None).values_list("cis", flat=True)
    )
    for name, cis in rows:
        if cis in listed:
            best = (name, cis)
            break
    if best is None:
        raise LineError("unknown_code" if not rows else "withdrawn")
    return code, best[0], best[1]


def substances_of(cis_codes: list[str]) -> dict[str, set[str]]:
    """The active substance codes of each product (for duplicates)."""
    found: dict[str, set[str]] = {cis: set() for cis in cis_codes}
    for cis, code in Composition.objects.filter(cis__in=cis_codes, nature="SA").values_list("cis", "substance_code"):
        found[cis].add(code)
    return found


def same_group(prescribed_cis: str, dispensed_cip13: str) -> tuple[bool, bool]:
    """(accepted, substituted): the box is the prescribed product's, or of the same generic group."""
    presentation = Presentation.objects.filter(cip13=dispensed_cip13).first()
    if presentation is None:
        return False, False
    if presentation.cis == prescribed_cis:
        return True, False
    groups = set(GenericMembership.objects.filter(cis=prescribed_cis).values_list("group_id", flat=True))
    other = set(GenericMembership.objects.filter(cis=presentation.cis).values_list("group_id", flat=True))
    return bool(groups & other), True


def cis_with_substance(substance_code: str, dispensed_cip13: str) -> bool:
    presentation = Presentation.objects.filter(cip13=dispensed_cip13).first()
    return (
        presentation is not None
        and Composition.objects.filter(cis=presentation.cis, substance_code=substance_code).exists()
    )
