"""Fixtures of the prescription tests: a handful of BDPM rows written directly (fast), and helpers.

- DOLIPRANE (princeps, group 1) and a generic of it; paracetamol as an INN substance (code 2202);
- a stupéfiant limited to 28 days, a hospital-only product, a withdrawn product.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cordee.drugs.models import Composition, GenericMembership, PrescriptionCondition, Presentation, Product
from cordee.prescriptions.services import drafts, signing

DOLIPRANE, GENERIC, MORPHINE, HOSPITAL, WITHDRAWN = "60000001", "60000002", "60000003", "60000004", "60000005"
DOLIPRANE_BOX, GENERIC_BOX, MORPHINE_BOX, OTHER_BOX = "3400930000011", "3400930000028", "3400930000035", "3400930000042"
PARACETAMOL = "2202"


def add_product(cis: str, name: str, substance: tuple[str, str], *, conditions=(), removed=False, cip13="") -> None:
    Product.objects.create(
        cis=cis,
        name=name,
        form="comprimé",
        amm_status="Autorisation active",
        is_commercialised=not removed,
        removed_at=timezone.now() - dt.timedelta(days=30) if removed else None,
    )
    Composition.objects.create(cis=cis, substance_code=substance[0], substance_name=substance[1], nature="SA")
    for position, text in enumerate(conditions):
        PrescriptionCondition.objects.create(cis=cis, position=position, text=text)
    if cip13:
        Presentation.objects.create(cip13=cip13, cip7=cip13[5:12], cis=cis, label=f"boîte de {name}")


@pytest.fixture
def drugs(db):
    add_product(DOLIPRANE, "DOLIPRANE 500 mg, comprimé", (PARACETAMOL, "PARACÉTAMOL"), cip13=DOLIPRANE_BOX)
    add_product(GENERIC, "PARACETAMOL BIOGARAN 500 mg, comprimé", (PARACETAMOL, "PARACÉTAMOL"), cip13=GENERIC_BOX)
    add_product(
        MORPHINE,
        "SKENAN LP 10 mg, gélule",
        ("1234", "SULFATE DE MORPHINE"),
        conditions=("stupéfiants", "prescription limitée à 28 jours"),
        cip13=MORPHINE_BOX,
    )
    add_product(
        HOSPITAL, "HOSPITALOL 1 g, poudre", ("4321", "HOSPITALINE"), conditions=("réservé à l'usage HOSPITALIER",)
    )
    add_product(WITHDRAWN, "RETIROL 5 mg, comprimé", ("5555", "RETIRINE"), removed=True)
    Presentation.objects.create(cip13=OTHER_BOX, cip7="3000004", cis=HOSPITAL, label="autre boîte")
    GenericMembership.objects.create(group_id=1, group_label="PARACETAMOL 500 mg", cis=DOLIPRANE, generic_type=0)
    GenericMembership.objects.create(group_id=1, group_label="PARACETAMOL 500 mg", cis=GENERIC, generic_type=1)


def line(code: str = DOLIPRANE, **extra):
    data = {"kind": "product", "code": code, "dose": "1", "unit": "comprimé", "times": 3, "duration_days": 5,
            "route": "orale", "quantity": 2}  # fmt: skip
    data.update(extra)
    return data


@pytest.fixture
def signed(alice, paula, drugs):
    """A prescription of Alice for Paula, two lines, signed."""
    prescription = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, prescription.pk, line(DOLIPRANE, quantity=2))
    drafts.do_add_line(alice, prescription.pk, {"kind": "free", "text": "NFS, ionogramme"})
    return signing.do_sign(alice, prescription.pk)
