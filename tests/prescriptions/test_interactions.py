"""Interactions in the checks (the real ANSM thesaurus): a warning between two lines, one with a drug of
a current prescription, and a contraindication that only a written reason lets through (audited)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cordee.audit.models import AuditEntry
from cordee.drugs.models import ImportRun
from cordee.prescriptions import purposes
from cordee.prescriptions.services import checks, drafts, signing
from cordee.prescriptions.services.errors import PrescriptionError
from tests.drugs.bdpm_helpers import THESAURUS
from tests.drugs.conftest import run_import
from tests.prescriptions.conftest import add_product, line

WARFARIN, IBUPROFEN, SIMVASTATIN, ITRACONAZOLE = "61000001", "61000002", "61000003", "61000004"


@pytest.fixture(scope="module")
def thesaurus(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        run_import(THESAURUS, kind=ImportRun.Kind.INTERACTIONS)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def interacting(thesaurus, drugs):
    add_product(WARFARIN, "COUMADINE 2 mg, comprimé", ("1001", "WARFARINE SODIQUE"))
    add_product(IBUPROFEN, "ADVIL 200 mg, comprimé", ("1002", "IBUPROFÈNE"))
    add_product(SIMVASTATIN, "ZOCOR 20 mg, comprimé", ("1003", "SIMVASTATINE"))
    add_product(ITRACONAZOLE, "SPORANOX 100 mg, gélule", ("1004", "ITRACONAZOLE"))


def test_a_warning_between_two_lines_with_its_level(alice, paula, interacting):
    draft = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, draft.pk, line(WARFARIN))
    drafts.do_add_line(alice, draft.pk, line(IBUPROFEN))
    found = [f for f in checks.check(draft) if f.code == "interaction"]
    assert found and found[0].level == checks.WARNING and found[0].interaction_level in ("AD", "PE", "PC")
    assert found[0].lines == [1, 2]
    assert signing.do_sign(alice, draft.pk).status == "signed"  # a warning does not block


def test_with_a_drug_of_a_current_prescription(alice, paula, interacting):
    first = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, first.pk, line(WARFARIN))
    signing.do_sign(alice, first.pk)
    second = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, second.pk, line(IBUPROFEN))
    found = [f for f in checks.check(second) if f.code == "interaction"]
    assert found and found[0].lines == [1]


def test_a_contraindication_needs_a_reason_kept_encrypted_and_audited(alice, paula, interacting):
    draft = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, draft.pk, line(SIMVASTATIN))
    drafts.do_add_line(alice, draft.pk, line(ITRACONAZOLE))
    found = [f for f in checks.check(draft) if f.code == "interaction"]
    assert found[0].interaction_level == "CI" and found[0].overridable
    with pytest.raises(PrescriptionError) as refused:
        signing.do_sign(alice, draft.pk)
    assert refused.value.code == "override_reason"
    signed = signing.do_sign(alice, draft.pk, override_reason="Statine arrêtée pendant la cure, avis du cardiologue")
    assert signed.override_reason.startswith("Statine arrêtée")
    entry = AuditEntry.objects.get(action=purposes.OVERRIDDEN)
    assert entry.patient_id == paula.patient.pk and "Statine" not in str(entry.details)
