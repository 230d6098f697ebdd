"""Importing the ANSM thesaurus: all or nothing, and the older published layouts.

Issue 12, defect 1: a refused import used to delete every stored interaction, exit 0 and mark
the run done. These tests import the real August 2016 extraction first, then try files that
must be refused, and check that the stored thesaurus is exactly what it was.
"""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from cordee.audit.models import AuditEntry
from cordee.drugs.models import ImportRun, Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.thesaurus import parse_levels
from tests.drugs.bdpm_helpers import THESAURUS
from tests.drugs.conftest import run_import

Level = Interaction.Level
THESAURUS_FILE, FAMILIES_FILE, MOLECULES_FILE = (
    "thesaurusAout2016.csv",
    "moleculesfamillesAout2016.csv",
    "moleculesAout2016.txt",
)


def _rows(name: str) -> list[list[str]]:
    text = (THESAURUS / name).read_text(encoding="ascii")
    return [line.split("\t") for line in text.split("\n") if line.strip()]


def _snapshot() -> tuple:
    return (
        list(Interaction.objects.order_by("pk").values_list("key_a", "key_b", "level", "levels", "conduct")),
        list(ThesaurusClassMember.objects.order_by("pk").values_list("class_key", "molecule_key")),
        list(ThesaurusMolecule.objects.order_by("pk").values_list("key", flat=True)),
    )


@pytest.fixture
def stored(db):
    """The real thesaurus imported, and what it stored."""
    run = run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done" and Interaction.objects.count() == 1463
    return _snapshot()


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "thesaurus"
    shutil.copytree(THESAURUS, target)
    return target


def _older_layout(target, *, lower_families: bool = True) -> None:
    """The layout of the earlier extractions (2015, January 2016): semicolon-separated, quoted,
    ``entree;interaction;page;CI;AD;PE;PC`` with the whole text in the level columns; the
    family file quoted, in lower case with accents; the molecule list with a header."""
    target.mkdir()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(["entree", "interaction", "page", "CI", "AD", "PE", "PC"])
    for page, row in enumerate(_rows(THESAURUS_FILE)[1:]):
        levels, _rest = parse_levels(row[2], row[5:9])
        text = " ".join(part for part in (row[2].strip(), row[4].strip()) if part)
        columns = ["" if level not in levels else text for level in (Level.CI, Level.AD, Level.PE, Level.PC)]
        writer.writerow([row[0], row[1], page // 10 + 1, *columns])
    (target / "thesaurus2015.csv").write_text(out.getvalue(), encoding="utf-8")
    families = ['"molecule"\t"famille"']
    for molecule, family in _rows(FAMILIES_FILE)[1:]:
        family = family.lower().replace("steroidiens", "stéroïdiens") if lower_families else family
        families.append(f'"{molecule.lower() if lower_families else molecule}"\t"{family}"')
    (target / "mol_famille_thesaurus2015.csv").write_text("\n".join(families) + "\n", encoding="utf-8")
    molecules = ['"molecule"', *(f'"{row[0].lower()}"' for row in _rows(MOLECULES_FILE))]
    (target / "mol_thesaurus_seules2015.csv").write_text("\n".join(molecules) + "\n", encoding="utf-8")


def test_a_refused_file_leaves_every_stored_interaction_in_place(stored, copy):
    path = copy / THESAURUS_FILE
    text = path.read_text(encoding="ascii").replace("\t", ";")  # another separator, other column names
    path.write_text(text.replace("protagoniste1;protagoniste2", "molecule_a;molecule_b", 1), encoding="ascii")
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "failed"
    assert _snapshot() == stored  # nothing deleted, nothing replaced
    # The refusal names what was expected and what was found: separator and columns.
    assert "protagoniste1" in run.error and "molecule_a" in run.error
    assert "point-virgule" in run.error or "semicolon" in run.error
    assert run.issues.filter(kind="file", file=THESAURUS_FILE).exists()
    entry = AuditEntry.objects.filter(action="drugs.import.failed").latest("pk")
    assert entry.outcome == "failure" and entry.details["error"]


def test_the_command_exits_non_zero_when_the_import_is_refused(stored, copy, capsys):
    (copy / FAMILIES_FILE).unlink()  # without classes, every class interaction would be lost
    with pytest.raises(CommandError, match="failed"):
        call_command("import_interactions", str(copy))
    assert ImportRun.objects.latest("pk").status == "failed"
    assert _snapshot() == stored
    capsys.readouterr()


def test_a_truncated_thesaurus_is_refused_unless_the_operator_allows_it(stored, copy):
    path = copy / THESAURUS_FILE
    lines = path.read_text(encoding="ascii").split("\n")
    path.write_text("\n".join(lines[:300]) + "\n", encoding="ascii")
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "failed" and "299" in run.error and "1463" in run.error
    assert _snapshot() == stored
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS, allow_shrink=True)
    assert run.status == "done" and Interaction.objects.count() == 299


def test_a_file_with_too_many_bad_lines_is_refused(stored, copy):
    path = copy / THESAURUS_FILE
    lines = path.read_text(encoding="ascii").split("\n")
    lines[1:200] = ["ABATACEPT\tANTI-TNF ALPHA\tSans niveau\t\t\t\t\t\t"] * 199
    path.write_text("\n".join(lines), encoding="ascii")
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "failed" and _snapshot() == stored
    assert run.issues.filter(kind="rejected").count() == 199


def test_a_failure_while_storing_rolls_everything_back(stored, copy, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Interaction.objects, "bulk_create", broken)
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "failed" and "disk full" in run.error
    monkeypatch.undo()
    assert _snapshot() == stored


def test_an_older_published_layout_gives_the_same_thesaurus(stored, tmp_path):
    _older_layout(tmp_path / "2015")
    run = run_import(tmp_path / "2015", kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done", run.error
    layouts = {f["name"]: f["layout"] for f in run.report["files"]}
    assert "point-virgule" in layouts["thesaurus2015.csv"] or "semicolon" in layouts["thesaurus2015.csv"]
    interactions, members, molecules = _snapshot()
    before = {(a, b): (level, levels) for a, b, level, levels, _c in stored[0]}
    after = {(a, b): (level, levels) for a, b, level, levels, _c in interactions}
    assert after == before  # same pairs, same levels, whatever the separator, quoting or case
    assert {c for c, _m in members} == {c for c, _m in stored[1]}  # "stéroïdiens" folds like "STEROIDIENS"
    assert set(molecules) == set(stored[2])


def test_the_family_file_is_recognised_by_its_columns_whatever_its_name(db, copy):
    (copy / FAMILIES_FILE).rename(copy / "classes_therapeutiques.tsv")
    (copy / MOLECULES_FILE).unlink()  # optional: the molecules then come from the family file
    run = run_import(copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done", run.error
    assert ThesaurusClassMember.objects.count() == len(_rows(FAMILIES_FILE)) - 1
    assert ThesaurusMolecule.objects.filter(key="acide acetylsalicylique").exists()
    assert run.report["missing"] == ["molecules"]


def test_levels_are_read_with_or_without_accents():
    assert parse_levels("Association DÉCONSEILLÉE Majoration", ["", "", "", ""]) == ([Level.AD], "Majoration")
    assert parse_levels("Précaution d'emploi Surveiller", ["", "", "", ""])[0] == [Level.PE]
