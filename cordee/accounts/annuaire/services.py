"""Importing Annuaire Santé extractions and verifying professionals against them.

``do_import_annuaire`` stores a file's lines in batches, each in its own transaction, while the
import is ``running``, and saves its line count after each batch (the progress others see); the
last transaction sets it ``done`` and audits it. Lookups only use ``done`` imports, so a
half-stored file is never matched, and the database is not locked for the whole of a national
extraction. Once stored, two set-based queries note what deserves a look (``checks``): lines
that repeat another line, and RPPS numbers with different names. A finished import then purges
the lines of the older imports of its owner (the structure, or the operator's national ones):
only the newest extraction is matched, and each national one is about 400 MiB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.annuaire import checks
from cordee.accounts.annuaire.models import AnnuaireEntry, AnnuaireImport
from cordee.accounts.annuaire.names import same_family_name
from cordee.accounts.annuaire.parser import AnnuaireFormatError, Rejection, Row, open_extraction
from cordee.accounts.models import Membership, Professional, Structure, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry

BATCH_SIZE = 2000


class _HashingStream:
    """Passes ``readline`` through, hashing and counting what was read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def readline(self, limit: int = -1) -> bytes:
        data = self.stream.readline(limit)
        self.digest.update(data)
        self.size += len(data)
        return data


def do_import_annuaire(
    stream: BinaryIO,
    *,
    file_name: str,
    by: User | None = None,
    structure: Structure | None = None,
    request: HttpRequest | None = None,
) -> AnnuaireImport:
    """Import one extraction; a file that is not one is recorded as a failed import."""
    if structure is not None and (by is None or not is_admin_of(by, [structure.pk])):
        raise PermissionDenied
    hashing = _HashingStream(stream)
    run = AnnuaireImport.objects.create(file_name=file_name[:255], structure=structure, imported_by=by)
    try:
        reader = open_extraction(hashing)  # type: ignore[arg-type]  # a read()-only wrapper is all it reads
        run.encoding = reader.encoding
        _store(run, reader)
        run.notes = reader.notes
    except AnnuaireFormatError as exc:
        run.error = str(exc)
    except BaseException:
        AnnuaireImport.objects.filter(pk=run.pk).update(status=AnnuaireImport.Status.FAILED, finished_at=timezone.now())
        raise
    return _finish(run, hashing, by, request)


def _store(run: AnnuaireImport, rows: Iterable[Row | Rejection]) -> None:
    batch: list[AnnuaireEntry] = []
    for item in rows:
        if isinstance(item, Rejection):
            run.rejected += 1
            if len(run.rejected_lines) < AnnuaireImport.MAX_STORED_REJECTIONS:
                run.rejected_lines.append(item.as_dict())
            continue
        run.rows += 1
        batch.append(AnnuaireEntry(import_run=run, line=item.line, rpps=item.rpps, **item.values))
        if len(batch) >= BATCH_SIZE:
            AnnuaireEntry.objects.bulk_create(batch)
            batch = []
            _save_progress(run)
    AnnuaireEntry.objects.bulk_create(batch)
    _save_progress(run)


def _save_progress(run: AnnuaireImport) -> None:
    """The counts so far, for whoever looks at the import while it runs."""
    AnnuaireImport.objects.filter(pk=run.pk).update(rows=run.rows, rejected=run.rejected)


def _finish(
    run: AnnuaireImport, hashing: _HashingStream, by: User | None, request: HttpRequest | None
) -> AnnuaireImport:
    run.sha256, run.size, run.finished_at = hashing.digest.hexdigest(), hashing.size, timezone.now()
    run.status = AnnuaireImport.Status.FAILED if run.error else AnnuaireImport.Status.DONE
    run.people = run.entries.values("id_type", "identifier").distinct().count()
    if not run.error:
        run.notes = [*run.notes, *checks.notes(run)]
    with transaction.atomic():
        run.save()
        audit.record(
            "annuaire.imported", actor=by, request=request, target=run, target_display=run.file_name,
            outcome=AuditEntry.Outcome.FAILURE if run.error else AuditEntry.Outcome.SUCCESS,
            details={"structure": run.structure_id, "sha256": run.sha256, "rows": run.rows, "people": run.people,
                     "rejected": run.rejected, "error": run.error},
        )  # fmt: skip
    if run.status == AnnuaireImport.Status.DONE:
        checks.purge_older(run, by=by, request=request)
    return run


# --- lookups -----------------------------------------------------------------------------------
def visible_imports(structure_ids: Iterable[int]) -> QuerySet[AnnuaireImport]:
    """Finished imports a structure may match against: its own and the operator's."""
    return AnnuaireImport.objects.filter(
        Q(structure_id__in=list(structure_ids)) | Q(structure__isnull=True), status=AnnuaireImport.Status.DONE
    )


def import_history(structure: Structure) -> QuerySet[AnnuaireImport]:
    """What the structure's page lists: all its own imports, and the operator's finished ones."""
    return AnnuaireImport.objects.filter(
        Q(structure=structure) | Q(structure__isnull=True, status=AnnuaireImport.Status.DONE)
    ).order_by("-created_at", "-pk")


def latest_entries(structure_ids: Iterable[int], rpps_numbers: Iterable[str]) -> dict[str, list[AnnuaireEntry]]:
    """For each RPPS, its lines in the newest visible import that has it (one query)."""
    entries = (
        AnnuaireEntry.objects.filter(rpps__in=list(rpps_numbers), import_run__in=visible_imports(structure_ids))
        .select_related("import_run")
        .order_by("-import_run__created_at", "-import_run_id", "line")
    )
    found: dict[str, list[AnnuaireEntry]] = {}
    for entry in entries:
        kept = found.setdefault(entry.rpps, [entry])
        if kept[0].import_run_id == entry.import_run_id and kept[-1] is not entry:
            kept.append(entry)
    return found


def visible_entry(structure: Structure, entry_id: int | None) -> AnnuaireEntry | None:
    if entry_id is None:
        return None
    visible = visible_imports([structure.pk])
    return AnnuaireEntry.objects.select_related("import_run").filter(pk=entry_id, import_run__in=visible).first()


def is_admin_of(user: User, structure_ids: Iterable[int]) -> bool:
    return Membership.objects.filter(user=user, structure_id__in=list(structure_ids),
                                     role=Membership.Role.ADMIN).exists()  # fmt: skip


def shared_admin_structures(by: User, professional: Professional) -> list[int]:
    """Structures that ``by`` administers and ``professional`` belongs to."""
    return list(
        Membership.objects.filter(user=by, role=Membership.Role.ADMIN)
        .filter(structure__memberships__user_id=professional.user_id)
        .values_list("structure_id", flat=True)
    )


# --- verification ------------------------------------------------------------------------------
def verification_refusal(professional: Professional, by: User, entry: AnnuaireEntry | None) -> str:
    """Why ``by`` may not verify ``professional`` on the strength of ``entry``, or ``""``."""
    structures = shared_admin_structures(by, professional)
    if not structures:
        raise PermissionDenied
    if professional.user_id == by.pk:
        return _("Nobody verifies their own identity: ask another administrator.")
    if professional.is_verified:
        return _("This professional is already verified.")
    if (
        entry is None
        or entry.rpps != professional.rpps
        or not visible_imports(structures).filter(pk=entry.import_run_id).exists()
    ):
        return _("No Annuaire Santé entry has this RPPS number: import a recent extraction first.")
    if entry.profession_code != professional.profession_code:
        return _("The profession differs from the Annuaire Santé's (%(label)s).") % {"label": entry.profession_label}
    if not same_family_name(professional.user.last_name, entry.last_name):
        return _("The family name differs from the Annuaire Santé's (%(name)s).") % {"name": entry.last_name}
    return ""


def do_verify_professional(
    professional: Professional, *, by: User, entry: AnnuaireEntry | None, request: HttpRequest | None = None
) -> Professional:
    """Mark ``professional`` verified from an Annuaire Santé line; refusals are audited too."""
    refusal = verification_refusal(professional, by, entry)
    if refusal:
        with transaction.atomic():
            audit.record(
                "identity.verified",
                actor=by,
                request=request,
                target=professional,
                outcome=AuditEntry.Outcome.DENIED,
                details={"reason": refusal, **_entry_details(entry)},
            )
        raise ValidationError(refusal)
    assert entry is not None  # noqa: S101  # verification_refusal refuses a missing entry
    with transaction.atomic():
        locked = Professional.objects.select_for_update().select_related("user").get(pk=professional.pk)
        locked.verification = Professional.Verification.VERIFIED
        locked.verified_at = timezone.now()
        locked.verified_by_id = by.pk
        locked.verification_source = _source(entry)
        locked.save(update_fields=["verification", "verified_at", "verified_by_id", "verification_source"])
        audit.record("identity.verified", actor=by, request=request, target=locked, details=_entry_details(entry))
    return locked


def do_reject_professional(
    professional: Professional, *, by: User, reason: str = "", request: HttpRequest | None = None
) -> Professional:
    """Mark ``professional`` rejected: they may no longer open patient data nor prescribe."""
    if not shared_admin_structures(by, professional):
        raise PermissionDenied
    with transaction.atomic():
        locked = Professional.objects.select_for_update().select_related("user").get(pk=professional.pk)
        before = locked.verification
        locked.verification = Professional.Verification.REJECTED
        locked.verified_at = None
        locked.verified_by_id = None
        locked.verification_source = ("rejected: " + reason)[:200]
        locked.save(update_fields=["verification", "verified_at", "verified_by_id", "verification_source"])
        audit.record(
            "identity.rejected",
            actor=by,
            request=request,
            target=locked,
            details={"before": before, "reason": reason[:500]},
        )
    return locked


def _source(entry: AnnuaireEntry) -> str:
    run = entry.import_run
    return f"Annuaire Santé import #{run.pk} ({run.created_at:%Y-%m-%d}), line {entry.line}: {run.file_name}"[:200]


def _entry_details(entry: AnnuaireEntry | None) -> dict:
    if entry is None:
        return {}
    return {
        "import": entry.import_run_id, "line": entry.line, "sha256": entry.import_run.sha256,
        "annuaire_name": f"{entry.last_name} {entry.first_name}".strip(), "profession_code": entry.profession_code,
    }  # fmt: skip
