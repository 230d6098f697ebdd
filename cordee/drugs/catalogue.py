"""Reading one speciality with everything the BDPM says about it (product page and API).

A fixed number of queries whatever the product (pinned by the tests).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from cordee.drugs.models import (
    Availability,
    Composition,
    GenericMembership,
    HasLink,
    HasOpinion,
    MitmEntry,
    PrescriptionCondition,
    Presentation,
    Product,
    SafetyInfo,
)


@dataclass
class Ingredient:
    substance: Composition
    fractions: list[Composition] = field(default_factory=list)  # therapeutic fractions (FT) of it


@dataclass
class Element:
    name: str  # "comprimé", "solution"…
    ingredients: list[Ingredient] = field(default_factory=list)


@dataclass
class Member:
    cis: str
    generic_type: int
    type_label: str
    product: Product | None  # None: a CIS that CIS_bdpm does not list


@dataclass
class Group:
    group_id: int
    label: str
    members: list[Member]


@dataclass
class Opinion:
    opinion: HasOpinion
    links: list[str]


@dataclass
class Sheet:
    product: Product
    composition: list[Element]
    presentations: list[Presentation]
    groups: list[Group]
    conditions: list[str]
    smr: list[Opinion]
    asmr: list[Opinion]
    availability: list[Availability]
    mitm: MitmEntry | None
    safety: list[SafetyInfo]

    @property
    def current_safety(self) -> list[SafetyInfo]:
        today = timezone.localdate()
        return [s for s in self.safety if s.end_date is None or s.end_date >= today]

    @property
    def shortages(self) -> list[Availability]:
        """Shortages and tensions still open (status 1 or 2)."""
        return [a for a in self.availability if a.status_code in (1, 2)]


def _composition(cis: str) -> list[Element]:
    elements: dict[str, Element] = {}
    by_link: dict[tuple[str, int], Ingredient] = {}
    rows = list(Composition.objects.filter(cis=cis).order_by("position"))
    for row in sorted(rows, key=lambda r: (r.nature != "SA", r.position)):
        element = elements.setdefault(row.element, Element(row.element))
        if row.nature == "FT" and (row.element, row.link_number) in by_link:
            by_link[(row.element, row.link_number)].fractions.append(row)
            continue
        ingredient = Ingredient(row)
        element.ingredients.append(ingredient)
        by_link.setdefault((row.element, row.link_number), ingredient)
    return list(elements.values())


def _groups(cis: str) -> list[Group]:
    group_ids = list(GenericMembership.objects.filter(cis=cis).values_list("group_id", flat=True).distinct())
    if not group_ids:
        return []
    rows = list(GenericMembership.objects.filter(group_id__in=group_ids).order_by("group_id", "sort_order", "cis"))
    products = {p.cis: p for p in Product.objects.filter(cis__in={r.cis for r in rows})}
    groups: dict[int, Group] = {}
    for row in rows:
        group = groups.setdefault(row.group_id, Group(row.group_id, row.group_label, []))
        group.members.append(Member(row.cis, row.generic_type, row.get_generic_type_display(), products.get(row.cis)))
    return list(groups.values())


def _opinions(cis: str) -> tuple[list[Opinion], list[Opinion]]:
    opinions = list(HasOpinion.objects.filter(cis=cis).order_by("-date", "kind", "pk"))
    links: dict[str, list[str]] = defaultdict(list)
    for dossier, url in HasLink.objects.filter(dossier__in={o.dossier for o in opinions}).values_list("dossier", "url"):
        links[dossier].append(url)
    wrapped = [Opinion(o, links.get(o.dossier, [])) for o in opinions]
    return [o for o in wrapped if o.opinion.kind == "SMR"], [o for o in wrapped if o.opinion.kind == "ASMR"]


def sheet(product: Product) -> Sheet:
    cis = product.cis
    smr, asmr = _opinions(cis)
    return Sheet(
        product=product,
        composition=_composition(cis),
        presentations=list(
            Presentation.objects.filter(cis=cis).order_by(F("removed_at").asc(nulls_first=True), "cip13")
        ),
        groups=_groups(cis),
        conditions=list(
            PrescriptionCondition.objects.filter(cis=cis).order_by("position").values_list("text", flat=True)
        ),
        smr=smr,
        asmr=asmr,
        availability=list(Availability.objects.filter(cis=cis).order_by("-updated_date", "pk")),
        mitm=MitmEntry.objects.filter(cis=cis).first(),
        safety=list(SafetyInfo.objects.filter(cis=cis).order_by("-start_date", "pk")),
    )
