"""The ANSM interaction thesaurus: its import, substance matching, and ``interactions_for``."""

from __future__ import annotations

import shutil

import pytest

from cordee.drugs.interactions import candidate_keys, interactions_for, thesaurus
from cordee.drugs.models import ImportRun, Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.search import search
from cordee.drugs.thesaurus import parse_levels
from tests.drugs.bdpm_helpers import THESAURUS
from tests.drugs.conftest import run_import

Level = Interaction.Level


def _lines(name: str) -> list[str]:
    return [line for line in (THESAURUS / name).read_text(encoding="ascii").split("\n") if line.strip()]


@pytest.fixture
def thesaurus_copy(tmp_path):
    target = tmp_path / "thesaurus"
    shutil.copytree(THESAURUS, target)
    return target


def test_import_counts_match_the_files(db):
    run = run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done" and run.rejected_count == 0
    assert Interaction.objects.count() == len(_lines("thesaurusAout2016.csv")) - 1 == 1463  # header
    assert ThesaurusMolecule.objects.count() == len(set(_lines("moleculesAout2016.txt"))) == 1010
    assert ThesaurusClassMember.objects.count() == len(_lines("moleculesfamillesAout2016.csv")) - 1
    # Protagonists that are neither molecule nor class ("PAMPLEMOUSSE (JUS ET FRUIT)") are kept, reported.
    assert run.orphan_count == 8
    assert (
        Interaction.objects.filter(protagonist_b="PAMPLEMOUSSE (JUS ET FRUIT)").exists()
        or Interaction.objects.filter(protagonist_a="PAMPLEMOUSSE (JUS ET FRUIT)").exists()
    )


def test_levels_from_the_text_and_from_combined_codes():
    assert parse_levels("CONTRE-INDICATION Risque majore", ["", "", "", ""]) == ([Level.CI], "Risque majore")
    assert parse_levels("Association DECONSEILLEE", ["", "", "", ""]) == ([Level.AD], "")
    assert parse_levels("Precaution d'emploi Surveillance clinique.", ["", "", "", ""])[0] == [Level.PE]
    assert parse_levels("A prendre en compte Risque", ["", "", "", ""])[0] == [Level.PC]
    levels, rest = parse_levels("CI - ASDEC - APEC Contre-indication avec : x", ["", "", "", ""])
    assert levels == [Level.CI, Level.AD, Level.PC] and rest.startswith("Contre-indication avec")
    assert parse_levels("Rien", ["", "x", "", ""]) == ([Level.AD], "Rien")
    assert parse_levels("Rien", ["", "", "", ""]) == ([], "Rien")


def test_every_level_of_the_thesaurus_is_read(db):
    run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    counts = {level: Interaction.objects.filter(level=level).count() for level in Level.values}
    assert all(counts.values()) and sum(counts.values()) == 1463


def test_a_line_without_level_or_with_bad_fields_is_rejected(thesaurus_copy, db):
    path = thesaurus_copy / "thesaurusAout2016.csv"
    lines = path.read_text(encoding="ascii").split("\n")
    lines[1] = "ABATACEPT\tANTI-TNF ALPHA\tSans niveau\t\t\t\t\t\t"
    lines[2] = "TROP\tPEU"
    path.write_text("\n".join(lines), encoding="ascii")
    run = run_import(thesaurus_copy, kind=ImportRun.Kind.INTERACTIONS)
    rejected = list(run.issues.filter(kind="rejected").values_list("line", flat=True).order_by("line"))
    assert rejected == [2, 3] and Interaction.objects.count() == 1461


def test_a_missing_thesaurus_file_is_reported(thesaurus_copy, db):
    (thesaurus_copy / "moleculesfamillesAout2016.csv").unlink()
    run = run_import(thesaurus_copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done" and run.report["missing"] == ["classes"]


def test_a_wrong_header_refuses_the_file(thesaurus_copy, db):
    path = thesaurus_copy / "thesaurusAout2016.csv"
    path.write_text("a\tb\n" + path.read_text(encoding="ascii").split("\n", 1)[1], encoding="ascii")
    run = run_import(thesaurus_copy, kind=ImportRun.Kind.INTERACTIONS)
    assert run.issues.filter(kind="file").count() == 1 and Interaction.objects.count() == 0


def test_bdpm_substance_names_reduce_to_thesaurus_molecules():
    assert candidate_keys("CHLORHYDRATE DE TRAMADOL")[-1] == "tramadol"
    assert "amlodipine" in candidate_keys("AMLODIPINE (BÉSILATE D')")
    assert "amoxicilline" in candidate_keys("AMOXICILLINE TRIHYDRATÉE")
    assert "diclofenac" in candidate_keys("DICLOFÉNAC DE DIÉTHYLAMINE")
    assert "acide valproique" in candidate_keys("VALPROATE DE SODIUM")


@pytest.mark.usefixtures("subset_db")
def test_interactions_between_products(db):
    book = thesaurus()
    assert book.molecule_for("WARFARINE SODIQUE") == "warfarine"
    assert book.molecule_for("PARACÉTAMOL") == "paracetamol"
    coumadine = search("coumadine").hits[0].doc.cis
    kardegic = search("kardegic 75").hits[0].doc.cis
    doliprane = search("doliprane 1000").hits[0].doc.cis
    found = interactions_for([coumadine, kardegic, doliprane])
    assert [f.level_code for f in found] == sorted(f.level_code for f in found) or found[0].level_code == "CI"
    first = found[0]
    assert (first.level_code, first.product_a, first.product_b) == ("CI", coumadine, kardegic)
    assert first.substance_a == "WARFARINE SODIQUE" and first.protagonist_a == "ANTICOAGULANTS ORAUX"
    assert first.conduct and first.mechanism
    pairs = {(f.product_a, f.product_b) for f in found}
    assert (coumadine, doliprane) in pairs  # paracetamol with the vitamin K antagonists: précaution d'emploi
    assert interactions_for([coumadine]) == [] and interactions_for([]) == []
    assert interactions_for([doliprane, search("efferalgan").hits[0].doc.cis]) == []  # the same substance
