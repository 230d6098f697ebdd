"""The self-checks of a restored Cordée, run INSIDE the restored installation (``manage.py
restore_check``, started by ``restore`` with the restored data directory or database as settings).

In order: the shred list is applied (erased owners' keys destroyed again before anything reads);
the schema is fully migrated; every table's row count, the blobs (count, size, names) and the audit
chain's head match the manifest written at backup time; ``audit verify`` passes (with the
checkpoints exported in the backup); a sample of every encrypted column and of the blobs decrypts
(an erased owner's data must fail as erased, which is counted apart and is not a failure).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cordee.audit.exports import read_exported_checkpoints
from cordee.audit.verify import verify_chain
from cordee.backups import shredlist, snapshot
from cordee.vault import blobs as vault_blobs
from cordee.vault.errors import DecryptionError, Erased
from cordee.vault.fields import EncryptedFieldMixin
from cordee.vault.models import Blob


@dataclass
class Report:
    ok: bool = True
    checks: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.failures.append(message)

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)


def _migrations(report: Report, manifest: dict[str, Any]) -> None:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    applied = set(snapshot.applied_migrations())
    missing = sorted(set(manifest.get("migrations", [])) - applied)
    report.checks["migrations"] = {"unapplied": len(plan), "missing_from_backup": len(missing)}
    if missing:
        report.fail(f"{len(missing)} migrations of the backup are not recorded in the restored database")


def _counts(report: Report, manifest: dict[str, Any]) -> None:
    found = snapshot.table_counts()
    expected = manifest["tables"]
    differ = {
        table: (expected.get(table), found.get(table)) for table in expected if expected[table] != found.get(table)
    }
    report.checks["tables"] = {"tables": len(expected), "rows": sum(expected.values()), "differ": differ}
    if differ:
        report.fail(f"row counts differ from the manifest in {len(differ)} tables: {sorted(differ)[:5]}")
    blobs = snapshot.blob_summary()
    report.checks["blobs"] = blobs
    if blobs != manifest["blobs"]:
        report.fail("the blob rows differ from the manifest")
    head = snapshot.audit_head()
    report.checks["audit_head"] = head
    if head != manifest["audit_head"]:
        report.fail("the audit chain's head differs from the manifest")


def _audit(report: Report, checkpoints_file: Path | None) -> None:
    exported = []
    if checkpoints_file is not None and checkpoints_file.exists():
        with checkpoints_file.open(encoding="utf-8") as handle:
            exported = read_exported_checkpoints(handle, str(checkpoints_file))
    result = verify_chain(exported=exported)
    report.checks["audit"] = {"entries": result.entries, "checkpoints": result.checkpoints, "ok": result.ok}
    if not result.ok:
        first = result.first_problem
        report.fail(f"audit verify failed: {first.message if first else 'problems'}")


def _encrypted_models() -> list[tuple[Any, list[str]]]:
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]
        if names and model._meta.managed:
            found.append((model, names))
    return found


def _sample_fields(report: Report, sample: int) -> None:
    opened = erased = 0
    for model, names in _encrypted_models():
        for row in model._default_manager.order_by("?")[:sample]:
            try:
                for name in names:
                    getattr(row, name)
                opened += 1
            except Erased:
                erased += 1
            except DecryptionError:
                report.fail(f"a {model._meta.label} row does not decrypt")
    report.checks["sample_fields"] = {"rows_opened": opened, "rows_erased": erased}


def _sample_blobs(report: Report, sample: int) -> None:
    opened = erased = clear_bytes = 0
    for blob in Blob.objects.order_by("?")[:sample]:
        try:
            clear_bytes += sum(len(chunk) for chunk in vault_blobs.iter_blob(blob))
            opened += 1
        except Erased:
            erased += 1
        except (DecryptionError, OSError) as exc:
            report.fail(f"blob {blob.pk} does not read back: {type(exc).__name__}")
    report.checks["sample_blobs"] = {"opened": opened, "erased": erased, "clear_bytes": clear_bytes}


def run(manifest_path: Path, shred_list: Path | None, *, sample: int = 20) -> Report:
    report = Report()
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = shredlist.read(shred_list) if shred_list else []
    report.checks["shred_list"] = {"listed": len(entries), "destroyed_again": shredlist.apply(entries)}
    _migrations(report, manifest)
    _counts(report, manifest)
    _audit(report, manifest_path.parent / manifest["checkpoints"]["file"])
    _sample_fields(report, sample)
    _sample_blobs(report, sample)
    return report
