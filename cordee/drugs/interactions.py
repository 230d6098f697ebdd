"""Interactions between the substances of several products, from the ANSM thesaurus.

``interactions_for(products)`` is the service the prescription module calls. Each product's
substances (active substances, SA, and therapeutic fractions, FT: the active moiety) are
matched to thesaurus molecules (``thesaurus_index``, through the name forms of
``substances``); a molecule stands for itself and its classes; every thesaurus entry between a
term of one product and a term of another is found once per pair of products.

An entry graded by aspirin's dose is shown at the level that applies to the product's
strength when the thesaurus text allows it (``doses``): a 75 mg antiplatelet product with an
oral anticoagulant is "association déconseillée" (with a history of gastro-duodenal ulcer) or
"à prendre en compte", not a contraindication; an entry that only concerns other doses is
kept, marked as not applying at this strength. Otherwise the entry keeps all its levels and
its whole text, and the prescriber reads the conditions.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from cordee.drugs import doses
from cordee.drugs.models import Composition, Interaction, Product
from cordee.drugs.thesaurus_index import Thesaurus, thesaurus

__all__ = ["LEVEL_LABELS", "FoundInteraction", "interactions_for", "thesaurus"]

LEVEL_LABELS = {
    Interaction.Level.CI: _("Contraindication"),
    Interaction.Level.AD: _("Combination not recommended"),
    Interaction.Level.PE: _("Precaution for use"),
    Interaction.Level.PC: _("To be taken into account"),
}


@dataclass(frozen=True)
class FoundInteraction:
    product_a: str  # CIS
    product_a_name: str
    substance_a: str
    protagonist_a: str  # the thesaurus molecule or class that matched
    product_b: str
    product_b_name: str
    substance_b: str
    protagonist_b: str
    level: str  # the most severe level that applies (all of the entry's when no dose decides)
    levels: tuple[str, ...]
    conduct: str
    mechanism: str
    see_also: str
    dose: doses.Assessment | None = None  # the strength assessed, for an entry graded by dose
    dosed_product: str = ""  # the CIS whose strength was assessed
    applies: bool = True  # False: the entry only concerns doses this strength does not reach

    @property
    def level_code(self) -> str:
        return self.level.split("-")[1]

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[Interaction.Level(self.level)])

    @property
    def conditions(self) -> list[tuple[str, str]]:
        """(level label, the thesaurus' words) for the dose rules that apply, then the others."""
        if self.dose is None:
            return []
        return [(str(LEVEL_LABELS[Interaction.Level(r.level)]), r.condition) for r in self.dose.applicable]

    @property
    def other_conditions(self) -> list[tuple[str, str]]:
        if self.dose is None:
            return []
        return [(str(LEVEL_LABELS[Interaction.Level(r.level)]), r.condition) for r in self.dose.others]


@dataclass(frozen=True)
class _Term:
    substance: str  # as the BDPM writes it
    molecule: str  # the thesaurus key it matched
    term: str  # the molecule or one of its classes
    strength_mg: Decimal | None  # of the molecule in one unit, when it is aspirin


def _compositions(cis_codes: list[str]) -> dict[str, list[tuple[str, str, str, int, str]]]:
    found: dict[str, list[tuple[str, str, str, int, str]]] = defaultdict(list)
    rows = Composition.objects.filter(cis__in=cis_codes).order_by("cis", "position")
    for cis, name, dosage, nature, link, element in rows.values_list(
        "cis", "substance_name", "dosage", "nature", "link_number", "element"
    ):
        found[cis].append((name, dosage, nature, link, element))
    return found


def _terms(book: Thesaurus, rows: list[tuple[str, str, str, int, str]]) -> list[_Term]:
    """The thesaurus terms of a product's substances; for aspirin, its strength per unit (the
    therapeutic fraction's when there is one: "ACÉTYLSALICYLATE DE DL-LYSINE 135 mg" is 75 mg
    of acetylsalicylic acid)."""
    matched: dict[str, tuple[str, Decimal | None]] = {}  # molecule -> (substance, strength)
    for name, dosage, _nature, _link, _element in sorted(rows, key=lambda r: r[2] != "FT"):
        molecule = book.molecule_for(name)
        if molecule is not None and (molecule not in matched or matched[molecule][1] is None):
            matched[molecule] = (matched.get(molecule, (name, None))[0], doses.strength_mg(dosage))
    return [
        _Term(name, molecule, term, strength if molecule == doses.SUBJECT else None)
        for molecule, (name, strength) in matched.items()
        for term in sorted(book.terms(molecule))
    ]


def _found(
    entry: Interaction, book: Thesaurus, a: tuple[str, str, _Term], b: tuple[str, str, _Term]
) -> FoundInteraction:
    (cis_a, name_a, term_a), (cis_b, name_b, term_b) = a, b
    shown_a, shown_b = (
        (entry.protagonist_a, entry.protagonist_b)
        if entry.key_a == term_a.term
        else (entry.protagonist_b, entry.protagonist_a)
    )
    levels = tuple(entry.levels.split(","))
    level, assessment, dosed, applies = entry.level, None, "", True
    dosed_term, dosed = (term_a, cis_a) if term_a.molecule == doses.SUBJECT else (term_b, cis_b)
    assessment = doses.assess(book.dose_rules.get(entry.pk, []), dosed_term.strength_mg)
    if assessment is None:
        dosed = ""
    elif assessment.applicable:
        levels = tuple(sorted({r.level for r in assessment.applicable}))
        level = levels[0]
    else:
        applies = False
    return FoundInteraction(
        cis_a, name_a, term_a.substance, shown_a, cis_b, name_b, term_b.substance, shown_b,
        level, levels, entry.conduct, entry.mechanism, entry.see_also, assessment, dosed, applies,
    )  # fmt: skip


def interactions_for(products: Iterable[Product | str]) -> list[FoundInteraction]:
    """The interactions between the substances of different products among ``products``
    (Product objects or CIS codes): those that apply first, most severe first; each thesaurus
    entry once per pair of products."""
    codes = list(dict.fromkeys(p.cis if isinstance(p, Product) else str(p) for p in products))
    if len(codes) < 2:
        return []
    names = dict(Product.objects.filter(cis__in=codes).values_list("cis", "name"))
    book = thesaurus()
    terms = {cis: _terms(book, rows) for cis, rows in _compositions(codes).items()}
    found: dict[tuple[str, str, int], FoundInteraction] = {}
    for cis_a, cis_b in itertools.combinations(codes, 2):
        for term_a, term_b in itertools.product(terms.get(cis_a, []), terms.get(cis_b, [])):
            if term_a.molecule == term_b.molecule:
                continue  # the same substance in both: not an interaction
            for entry in book.by_pair.get((term_a.term, term_b.term), []):
                key = (cis_a, cis_b, entry.pk)
                if key not in found:
                    a = (cis_a, names.get(cis_a, cis_a), term_a)
                    found[key] = _found(entry, book, a, (cis_b, names.get(cis_b, cis_b), term_b))
    return sorted(
        found.values(), key=lambda f: (not f.applies, f.level, f.product_a_name, f.product_b_name, f.protagonist_a)
    )
