"""Annuaire Santé import (issue 12): the progress counter moves while lines are stored, older
imports are purged, and duplicate lines or one RPPS with two names get a note."""

from __future__ import annotations

import pytest
from django.utils import translation

from cordee.accounts.annuaire import services
from cordee.accounts.annuaire.models import AnnuaireEntry, AnnuaireImport
from cordee.accounts.annuaire.services import do_import_annuaire
from cordee.audit.models import AuditEntry
from tests.accounts.annuaire_helpers import SAMPLE_BYTES, SAMPLE_LINES, extraction, rpps_line, stream, with_key

DATA_LINES = SAMPLE_LINES[1:]
RPPS_A, RPPS_B = with_key("1000000010"), with_key("1000000020")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_the_line_count_moves_while_the_file_is_stored(db, monkeypatch):
    """The counter stayed at 0 for the seven minutes of a national import."""
    monkeypatch.setattr(services, "BATCH_SIZE", 5)
    seen: list[int] = []
    original = AnnuaireEntry.objects.bulk_create

    def watching(objects, *args, **kwargs):
        if objects:
            seen.append(AnnuaireImport.objects.get(pk=objects[0].import_run_id).rows)  # as another reader sees it
        return original(objects, *args, **kwargs)

    monkeypatch.setattr(AnnuaireEntry.objects, "bulk_create", watching)
    run = do_import_annuaire(stream(SAMPLE_BYTES), file_name="sample.txt")
    assert run.rows == 22 and seen == [0, 5, 10, 15, 20]


def test_duplicate_lines_and_an_rpps_with_two_names_are_noted(db):
    data = extraction(
        rpps_line(RPPS_A, "MARTIN"), DATA_LINES[0], rpps_line(RPPS_A, "MARTIN"),  # line 4 repeats line 2
        rpps_line(RPPS_B, "DURAND", "Anne"), rpps_line(RPPS_B, "DUPONT", "Anne"),  # one RPPS, two names
    )  # fmt: skip
    run = do_import_annuaire(stream(data), file_name="x.txt")
    assert run.status == "done" and run.rows == 5
    assert "1 line(s) repeat another line of the file exactly: line 4 (as line 2)." in run.notes
    assert f"1 RPPS number(s) carry different names on different lines: {RPPS_B}." in run.notes


def test_the_real_sample_has_nothing_to_note(db):
    assert do_import_annuaire(stream(SAMPLE_BYTES), file_name="sample.txt").notes == []


def test_a_finished_import_purges_the_lines_of_the_older_ones_of_its_owner(db, ada, structure):
    first = do_import_annuaire(stream(SAMPLE_BYTES), file_name="old.txt")
    other_owner = do_import_annuaire(stream(SAMPLE_BYTES), file_name="mine.txt", by=ada, structure=structure)
    second = do_import_annuaire(stream(SAMPLE_BYTES), file_name="new.txt")
    assert not AnnuaireEntry.objects.filter(import_run=first).exists()
    assert AnnuaireEntry.objects.filter(import_run=second).count() == 22
    assert AnnuaireEntry.objects.filter(import_run=other_owner).count() == 22  # a structure's own upload stays
    first.refresh_from_db()
    assert first.status == "done" and any(f"#{second.pk}" in note for note in first.notes)  # the record stays
    entry = AuditEntry.objects.get(action="annuaire.purged")
    assert (entry.target_id, entry.details["imports"], entry.details["lines"]) == (str(second.pk), [first.pk], 22)


def test_a_failed_import_purges_nothing(db):
    first = do_import_annuaire(stream(SAMPLE_BYTES), file_name="old.txt")
    failed = do_import_annuaire(stream(b"not|an|extraction|\n"), file_name="bad.txt")
    assert failed.status == "failed" and AnnuaireEntry.objects.filter(import_run=first).count() == 22
