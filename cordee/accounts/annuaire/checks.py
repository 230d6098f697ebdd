"""What an Annuaire Santé import notes once its lines are stored, and the purge of older imports.

Both are set-based queries over the stored lines, so a national extraction (about two million
lines) is checked with flat memory: lines identical to another line of the file, and RPPS
numbers that carry different names on different lines (a person has one name in the
directory; two names under one number deserve a look before verifying anyone with it).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.annuaire.models import AnnuaireEntry, AnnuaireImport
from cordee.accounts.annuaire.parser import COLUMNS
from cordee.audit import services as audit

SHOWN = 20  # examples given in a note


def notes(run: AnnuaireImport) -> list[str]:
    return [note for note in (_duplicates(run), _names(run)) if note]


def _duplicates(run: AnnuaireImport) -> str:
    groups = (
        AnnuaireEntry.objects.filter(import_run=run)
        .values(*COLUMNS)
        .annotate(copies=Count("id"), first=Min("line"), last=Max("line"))
        .filter(copies__gt=1)
        .order_by("first")
    )
    found = list(groups.values_list("first", "last", "copies")[:SHOWN])
    if not found:
        return ""
    total = groups.count()
    examples = ", ".join(
        _("line %(last)s (as line %(first)s)") % {"last": last, "first": first} for first, last, _n in found
    )
    return _("%(n)s line(s) repeat another line of the file exactly: %(examples)s%(more)s.") % {
        "n": total, "examples": examples, "more": "…" if total > len(found) else "",
    }  # fmt: skip


def _names(run: AnnuaireImport) -> str:
    numbers = (
        AnnuaireEntry.objects.filter(import_run=run)
        .exclude(rpps="")
        .values("rpps")
        .annotate(names=Count(Concat("last_name", Value("|"), "first_name"), distinct=True), first=Min("line"))
        .filter(names__gt=1)
        .order_by("first")
    )
    found = list(numbers.values_list("rpps", flat=True)[:SHOWN])
    if not found:
        return ""
    total = numbers.count()
    return _("%(n)s RPPS number(s) carry different names on different lines: %(numbers)s%(more)s.") % {
        "n": total, "numbers": ", ".join(found), "more": "…" if total > len(found) else "",
    }  # fmt: skip


def purge_older(run: AnnuaireImport, *, by: Any = None, request: HttpRequest | None = None) -> None:
    """Delete the lines of the imports older than ``run`` of the same owner; their import
    records stay (the audit trail and verifications cite them) with a note saying so."""
    older = (
        AnnuaireImport.objects.filter(
            Q(structure_id=run.structure_id) if run.structure_id else Q(structure__isnull=True), pk__lt=run.pk
        )
        .filter(entries__isnull=False)
        .distinct()
    )
    purged: dict[int, int] = {}
    for old in older:
        with transaction.atomic():
            purged[old.pk], _by_model = AnnuaireEntry.objects.filter(import_run=old).delete()
            note = _("Lines purged on %(date)s: import #%(run)s replaces this one.") % {
                "date": f"{timezone.localdate():%Y-%m-%d}", "run": run.pk,
            }  # fmt: skip
            old.notes = [*old.notes, note]
            old.save(update_fields=["notes"])
    if purged:
        with transaction.atomic():
            audit.record(
                "annuaire.purged", actor=by, request=request, target=run, target_display=run.file_name,
                details={"structure": run.structure_id, "imports": sorted(purged), "lines": sum(purged.values())},
            )  # fmt: skip
