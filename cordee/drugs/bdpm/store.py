"""Writing one parsed BDPM file to the database, in one transaction per file.

Specialities and presentations are upserted by their code (bulk create for the new ones, bulk
update for the changed ones only) and those a newer file no longer lists are marked removed;
the rows of the other files are replaced (except, for a speciality marked removed, the rows the
new file no longer has: they stay as its last known state). A file that would remove or replace
more than half of what is stored looks truncated: it is then stored without removals (or, for
the replaced files, not at all) unless ``allow_shrink`` is given, and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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

BATCH = 2000
SHRINK_GUARD = 0.5  # a file holding less than this share of what is stored looks truncated

PRODUCT_FIELDS = [
    "name", "form", "routes", "amm_status", "amm_procedure", "commercialisation", "is_commercialised",
    "amm_date", "bdm_status", "eu_number", "holders", "reinforced_monitoring",
]  # fmt: skip
PRESENTATION_FIELDS = [
    "cip7", "cis", "label", "admin_status", "commercialisation", "commercialisation_date", "collectivities",
    "reimbursement_rates", "price", "price_with_fee", "dispensing_fee", "reimbursement_indications",
]  # fmt: skip


@dataclass
class Parsed:
    """The good rows of one file: ``(line number, values)``."""

    key: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Outcome:
    stored: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False  # the guard kept the stored rows


def bulk_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert plain rows with one ``executemany`` per batch.

    Several times faster than ``bulk_create`` for the 150 000 lines of the BDPM (no model
    instance per line); values are already validated by the parsers, and each field still
    converts its value for the database (dates, times, decimals) as Django would.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields if f.has_default()}
    converters = [
        (f.attname, (lambda v, f=f: f.get_db_prep_save(v, connection)) if _needs_conversion(f) else None)
        for f in fields
    ]
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model, values as parameters
        qn(str(model._meta.db_table)), ", ".join(qn(str(f.column)) for f in fields), ", ".join(["%s"] * len(fields))
    )
    params = []
    for row in rows:
        values = []
        for name, convert in converters:
            value = row[name] if name in row else defaults.get(name)
            values.append(convert(value) if convert is not None and value is not None else value)
        params.append(values)
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])


def _needs_conversion(field: models.Field) -> bool:
    return isinstance(field, models.DateField | models.DecimalField | models.ForeignKey)


def _dedupe(parsed: Parsed, code: str, outcome: Outcome) -> dict[str, tuple[int, dict[str, Any]]]:
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, values in parsed.rows:
        value = values[code]
        if value in first:
            reason = _("Duplicate %(code)s %(value)s (first at line %(line)s): ignored.")
            outcome.duplicates.append(
                (number, reason % {"code": code.upper(), "value": value, "line": first[value][0]})
            )
        else:
            first[value] = (number, values)
    return first


def _upsert(model: type[models.Model], code: str, fields: list[str], parsed: Parsed, allow_shrink: bool) -> Outcome:
    outcome = Outcome()
    incoming = _dedupe(parsed, code, outcome)
    manager = model._default_manager  # type: ignore[attr-defined]
    existing = {row[code]: row for row in manager.values("pk", code, "removed_at", *fields)}
    now = timezone.now()
    create, update = [], []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "restored": 0, "removed": 0}
    for value, (_number, values) in incoming.items():
        old = existing.get(value)
        if old is None:
            create.append({**values, "first_seen_at": now, "changed_at": now})
            counts["created"] += 1
        elif old["removed_at"] is not None or any(old[f] != values[f] for f in fields):
            counts["restored" if old["removed_at"] is not None else "updated"] += 1
            update.append(model(pk=old["pk"], **values, changed_at=now, removed_at=None))
        else:
            counts["unchanged"] += 1
    present = [v for v, row in existing.items() if row["removed_at"] is None]
    gone = [v for v in present if v not in incoming]
    if gone and not allow_shrink and len(gone) > SHRINK_GUARD * len(present):
        outcome.notes.append(
            _(
                "%(gone)s of %(present)s stored entries are not in this file: it looks truncated, "
                "so none was marked removed."
            )
            % {"gone": len(gone), "present": len(present)}
        )
        gone = []
    with transaction.atomic():
        bulk_insert(model, create)
        manager.bulk_update(update, [*fields, "changed_at", "removed_at"], batch_size=500)
        for start in range(0, len(gone), 500):
            manager.filter(**{f"{code}__in": gone[start : start + 500]}).update(removed_at=now)
    counts["removed"] = len(gone)
    outcome.stored, outcome.counts = len(incoming), counts
    return outcome


def _replace(
    model: type[models.Model], build: Callable[[int, dict[str, Any]], dict[str, Any]], parsed: Parsed,
    allow_shrink: bool, **scope: Any,
) -> Outcome:  # fmt: skip
    """Replace the rows of a file, except those of specialities marked removed that the file no
    longer mentions: a removed speciality keeps its last known composition, conditions, opinions."""
    outcome = Outcome()
    manager = model._default_manager  # type: ignore[attr-defined]
    current = manager.filter(**scope)
    reappearing: list[str] = []
    if any(f.name == "cis" for f in model._meta.concrete_fields):
        removed = Product.objects.filter(removed_at__isnull=False).values("cis")
        reappearing = sorted(set(removed.values_list("cis", flat=True)) & {v["cis"] for _n, v in parsed.rows})
        replaced = current.exclude(cis__in=removed)
    else:
        replaced = current
    stored = replaced.count()
    if stored and not allow_shrink and len(parsed.rows) < SHRINK_GUARD * stored:
        outcome.notes.append(
            _(
                "This file holds %(new)s rows where %(old)s are stored: it looks truncated, "
                "so the stored rows were kept."
            )
            % {"new": len(parsed.rows), "old": stored}
        )
        outcome.skipped = True
        return outcome
    objects = [build(position, values) for position, (_n, values) in enumerate(parsed.rows)]
    with transaction.atomic():
        replaced.delete()
        for start in range(0, len(reappearing), 500):
            current.filter(cis__in=reappearing[start : start + 500]).delete()
        bulk_insert(model, objects)
    outcome.stored = len(objects)
    outcome.counts = {"replaced": stored, "stored": len(objects)}
    return outcome


def _plain(position: int, values: dict[str, Any]) -> dict[str, Any]:
    return values


def _positioned(position: int, values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "position": position}


def store(parsed: Parsed, *, allow_shrink: bool = False) -> Outcome:
    key = parsed.key
    if key == "CIS":
        return _upsert(Product, "cis", PRODUCT_FIELDS, parsed, allow_shrink)
    if key == "CIS_CIP":
        return _upsert(Presentation, "cip13", PRESENTATION_FIELDS, parsed, allow_shrink)
    if key in ("CIS_HAS_SMR", "CIS_HAS_ASMR"):
        kind = key.removeprefix("CIS_HAS_")
        return _replace(HasOpinion, lambda p, v: {**v, "kind": kind}, parsed, allow_shrink, kind=kind)
    model, build = {
        "CIS_COMPO": (Composition, _positioned),
        "CIS_GENER": (GenericMembership, _plain),
        "CIS_CPD": (PrescriptionCondition, _positioned),
        "HAS_LiensPageCT": (HasLink, _plain),
        "CIS_CIP_Dispo_Spec": (Availability, _plain),
        "CIS_MITM": (MitmEntry, _plain),
        "CIS_InfoImportantes": (SafetyInfo, _plain),
    }[key]
    return _replace(model, build, parsed, allow_shrink)
