"""JSON API of the drug database: search, product detail, interactions (mounted at /api/drugs/).

Session-authenticated like the rest of the API (``cordee/api.py``); any signed-in user may read.
Amounts are decimal strings in euros ("24.34"), dates ISO 8601.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema, Status

from cordee.drugs import catalogue
from cordee.drugs.access import access_product, access_products
from cordee.drugs.doses import DoseRule
from cordee.drugs.interactions import LEVEL_LABELS, FoundInteraction, interactions_for
from cordee.drugs.models import Interaction
from cordee.drugs.params import MAX_PICKED, parse_search
from cordee.drugs.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, STATUSES, Hit, QueryError, search
from cordee.lib.api import ERRORS, ErrorOut

router = Router(tags=["drugs"])
StatusName = Literal["commercialised", "not_commercialised", "removed"]
CodeKind = Literal["cis", "cip7", "cip13"]
LevelCode = Literal["CI", "AD", "PE", "PC"]


NOT_FOUND = ErrorOut(detail="Not found.", code="not_found")


class HitOut(Schema):
    cis: str
    name: str
    form: str
    routes: list[str]
    status: StatusName
    holders: str  # the marketing authorisation holder(s), "; "-separated
    parallel_import: bool  # an imported box of a product authorised elsewhere in the EU
    homeopathic: bool
    spelling_guess: bool  # found only by tolerating a typo: maybe another drug than the one meant
    substances: list[str]
    generic_groups: list[int]
    reinforced_monitoring: bool
    mitm: bool
    matched_code: str | None  # the CIS, CIP7 or CIP13 typed, for a code search
    matched_code_kind: CodeKind | None
    presentation: str | None  # the box of a matched CIP
    url: str


class ConfusionOut(Schema):
    name: str  # in the query or the results
    confused_with: str
    source: str


class SearchOut(Schema):
    query: str
    total: int
    total_is_lower_bound: bool
    typos: bool
    offset: int
    next_offset: int | None  # pass it as ``offset`` for the following results
    confusions: list[ConfusionOut]  # known look-alike/sound-alike pairs to check
    results: list[HitOut]


def _status(rank: int) -> StatusName:
    return cast(StatusName, STATUSES[rank])


def _hit(hit: Hit) -> HitOut:
    doc = hit.doc
    return HitOut(
        cis=doc.cis, name=doc.name, form=doc.form, routes=list(doc.routes), status=_status(doc.status_rank),
        holders=doc.holders, parallel_import=doc.parallel_import, homeopathic=doc.homeopathic, spelling_guess=hit.guess,
        substances=list(doc.substances), generic_groups=list(doc.groups),
        reinforced_monitoring=doc.reinforced_monitoring, mitm=doc.mitm, matched_code=hit.code or None,
        matched_code_kind=cast(CodeKind | None, hit.code_kind or None), presentation=hit.presentation or None,
        url=reverse("drugs:product", args=[doc.cis]),
    )  # fmt: skip


@router.get("/search", response={200: SearchOut, **ERRORS}, summary="Search the BDPM")
def search_drugs(
    request: HttpRequest,
    q: str = "",
    route: str = "",
    form: str = "",
    status: str = "",
    generic: str = "",
    group: str = "",
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Status:
    """By brand name, substance, CIS, CIP7 or CIP13; accents, case and small typos ignored.
    Filters: ``route``, ``form`` (exact values), ``status`` (commercialised, not_commercialised,
    removed), ``generic`` (princeps, generic, none), ``group`` (a generic group id). Spelling
    guesses (``spelling_guess``) come after the exact and prefix matches; ``next_offset`` gives
    the following results."""
    params = {"q": q, "route": route, "form": form, "status": status, "generic": generic, "group": group}
    try:
        query, filters = parse_search(params)
        results = search(query, filters, limit=limit, offset=offset)
    except QueryError as exc:
        return Status(400, ErrorOut(detail=exc.message, code=exc.code))
    return Status(
        200,
        SearchOut(
            query=results.query,
            total=results.total,
            total_is_lower_bound=results.at_least,
            typos=results.typos,
            offset=results.offset,
            next_offset=results.next_offset,
            confusions=[ConfusionOut(name=c.found, confused_with=c.other, source=c.source) for c in results.confusions],
            results=[_hit(h) for h in results.hits],
        ),
    )


class FractionOut(Schema):
    substance: str
    dosage: str


class IngredientOut(Schema):
    element: str
    substance: str
    substance_code: str
    dosage: str
    dosage_reference: str
    fractions: list[FractionOut]


class PresentationOut(Schema):
    cip13: str
    cip7: str
    label: str
    admin_status: str
    commercialisation: str
    commercialisation_date: dt.date | None
    listed: bool
    approved_for_hospitals: str
    reimbursement_rates: list[str]
    price: str | None
    price_with_fee: str | None
    dispensing_fee: str | None
    reimbursement_indications: str


class GenericGroupMemberOut(Schema):
    cis: str
    name: str | None  # None: a CIS that CIS_bdpm does not list
    generic_type: int
    generic_type_label: str


class GroupOut(Schema):
    id: int
    label: str
    members: list[GenericGroupMemberOut]


class OpinionOut(Schema):
    dossier: str
    date: dt.date
    reason: str
    value: str
    label: str
    links: list[str]


class AvailabilityOut(Schema):
    cip13: str | None
    status_code: int
    status: str
    start_date: dt.date | None
    updated_date: dt.date | None
    back_date: dt.date | None
    url: str


class SafetyOut(Schema):
    start_date: dt.date | None
    end_date: dt.date | None
    text: str
    url: str


class ProductOut(Schema):
    cis: str
    name: str
    form: str
    routes: list[str]
    status: StatusName
    commercialisation: str
    amm_status: str
    amm_procedure: str
    amm_date: dt.date | None
    bdm_status: str
    eu_number: str
    holders: str
    reinforced_monitoring: bool
    mitm: bool
    atc_code: str | None
    removed_at: dt.datetime | None
    composition: list[IngredientOut]
    presentations: list[PresentationOut]
    generic_groups: list[GroupOut]
    prescription_conditions: list[str]
    smr: list[OpinionOut]
    asmr: list[OpinionOut]
    availability: list[AvailabilityOut]
    safety_information: list[SafetyOut]


def _amount(value: Any) -> str | None:
    return None if value is None else str(value)


def _opinion(o: catalogue.Opinion) -> OpinionOut:
    op = o.opinion
    return OpinionOut(dossier=op.dossier, date=op.date, reason=op.reason, value=op.value, label=op.label, links=o.links)


def _product(sheet: catalogue.Sheet) -> ProductOut:
    p = sheet.product
    status = _status(2 if p.removed_at else (0 if p.is_commercialised else 1))
    return ProductOut(
        cis=p.cis, name=p.name, form=p.form, routes=p.route_list, status=status, commercialisation=p.commercialisation,
        amm_status=p.amm_status, amm_procedure=p.amm_procedure, amm_date=p.amm_date, bdm_status=p.bdm_status,
        eu_number=p.eu_number, holders=p.holders, reinforced_monitoring=p.reinforced_monitoring,
        mitm=sheet.mitm is not None, atc_code=sheet.mitm.atc_code if sheet.mitm else None, removed_at=p.removed_at,
        composition=[
            IngredientOut(
                element=e.name, substance=i.substance.substance_name, substance_code=i.substance.substance_code,
                dosage=i.substance.dosage, dosage_reference=i.substance.dosage_reference,
                fractions=[FractionOut(substance=f.substance_name, dosage=f.dosage) for f in i.fractions],
            )
            for e in sheet.composition for i in e.ingredients
        ],
        presentations=[
            PresentationOut(
                cip13=b.cip13, cip7=b.cip7, label=b.label, admin_status=b.admin_status,
                commercialisation=b.commercialisation, commercialisation_date=b.commercialisation_date,
                listed=b.removed_at is None, approved_for_hospitals=b.collectivities,
                reimbursement_rates=[r.strip() for r in b.reimbursement_rates.split(";") if r.strip()],
                price=_amount(b.price), price_with_fee=_amount(b.price_with_fee),
                dispensing_fee=_amount(b.dispensing_fee), reimbursement_indications=b.reimbursement_indications,
            )
            for b in sheet.presentations
        ],
        generic_groups=[
            GroupOut(id=g.group_id, label=g.label, members=[
                GenericGroupMemberOut(
                    cis=m.cis, name=m.product.name if m.product else None, generic_type=m.generic_type,
                    generic_type_label=m.type_label)
                for m in g.members
            ])
            for g in sheet.groups
        ],
        prescription_conditions=sheet.conditions,
        smr=[_opinion(o) for o in sheet.smr],
        asmr=[_opinion(o) for o in sheet.asmr],
        availability=[
            AvailabilityOut(cip13=a.cip13 or None, status_code=a.status_code, status=a.status_label,
                            start_date=a.start_date, updated_date=a.updated_date, back_date=a.back_date, url=a.url)
            for a in sheet.availability
        ],
        safety_information=[SafetyOut(start_date=s.start_date, end_date=s.end_date, text=s.text, url=s.url)
                            for s in sheet.safety],
    )  # fmt: skip


@router.get("/products/{cis}", response={200: ProductOut, **ERRORS}, summary="A speciality by its CIS")
def product_detail(request: HttpRequest, cis: str) -> Status:
    try:
        product = access_product(request.user, cis, purpose="drugs.api.product")
    except Http404:
        return Status(404, NOT_FOUND)
    return Status(200, _product(catalogue.sheet(product)))


class ConditionOut(Schema):
    level: LevelCode
    level_label: str
    text: str  # the thesaurus' words (without accents, as the extraction)


class DoseOut(Schema):
    product: str  # the CIS whose strength was assessed
    strength_mg: str  # of acetylsalicylic acid per unit, decimal string
    doses: list[str]  # the dose ranges this strength reaches
    applicable: list[ConditionOut]  # the levels that apply at this strength, with their conditions
    other: list[ConditionOut]  # the thesaurus' levels for other doses


class InteractionOut(Schema):
    level: LevelCode  # the most severe level that applies (to the product's strength, when graded by dose)
    level_label: str
    levels: list[str]
    applies: bool  # False: the entry only concerns doses the product's strength does not reach
    dose: DoseOut | None
    product_a: str
    product_a_name: str
    substance_a: str
    protagonist_a: str
    product_b: str
    product_b_name: str
    substance_b: str
    protagonist_b: str
    conduct: str
    mechanism: str
    see_also: str


def _condition(rule: DoseRule) -> ConditionOut:
    return ConditionOut(
        level=cast(LevelCode, rule.level.split("-")[1]),
        level_label=str(LEVEL_LABELS[Interaction.Level(rule.level)]),
        text=rule.condition,
    )


def _dose(found: FoundInteraction) -> DoseOut | None:
    if found.dose is None:
        return None
    return DoseOut(
        product=found.dosed_product, strength_mg=format(found.dose.strength_mg.normalize(), "f"),
        doses=found.dose.band_labels, applicable=[_condition(r) for r in found.dose.applicable],
        other=[_condition(r) for r in found.dose.others],
    )  # fmt: skip


@router.get("/interactions", response={200: list[InteractionOut], **ERRORS}, summary="Interactions between products")
def interactions(request: HttpRequest, cis: list[str] = Query(..., max_length=MAX_PICKED)) -> Status:  # noqa: B008
    """The ANSM thesaurus interactions between the substances of the given specialities (CIS
    codes, ``cis`` repeated, at most 10), most severe first. An entry graded by aspirin's dose
    gives the level for the product's strength (``dose``); one that only concerns other doses
    comes last with ``applies`` false."""
    try:
        products = access_products(request.user, list(dict.fromkeys(cis)), purpose="drugs.api.interactions")
    except Http404:
        return Status(404, NOT_FOUND)
    found = [
        InteractionOut(
            level=cast(LevelCode, f.level_code),
            level_label=f.level_label,
            levels=[lv.split("-")[1] for lv in f.levels],
            applies=f.applies,
            dose=_dose(f),
            product_a=f.product_a,
            product_a_name=f.product_a_name,
            substance_a=f.substance_a,
            protagonist_a=f.protagonist_a,
            product_b=f.product_b,
            product_b_name=f.product_b_name,
            substance_b=f.substance_b,
            protagonist_b=f.protagonist_b,
            conduct=f.conduct,
            mechanism=f.mechanism,
            see_also=f.see_also,
        )  # fmt: skip
        for f in interactions_for(products)
    ]
    return Status(200, found)
