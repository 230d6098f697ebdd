"""Interactions between the substances of several products, from the ANSM thesaurus.

``interactions_for(products)`` is the service the prescription module calls. BDPM substance
names ("CHLORHYDRATE DE TRAMADOL", "AMLODIPINE (BÉSILATE D')", "AMOXICILLINE TRIHYDRATÉE") are
matched to thesaurus molecules ("TRAMADOL", "AMLODIPINE", "AMOXICILLINE") by folding both sides
(case, accents) and, failing an exact match, trying the name without its parentheses, without a
leading salt ("chlorhydrate de …") and without trailing salt or hydrate words ("… sodique",
"… trihydratée"). Only exact matches of those forms count: nothing is guessed. Therapeutic
fractions (FT lines, the active moiety) are matched as well as the substances (SA). A molecule
then stands for itself and for every class the thesaurus puts it in.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from cordee.drugs.models import Composition, ImportRun, Interaction, Product, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.text import fold

LEVEL_LABELS = {
    Interaction.Level.CI: _("Contraindication"),
    Interaction.Level.AD: _("Combination not recommended"),
    Interaction.Level.PE: _("Precaution for use"),
    Interaction.Level.PC: _("To be taken into account"),
}
_SALTS = (
    "chlorhydrate dichlorhydrate bromhydrate iodhydrate sulfate hemisulfate bisulfate maleate hydrogenomaleate "
    "fumarate hemifumarate tartrate hemitartrate bitartrate citrate acetate besilate mesilate tosilate succinate "
    "phosphate nitrate lactate gluconate oxalate benzoate valerate propionate dipropionate butyrate hyclate pamoate "
    "embonate lysinate arginine erbumine decanoate enantate palmitate pivalate hydroxynaphtoate sel selenite "
    "carbonate bicarbonate hydrogenocarbonate chlorure bromure iodure stearate ascorbate aspartate glycinate "
    "trometamol teoclate napadisilate camsilate edisilate isetionate methylsulfate hydrobromide hydrochloride"
).split()
_QUALIFIERS = (
    "sodique disodique monosodique trisodique potassique dipotassique calcique magnesien magnesienne "
    "monohydrate monohydratee dihydrate dihydratee trihydrate trihydratee tetrahydrate hexahydrate sesquihydrate "
    "hemihydrate hemipentahydrate heptahydrate pentahydrate hydrate hydratee anhydre base micronise micronisee "
    "amorphe cristallisee cristallise racemique arginine olamine medoxomil magnesique diethylamine erbumine "
    "trometamol lysine tert butylamine tertbutylamine"
).split()
_BASES = {"sodium", "potassium", "calcium", "magnesium", "diethylamine", "arginine", "lysine", "zinc", "meglumine"}
_LINKS = {"de", "d", "du", "des"}


def candidate_keys(substance: str) -> list[str]:
    """The forms of a BDPM substance name tried against the thesaurus, most literal first."""
    folded = fold(substance)
    forms = [folded, fold(re.sub(r"\([^)]*\)", " ", substance))]
    for form in list(forms):
        words = form.split()
        while words and words[0] in _SALTS:  # "chlorhydrate de tramadol"
            words = words[1:]
            while words and words[0] in _LINKS:
                words = words[1:]
        changed = True
        while changed and len(words) > 1:
            changed = False
            if len(words) > 2 and words[-2] in _LINKS and words[-1] in _BASES:  # "diclofenac de sodium"
                words, changed = words[:-2], True
            elif words[-1] in _QUALIFIERS or words[-1] in _LINKS:  # "amoxicilline trihydratee"
                words, changed = words[:-1], True
        forms.append(" ".join(words))
    # "valproate de sodium" is the salt of "acide valproique", as the thesaurus names it.
    for form in list(forms):
        words = form.split()
        if len(words) == 1 and words[0].endswith("ate") and len(words[0]) > 5:
            forms.append(f"acide {words[0][:-3]}ique")
    return [f for f in dict.fromkeys(forms) if f]


@dataclass
class Thesaurus:
    version: object
    molecules: dict[str, str]  # a form of a thesaurus name -> the thesaurus key it stands for
    classes_of: dict[str, set[str]]
    by_pair: dict[tuple[str, str], list[Interaction]]

    def molecule_for(self, substance: str) -> str | None:
        for key in candidate_keys(substance):
            if key in self.molecules:
                return self.molecules[key]
        return None

    def terms(self, molecule: str) -> set[str]:
        return {molecule, *self.classes_of.get(molecule, ())}


def _load(version: object) -> Thesaurus:
    classes_of: dict[str, set[str]] = defaultdict(set)
    for class_key, molecule_key in ThesaurusClassMember.objects.values_list("class_key", "molecule_key"):
        classes_of[molecule_key].add(class_key)
    by_pair: dict[tuple[str, str], list[Interaction]] = defaultdict(list)
    for interaction in Interaction.objects.order_by("level", "key_a", "key_b", "pk"):
        by_pair[(interaction.key_a, interaction.key_b)].append(interaction)
        by_pair[(interaction.key_b, interaction.key_a)].append(interaction)
    names = dict(ThesaurusMolecule.objects.values_list("key", "name"))
    for molecule_key in classes_of:
        names.setdefault(molecule_key, molecule_key)
    # The thesaurus names salts too ("PERINDOPRIL TERT-BUTYLAMINE"): its molecules are also
    # reachable by their reduced forms, an exact name always winning over a reduced one.
    molecules = {key: key for key in names}
    for key, name in sorted(names.items()):
        for form in candidate_keys(name)[1:]:
            molecules.setdefault(form, key)
    return Thesaurus(version, molecules, dict(classes_of), dict(by_pair))


_lock = threading.Lock()
_cache: dict[str, Thesaurus] = {}


def thesaurus() -> Thesaurus:
    version = (
        ImportRun.objects.filter(kind=ImportRun.Kind.INTERACTIONS, status=ImportRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("pk", "finished_at")
        .first()
    )
    current = _cache.get("current")
    if current is None or current.version != version:
        with _lock:
            current = _load(version)
            _cache["current"] = current
    return current


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
    level: str
    levels: tuple[str, ...]
    conduct: str
    mechanism: str
    see_also: str

    @property
    def level_code(self) -> str:
        return self.level.split("-")[1]

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[Interaction.Level(self.level)])


def _substances(cis_codes: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for cis, name in (
        Composition.objects.filter(cis__in=cis_codes).order_by("cis", "position").values_list("cis", "substance_name")
    ):
        if name not in found[cis]:
            found[cis].append(name)
    return found


def interactions_for(products: Iterable[Product | str]) -> list[FoundInteraction]:
    """The interactions between the substances of different products among ``products``
    (Product objects or CIS codes), most severe first; each thesaurus entry once per pair."""
    codes = list(dict.fromkeys(p.cis if isinstance(p, Product) else str(p) for p in products))
    if len(codes) < 2:
        return []
    names = dict(Product.objects.filter(cis__in=codes).values_list("cis", "name"))
    book = thesaurus()
    terms: dict[str, list[tuple[str, str]]] = {}  # cis -> (substance, term)
    for cis, substances in _substances(codes).items():
        terms[cis] = [
            (substance, term)
            for substance in substances
            if (molecule := book.molecule_for(substance)) is not None
            for term in sorted(book.terms(molecule))
        ]
    found: dict[tuple[str, str, int], FoundInteraction] = {}
    for cis_a, cis_b in itertools.combinations(codes, 2):
        for (substance_a, term_a), (substance_b, term_b) in itertools.product(
            terms.get(cis_a, []), terms.get(cis_b, [])
        ):
            for entry in book.by_pair.get((term_a, term_b), []):
                key = (cis_a, cis_b, entry.pk)
                if key in found or fold(substance_a) == fold(substance_b):
                    continue
                shown_a, shown_b = (
                    (entry.protagonist_a, entry.protagonist_b)
                    if entry.key_a == term_a
                    else (entry.protagonist_b, entry.protagonist_a)
                )
                found[key] = FoundInteraction(
                    cis_a, names.get(cis_a, cis_a), substance_a, shown_a,
                    cis_b, names.get(cis_b, cis_b), substance_b, shown_b,
                    entry.level, tuple(entry.levels.split(",")), entry.conduct, entry.mechanism, entry.see_also,
                )  # fmt: skip
    return sorted(found.values(), key=lambda f: (f.level, f.product_a_name, f.product_b_name, f.protagonist_a))


def coverage() -> dict[str, int]:
    """How many BDPM substances (and specialities) match a thesaurus molecule."""
    book = thesaurus()
    names = set(Composition.objects.values_list("substance_name", flat=True))
    matched = {n for n in names if book.molecule_for(n)}
    homeopathic = {n for n in names if "homeopathique" in fold(n)}
    products: dict[str, bool] = defaultdict(bool)
    for cis, name in Composition.objects.values_list("cis", "substance_name"):
        products[cis] |= name in matched
    return {
        "substances": len(names),
        "substances_matched": len(matched),
        "substances_not_homeopathic": len(names - homeopathic),
        "products_with_composition": len(products),
        "products_matched": sum(products.values()),
    }
