"""BDPM import robustness and speed (issue 12): extra empty fields, updates that write only what
changed with set-based statements, and import notes written in one transaction. Never a
timing: the times are measured by bench/drugs against a same-run baseline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.drugs.bdpm import importer as importer_module
from cordee.drugs.models import Composition, ImportIssue, PrescriptionCondition, Presentation, Product
from tests.drugs.bdpm_helpers import data_lines, field
from tests.drugs.conftest import run_import

SNAPSHOTS = Path(__file__).resolve().parents[2] / "bench" / "drugs" / "snapshots.py"


def _snapshots():
    spec = importlib.util.spec_from_file_location("cordee_bench_drugs_snapshots", SNAPSHOTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _file(run, name):
    return next(f for f in run.report["files"] if f["name"] == name)


def test_lines_with_extra_empty_fields_are_read_with_a_note(snapshot, db):
    """A doubled tab used to reject the composition line, leaving the product with no substance."""
    path = snapshot / "CIS_COMPO_bdpm.txt"
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0].rstrip(b"\r") + b"\t\t\r"  # trailing tabs
    doubled = lines[1].split(b"\t")
    lines[1] = b"\t".join([*doubled[:2], b"", *doubled[2:]])  # a doubled tab after the element
    path.write_bytes(b"\n".join(lines))
    run = run_import(snapshot)
    entry = _file(run, "CIS_COMPO_bdpm.txt")
    assert entry["rejected"] == 0 and entry["stored"] == entry["lines"]
    assert any("1, 2" in note and ("tab" in note or "tabulation" in note) for note in entry["notes"])
    cis, code = field(data_lines(path)[1], 0).decode(), doubled[2].decode()
    assert Composition.objects.filter(cis=cis, substance_code=code).exists()


def test_an_ambiguous_extra_field_is_still_rejected(snapshot, db):
    path = snapshot / "CIS_CPD_bdpm.txt"
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0].rstrip(b"\r") + b"\textra\r"  # not empty: a real extra field
    path.write_bytes(b"\n".join(lines))
    run = run_import(snapshot)
    assert _file(run, "CIS_CPD_bdpm.txt")["rejected"] == 1


@pytest.fixture
def older(snapshot, tmp_path):
    """An older state of the subset (bench/drugs/snapshots.py): products not there yet, products
    gone since, other prices, statuses, holders and rows."""
    target = tmp_path / "older"
    _snapshots().write_older(snapshot, target, seed=7)
    for name in ("CIS_HAS_SMR_bdpm.txt", "CIS_HAS_ASMR_bdpm.txt"):
        (target / name).write_bytes((snapshot / name).read_bytes())
    return target


def test_an_update_from_an_older_snapshot_writes_only_what_changed(older, snapshot, db):
    run_import(older)
    compositions = dict(Composition.objects.values_list("pk", "cis"))
    with CaptureQueriesContext(connection) as queries:
        run = run_import(snapshot)
    assert run.status == "done"
    counts = _file(run, "CIS_CIP_bdpm.txt")["counts"]
    assert counts["updated"] > 10 and counts["created"] > 0 and counts["removed"] > 0
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
    assert not any("CASE WHEN" in sql for sql in writes)  # no per-row bulk_update
    updates = [sql for sql in writes if sql.startswith('UPDATE "drugs_presentation" AS t')]
    assert len(updates) == 1  # one set-based statement for every changed box
    # Rows of specialities whose composition did not change are not rewritten (same primary keys).
    kept = {pk for pk, cis in Composition.objects.values_list("pk", "cis") if compositions.get(pk) == cis}
    assert len(kept) > 0.8 * Composition.objects.count()
    # And the result is what a fresh import of the newer snapshot gives.
    assert Presentation.objects.filter(removed_at__isnull=True).count() == len(
        data_lines(snapshot / "CIS_CIP_bdpm.txt")
    )
    newer = {(c, n) for c, n in Product.objects.filter(removed_at__isnull=True).values_list("cis", "holders")}
    assert not any("ANCIEN TITULAIRE" in holders for _c, holders in newer)
    assert (
        PrescriptionCondition.objects.exclude(text__endswith="(ancien)").count()
        == PrescriptionCondition.objects.count()
    )


def test_an_unchanged_reimport_rewrites_nothing(snapshot, db):
    run_import(snapshot)
    with CaptureQueriesContext(connection) as queries:
        run_import(snapshot)
    data_writes = [
        q["sql"] for q in queries.captured_queries
        if q["sql"].startswith(("UPDATE", "INSERT", "DELETE")) and "drugs_import" not in q["sql"]
        and "audit" not in q["sql"]
    ]  # fmt: skip
    assert data_writes == []


@pytest.mark.django_db(transaction=True)
def test_import_notes_are_written_in_one_transaction_per_file(snapshot, monkeypatch):
    """Thousands of orphan notes used to be committed one row at a time (about 9 s of an import)."""
    seen = []
    original = importer_module.bulk_insert

    def recording(model, rows):
        if model is ImportIssue and rows:
            seen.append(connection.in_atomic_block)
        return original(model, rows)

    monkeypatch.setattr(importer_module, "bulk_insert", recording)
    run = run_import(snapshot)
    assert run.orphan_count > 0 and seen and all(seen)
