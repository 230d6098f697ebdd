"""Writing one parsed BDPM file to the database, in one transaction per file, writing only
what changed.

Specialities and presentations are upserted by their code: the new ones inserted, the changed
ones (compared in Python with what is stored) written by one set-based ``UPDATE … FROM``
(``sql.update_from``), those a newer file no longer lists marked removed. The rows of the other
files have no identity of their own: they are compared speciality by speciality (the sequence of
a CIS's rows, in file order) and only the specialities whose rows changed have them replaced
(except, for a speciality marked removed, the rows the new file no longer has: they stay as its
last known state). An unchanged re-import therefore writes nothing, and an update from an older
snapshot writes what differs. A file that would remove or replace more than half of what is
stored looks truncated: it is then stored without removals (or, for the replaced files, not at
all) unless ``allow_shrink`` is given, and the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.drugs.bdpm.sql import bulk_insert, delete_in, update_from, update_in
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
    repaired: list[int] = field(default_factory=list)  # lines read without their extra empty fields


@dataclass
class Outcome:
    stored: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False  # the guard kept the stored rows


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
    manager = model._default_manager  # type: ignore[attr-defined]  # concrete models have one; type[Model] lacks it
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
            update.append({**values, "pk": old["pk"], "changed_at": now, "removed_at": None})
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
        update_from(model, update, [*fields, "changed_at", "removed_at"])
        update_in(model, code, gone, removed_at=now)
    counts["removed"] = len(gone)
    outcome.stored, outcome.counts = len(incoming), counts
    return outcome


def _replace(
    model: type[models.Model], build: Callable[[int, dict[str, Any]], dict[str, Any]], parsed: Parsed,
    allow_shrink: bool, **scope: Any,
) -> Outcome:  # fmt: skip
    """Replace the rows of a file where they changed, speciality by speciality (see the module
    docstring); a file without CIS is compared as a whole."""
    outcome = Outcome()
    if not any(f.name == "cis" for f in model._meta.concrete_fields):
        return _replace_all(model, build, parsed, allow_shrink, outcome, **scope)
    names = [name for name in build(0, parsed.rows[0][1]) if name != "position"] if parsed.rows else []
    stored_rows = _stored(model, names, scope)
    removed = set(Product.objects.filter(removed_at__isnull=False).values_list("cis", flat=True))
    stored = sum(len(rows) for cis, rows in stored_rows.items() if cis not in removed)
    if stored and not allow_shrink and len(parsed.rows) < SHRINK_GUARD * stored:
        return _kept(outcome, len(parsed.rows), stored)
    incoming: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for position, (_n, values) in enumerate(parsed.rows):
        incoming[values["cis"]].append(build(position, values))
    changed = [
        cis for cis in incoming.keys() | stored_rows.keys()
        if (cis in incoming or cis not in removed)
        and [tuple(r[n] for n in names) for r in incoming.get(cis, [])] != [r[1:] for r in stored_rows.get(cis, [])]
    ]  # fmt: skip
    with transaction.atomic():
        delete_in(model, "cis", sorted(c for c in changed if c in stored_rows), **scope)
        bulk_insert(model, [row for cis in changed for row in incoming.get(cis, [])])
    outcome.stored = len(parsed.rows)
    outcome.counts = {"stored": len(parsed.rows), "specialities_changed": len(changed)}
    return outcome


def _stored(model: type[models.Model], names: list[str], scope: dict[str, Any]) -> dict[str, list[tuple]]:
    """The stored rows of each CIS, in their order: (pk, *values of ``names``)."""
    manager = model._default_manager  # type: ignore[attr-defined]  # concrete models have one; type[Model] lacks it
    order = (
        ["cis", "position", "pk"] if any(f.name == "position" for f in model._meta.concrete_fields) else ["cis", "pk"]
    )
    found: dict[str, list[tuple]] = defaultdict(list)
    for row in manager.filter(**scope).order_by(*order).values_list("pk", *names):
        found[row[1 + names.index("cis")]].append(row)
    return found


def _replace_all(
    model: type[models.Model], build: Callable[[int, dict[str, Any]], dict[str, Any]], parsed: Parsed,
    allow_shrink: bool, outcome: Outcome, **scope: Any,
) -> Outcome:  # fmt: skip
    manager = model._default_manager  # type: ignore[attr-defined]  # concrete models have one; type[Model] lacks it
    objects = [build(position, values) for position, (_n, values) in enumerate(parsed.rows)]
    names = list(objects[0]) if objects else []
    stored = list(manager.filter(**scope).values_list(*names)) if names else []
    if stored and not allow_shrink and len(objects) < SHRINK_GUARD * len(stored):
        return _kept(outcome, len(objects), len(stored))
    if sorted(stored) != sorted(tuple(o[n] for n in names) for o in objects):
        with transaction.atomic():
            manager.filter(**scope).delete()
            bulk_insert(model, objects)
    outcome.stored = len(objects)
    outcome.counts = {"stored": len(objects)}
    return outcome


def _kept(outcome: Outcome, new: int, old: int) -> Outcome:
    outcome.notes.append(
        _("This file holds %(new)s rows where %(old)s are stored: it looks truncated, so the stored rows were kept.")
        % {"new": new, "old": old}
    )
    outcome.skipped = True
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
