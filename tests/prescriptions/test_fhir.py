"""FHIR: a signed prescription exported as a valid R4 Bundle; every ePrescription example of the ANS IG
imported into a draft without losing a line; a Bundle that is not an ePrescription refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from cordee.prescriptions import fhir
from cordee.prescriptions.services import imports
from tests.drugs.bdpm_helpers import SHARED_DATA

EXAMPLES = sorted((SHARED_DATA / "fhir" / "fr-ans" / "eprescription").glob("*.json"))


def test_export_is_valid_fhir_with_the_lines(signed):
    bundle = fhir.export_bundle(signed)
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Practitioner", "MedicationRequest", "ServiceRequest"]
    request = bundle["entry"][2]["resource"]
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "60000001"
    assert request["groupIdentifier"]["value"] == signed.number
    assert bundle["entry"][1]["resource"]["identifier"][0]["value"] == "810000000009"


def test_export_then_import_gives_back_the_lines(signed, alice, paula):
    draft = imports.do_import_bundle(alice, paula.patient.pk, fhir.export_bundle(signed))
    lines = list(draft.lines.all())
    assert [x.kind for x in lines] == ["product", "free"]
    assert lines[0].content["cis"] == "60000001" and lines[0].quantity == 2
    assert lines[1].content["text"] == "NFS, ionogramme"


@pytest.mark.skipif(not EXAMPLES, reason="the shared FHIR examples are not there")
def test_every_ans_example_imports_without_loss(alice, paula, drugs):
    for path in EXAMPLES:
        data = json.loads(Path(path).read_text())
        requests = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
        draft = imports.do_import_bundle(alice, paula.patient.pk, data)
        lines = list(draft.lines.all())
        assert len(lines) == len(requests), path.name
        for line in lines:
            line.patient = draft.patient
            assert line.content.get("text") or line.content.get("label"), path.name


def test_a_bundle_that_is_not_an_eprescription_is_refused(alice, paula):
    patient_bundle = {"resourceType": "Bundle", "type": "collection",
                      "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}  # fmt: skip
    broken = {"resourceType": "Bundle", "type": "collection", "entry": "junk"}
    cases = [(patient_bundle, "not_eprescription"), ({"resourceType": "Patient"}, "invalid"), (broken, "invalid")]
    for data, code in [*cases, ("junk", "invalid")]:
        with pytest.raises(fhir.FhirError) as refused:
            imports.do_import_bundle(alice, paula.patient.pk, data)
        assert refused.value.code == code
