"""The ANSM thesaurus: substance matching, ``interactions_for`` on real BDPM products, and the
levels of entries graded by aspirin's dose (issue 12, defects 2 and 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cordee.drugs import doses
from cordee.drugs.interactions import interactions_for, thesaurus
from cordee.drugs.models import Composition, ImportRun, Interaction, Product, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.substances import forms
from cordee.drugs.thesaurus import parse_levels
from tests.drugs.bdpm_helpers import THESAURUS
from tests.drugs.conftest import run_import

Level = Interaction.Level


def _lines(name: str) -> list[str]:
    return [line for line in (THESAURUS / name).read_text(encoding="ascii").split("\n") if line.strip()]


def cis(name: str) -> str:
    """The CIS of a real speciality, by its exact BDPM name."""
    return Product.objects.get(name=name).cis


def test_import_counts_match_the_files(db):
    run = run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    assert run.status == "done" and run.rejected_count == 0
    assert Interaction.objects.count() == len(_lines("thesaurusAout2016.csv")) - 1 == 1463  # header
    assert ThesaurusMolecule.objects.count() == len(set(_lines("moleculesAout2016.txt"))) == 1010
    assert ThesaurusClassMember.objects.count() == len(_lines("moleculesfamillesAout2016.csv")) - 1
    # Protagonists that are neither molecule nor class ("PAMPLEMOUSSE (JUS ET FRUIT)") are kept, reported.
    assert run.orphan_count == 8
    assert Interaction.objects.filter(protagonist_b="PAMPLEMOUSSE (JUS ET FRUIT)").exists()


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


@pytest.mark.parametrize(
    ("bdpm_name", "molecule"),
    [
        ("CHLORHYDRATE DE TRAMADOL", "tramadol"),
        ("AMLODIPINE (BÉSILATE D')", "amlodipine"),
        ("AMOXICILLINE TRIHYDRATÉE", "amoxicilline"),
        ("DICLOFÉNAC DE DIÉTHYLAMINE", "diclofenac"),
        ("VALPROATE DE SODIUM", "acide valproique"),
        ("SODIUM (VALPROATE DE)", "acide valproique"),  # the thesaurus: "VALPROIQUE (ACIDE) ET, PAR EXTRAPOLATION, …"
        # The inverted forms of issue 12, as the real BDPM writes them:
        ("ACÉTYLSALICYLIQUE (ACIDE)", "acide acetylsalicylique"),
        ("DL-LYSINE (ACÉTYLSALICYLATE DE)", "acide acetylsalicylique"),
        ("ACÉTYLSALICYLATE DE DL-LYSINE", "acide acetylsalicylique"),
        ("FUSIDIQUE (ACIDE)", "acide fusidique"),
        ("SODIUM (FUSIDATE DE)", "acide fusidique"),
        ("FUSIDATE DE SODIUM", "acide fusidique"),
        ("METFORMINE (CHLORHYDRATE DE)", "metformine"),
        ("LIDOCAÏNE (CHLORHYDRATE DE) MONOHYDRATÉ", "lidocaine"),
        ("CLOPIDOGREL (HYDROGÉNOSULFATE DE)", "clopidogrel"),
        ("HYDROGÉNOSULFATE DE CLOPIDOGREL", "clopidogrel"),
        ("TERT-BUTYLAMINE DE PÉRINDOPRIL", "perindopril tert butylamine"),
        ("PÉRINDOPRIL ARGININE", "perindopril tert butylamine"),
        ("MÉSILATE DE DABIGATRAN ÉTEXILATE", "dabigatran"),
        ("PHOSPHATE SODIQUE DE DEXAMÉTHASONE", "dexamethasone"),
        ("BISOPROLOL (FUMARATE ACIDE DE)", "bisoprolol"),
        ("FER (SOUS FORME DE SULFATE FERREUX)", "fer"),
        ("CHLORURE DE POTASSIUM", "potassium"),
        ("SODIUM (CHLORURE DE)", "sodium chlorure de"),
        ("COLÉCALCIFÉROL", "cholecalciferol"),
        ("MILLEPERTUIS (EXTRAIT SEC DE)", "millepertuis"),
        ("VIRUS DE LA FIÈVRE JAUNE, SOUCHE 17D-204 (VIVANT, ATTÉNUÉ)", "virus de la fievre jaune"),
    ],
)
def test_bdpm_substance_names_match_thesaurus_molecules(db, bdpm_name, molecule):
    run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    assert thesaurus().molecule_for(bdpm_name) == molecule, forms(bdpm_name)


@pytest.mark.parametrize(
    "bdpm_name", ["LACTATE DE SODIUM", "CLAVULANATE DE POTASSIUM", "HYDROXYDE DE SODIUM", "LÉVOFOLINATE DE CALCIUM"]
)
def test_a_salt_is_not_matched_by_its_counter_ion(db, bdpm_name):
    """ "SODIUM (CHLORURE DE)" in the thesaurus must not answer for every sodium salt, nor
    POTASSIUM for the potassium salt of clavulanic acid."""
    run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
    assert thesaurus().molecule_for(bdpm_name) not in {"sodium chlorure de", "potassium", "calcium"}


# --- real products (the subset of the real BDPM) ---------------------------------------------
ASPIRIN_500 = ["ASPIRINE UPSA 500 mg, comprimé effervescent", "ASPRO 500 EFFERVESCENT, comprimé effervescent"]
ANTICOAGULANTS = [
    "COUMADINE 2 mg, comprimé sécable",
    "PREVISCAN 20 mg, comprimé quadrisécable",
    "ELIQUIS 5 mg, comprimé pelliculé",
]


def _pair(a: str, b: str):
    return [f for f in interactions_for([cis(a), cis(b)]) if {f.product_a, f.product_b} == {cis(a), cis(b)}]


@pytest.mark.usefixtures("subset_db")
@pytest.mark.parametrize("aspirin", ASPIRIN_500)
@pytest.mark.parametrize("anticoagulant", ANTICOAGULANTS)
def test_aspirin_products_with_an_oral_anticoagulant(db, aspirin, anticoagulant):
    """ASPIRINE UPSA 500 and ASPRO 500 write "ACÉTYLSALICYLIQUE (ACIDE)": they used to show no
    interaction at all with an oral anticoagulant."""
    assert Composition.objects.filter(cis=cis(aspirin), substance_name="ACÉTYLSALICYLIQUE (ACIDE)").exists()
    found = _pair(aspirin, anticoagulant)
    first = found[0]
    other = first.protagonist_b if first.product_b == cis(anticoagulant) else first.protagonist_a
    assert (first.level_code, other) == ("CI", "ANTICOAGULANTS ORAUX")
    assert first.applies and first.dose and first.dose.strength_mg == 500
    assert doses.ANALGESIC in first.dose.bands and first.conditions  # contraindicated at these doses: it says when


@pytest.mark.usefixtures("subset_db")
@pytest.mark.parametrize(
    "fucidine", ["FUCIDINE 250 mg, comprimé pelliculé", "FUCIDINE ENFANTS 250 mg/5 ml, suspension buvable en flacon"]
)
@pytest.mark.parametrize(
    "statin", ["SIMVASTATINE ARROW LAB 20 mg, comprimé pelliculé", "ZOCOR 20 mg, comprimé pelliculé"]
)
def test_oral_fusidic_acid_with_simvastatin_is_a_contraindication(db, fucidine, statin):
    """ "SODIUM (FUSIDATE DE)" and "FUSIDIQUE (ACIDE)" used to match nothing."""
    found = _pair(fucidine, statin)
    assert found and found[0].level_code == "CI"
    assert {found[0].protagonist_a, found[0].protagonist_b} == {
        "ACIDE FUSIDIQUE", "INHIBITEURS DE L'HMG-COA REDUCTASE (STATINES)",
    }  # fmt: skip


@pytest.mark.usefixtures("subset_db")
def test_a_75_mg_antiplatelet_product_with_an_anticoagulant_is_not_a_contraindication(db):
    """Defect 3: the thesaurus grades aspirin + oral anticoagulant by dose; at antiplatelet doses it
    is "association déconseillée" with a history of ulcer, "à prendre en compte" otherwise."""
    for antiplatelet in ("KARDEGIC 75 mg, poudre pour solution buvable en sachet-dose",
                         "ACIDE ACETYLSALICYLIQUE BIOGARAN 75 mg, comprimé gastro-résistant"):  # fmt: skip
        [found] = [f for f in _pair(antiplatelet, "COUMADINE 2 mg, comprimé sécable") if f.dose]
        assert (found.level_code, found.levels) == ("AD", (Level.AD, Level.PC))
        assert found.dose.strength_mg == 75 and found.dose.bands == (doses.ANTIPLATELET,)
        assert all("antiagregantes" in text for _label, text in found.conditions)
        assert any("ulcere" in text for _label, text in found.conditions)
        assert {label for label, _text in found.other_conditions} >= {"Contre-indication"}
    # KARDEGIC's strength is its therapeutic fraction (75 mg of acid), not the salt (135 mg of lysine salt).
    kardegic = cis("KARDEGIC 75 mg, poudre pour solution buvable en sachet-dose")
    assert Composition.objects.filter(cis=kardegic, substance_name="DL-LYSINE (ACÉTYLSALICYLATE DE)", dosage="135 mg")


@pytest.mark.usefixtures("subset_db")
def test_an_entry_only_for_higher_doses_is_kept_but_marked_as_not_applying(db):
    """Aspirin + NSAID: "association déconseillée" at analgesic doses, "à prendre en compte" at
    antiplatelet doses; aspirin + glucocorticoid would not apply at all at 75 mg."""
    found = _pair("KARDEGIC 75 mg, poudre pour solution buvable en sachet-dose", "ADVIL 200 mg, comprimé enrobé")
    nsaid = next(f for f in found if "ANTI-INFLAMMATOIRES NON STEROIDIENS" in (f.protagonist_a, f.protagonist_b))
    assert (nsaid.level_code, nsaid.applies) == ("PC", True)
    strong = _pair("ASPIRINE UPSA 500 mg, comprimé effervescent", "ADVIL 200 mg, comprimé enrobé")
    assert next(f for f in strong if f.dose).level_code == "AD"


def test_dose_rules_read_from_the_real_thesaurus_text():
    row = next(
        line.split("\t") for line in _lines("thesaurusAout2016.csv")
        if line.startswith("ACIDE ACETYLSALICYLIQUE\tANTICOAGULANTS ORAUX")
    )  # fmt: skip
    levels, conduct = parse_levels(row[2], row[5:9])
    rules = doses.rules(conduct, row[4], levels)
    by_band = {band: sorted(r.level for r in rules if band in r.bands) for band in doses.BAND_LABELS}
    assert by_band == {
        doses.ANTI_INFLAMMATORY: [Level.CI],
        doses.ANALGESIC: [Level.CI, Level.AD],  # with / without a history of ulcer
        doses.ANTIPLATELET: [Level.AD, Level.PC],  # with a history of ulcer / always
    }
    assert doses.reachable(Decimal(75)) == (doses.ANTIPLATELET,)
    assert doses.reachable(Decimal(500)) == (doses.ANTI_INFLAMMATORY, doses.ANALGESIC)
    assert doses.ANALGESIC in doses.reachable(Decimal(330))  # two units reach analgesic doses: not decided
    assert doses.strength_mg("0,330 g") == 330 and doses.strength_mg("500,00 mg") == 500
    assert doses.strength_mg("3CH à 30CH") is None


@pytest.mark.usefixtures("subset_db")
def test_interactions_between_products(db):
    book = thesaurus()
    assert book.molecule_for("WARFARINE SODIQUE") == "warfarine"
    assert book.molecule_for("PARACÉTAMOL") == "paracetamol"
    coumadine = cis("COUMADINE 2 mg, comprimé sécable")
    kardegic = cis("KARDEGIC 75 mg, poudre pour solution buvable en sachet-dose")
    doliprane = cis("DOLIPRANE 1000 mg, comprimé")
    found = interactions_for([coumadine, kardegic, doliprane])
    keys = [(not f.applies, f.level) for f in found]
    assert keys == sorted(keys)
    first = found[0]
    assert (first.level_code, first.product_a, first.product_b) == ("AD", coumadine, kardegic)
    assert first.substance_a == "WARFARINE SODIQUE" and first.protagonist_a == "ANTICOAGULANTS ORAUX"
    assert first.conduct and first.mechanism
    pairs = {(f.product_a, f.product_b) for f in found}
    assert (coumadine, doliprane) in pairs  # paracetamol with the vitamin K antagonists: précaution d'emploi
    assert interactions_for([coumadine]) == [] and interactions_for([]) == []
    efferalgan = Product.objects.filter(name__startswith="EFFERALGAN").first().cis
    assert interactions_for([doliprane, efferalgan]) == []  # the same substance
