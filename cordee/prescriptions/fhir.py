"""FHIR (R4, as the ANS ePrescription IG profiles it): a signed prescription exported as a Bundle, and
a Bundle of MedicationRequests imported into a draft.

Export: a ``collection`` Bundle with the Patient (INS when known), the Practitioner (``idNat_PS``,
8 + RPPS), one MedicationRequest per drug line (BDPM codes: CIS, CIP13, or the substance for an INN
line; its posology as ``dosageInstruction`` with the French sentence as ``text``) and one
ServiceRequest per free-text line, all under the prescription's number (``groupIdentifier``).
Validated with ``fhir.resources`` (R4B, which keeps R4's MedicationRequest) before it leaves.

Import: every MedicationRequest of the Bundle becomes a line of a new draft. A code this
deployment's BDPM knows (CIS, CIP13) gives a product line; otherwise (the IG's examples code their
medications in other terminologies) the line is kept as free text with the medication's name and
its dosage as written, so nothing of the prescription is lost; the prescriber re-codes it before
signing. A Bundle without any MedicationRequest is not an ePrescription (``not_eprescription``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from cordee.lib.errors import CodedError
from cordee.prescriptions import bdpm, posology
from cordee.prescriptions.models import Prescription, PrescriptionLine

CIS_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/codeCIS"
CIP13_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/codeCIP13"
SUBSTANCE_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/codeSubstance"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # idNat_PS
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR
NUMBER_SYSTEM = "urn:cordee:prescription-number"
_PERIOD_UNIT = {"day": "d", "week": "wk", "month": "mo"}
_FROM_UNIT = {"d": "day", "wk": "week", "mo": "month"}


class FhirError(CodedError):
    ERRORS = {
        "invalid": (400, "This is not a valid FHIR R4 Bundle."),
        "not_eprescription": (400, "This Bundle holds no MedicationRequest: it is not an ePrescription."),
    }


def _dosage(line: PrescriptionLine) -> list[dict[str, Any]]:
    p = line.content.get("posology") or {}
    if not p:
        return []
    dosage: dict[str, Any] = {"text": posology.sentence(p)}
    repeat: dict[str, Any] = {"frequency": p["times"], "period": 1, "periodUnit": _PERIOD_UNIT[p["per"]]}
    if p.get("duration_days"):
        repeat["boundsDuration"] = {
            "value": p["duration_days"],
            "unit": "d",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    dosage["timing"] = {"repeat": repeat}
    if p.get("dose"):
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": float(Decimal(p["dose"])), "unit": p.get("unit") or "unit"}}
        ]
    if p.get("route"):
        dosage["route"] = {"text": p["route"]}
    if p.get("timing"):
        dosage["additionalInstruction"] = [{"text": p["timing"]}]
    if p.get("instructions"):
        dosage["patientInstruction"] = p["instructions"]
    return [dosage]


def _medication(line: PrescriptionLine) -> dict[str, Any]:
    content = line.content
    coding = []
    if content.get("cip13"):
        coding.append({"system": CIP13_SYSTEM, "code": content["cip13"]})
    if content.get("cis"):
        coding.append({"system": CIS_SYSTEM, "code": content["cis"], "display": content.get("label", "")})
    if content.get("substance_code"):
        coding.append(
            {"system": SUBSTANCE_SYSTEM, "code": content["substance_code"], "display": content.get("label", "")}
        )
    return {"coding": coding, "text": content.get("label", "")}


def export_bundle(prescription: Prescription) -> dict[str, Any]:
    """The signed prescription as a FHIR R4 Bundle (a dict, validated)."""
    patient = prescription.patient
    group = {"system": NUMBER_SYSTEM, "value": prescription.number}
    patient_resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"family": patient.birth_name, "given": patient.birth_given_names.split()}],
        "gender": {"F": "female", "M": "male"}.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat() if patient.birth_date else None,
    }
    if patient.ins:
        patient_resource["identifier"] = [{"system": INS_SYSTEM, "value": patient.ins}]
    who = prescription.prescriber_display
    practitioner = {
        "resourceType": "Practitioner",
        "id": "prescriber",
        "identifier": [{"system": RPPS_SYSTEM, "value": "8" + who.get("rpps", "")}],
        "name": [{"text": who.get("name", "")}],
    }
    entries: list[dict[str, Any]] = [{"resource": patient_resource}, {"resource": practitioner}]
    authored = (prescription.signed_at or prescription.created_at).isoformat()
    for line in prescription.lines.all():
        line.patient = patient
        common: dict[str, Any] = {
            "id": f"line-{line.position + 1}",
            "status": "active" if prescription.status != Prescription.Status.CANCELLED else "revoked",
            "intent": "order",
            "subject": {"reference": "Patient/patient"},
            "requester": {"reference": "Practitioner/prescriber"},
            "authoredOn": authored,
        }
        resource: dict[str, Any]
        if line.kind == PrescriptionLine.Kind.FREE:
            resource = {"resourceType": "ServiceRequest", **common, "code": {"text": line.content.get("text", "")}}
            resource["requisition"] = group
        else:
            resource = {
                "resourceType": "MedicationRequest",
                **common,
                "groupIdentifier": group,
                "medicationCodeableConcept": _medication(line),
                "dosageInstruction": _dosage(line),
                "dispenseRequest": {
                    "quantity": {"value": line.quantity, "unit": "boîte"},
                    "numberOfRepeatsAllowed": line.renewals,
                },
                "substitution": {"allowedBoolean": not line.content.get("non_substituable")},
            }
            if line.content.get("non_substituable"):
                resource["substitution"]["reason"] = {"text": line.content["non_substituable"]}
        entries.append({"resource": resource})
    bundle = {"resourceType": "Bundle", "type": "collection", "identifier": group, "entry": entries}
    Bundle.model_validate(bundle)  # raises on anything that is not valid FHIR
    return bundle


# --- import ------------------------------------------------------------------------------------


def _resources(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirError("invalid")
    try:
        Bundle.model_validate(data)
    except (ValidationError, ValueError, TypeError):
        raise FhirError("invalid") from None
    return [
        e["resource"] for e in data.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _medication_of(request: dict[str, Any], medications: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(request.get("medicationCodeableConcept"), dict):
        return dict(request["medicationCodeableConcept"])
    reference = str((request.get("medicationReference") or {}).get("reference") or "")
    key = reference.lstrip("#").split("/")[-1]
    contained = {c.get("id"): c for c in request.get("contained") or [] if isinstance(c, dict)}
    medication = medications.get(key) or contained.get(key) or {}
    return dict(medication.get("code") or {"text": (request.get("medicationReference") or {}).get("display", "")})


def _name(concept: dict[str, Any]) -> str:
    codings = concept.get("coding") or []
    return str(concept.get("text") or next((c.get("display") for c in codings if c.get("display")), "") or "?")


def _dosage_text(request: dict[str, Any]) -> str:
    texts = [str(d.get("text")) for d in request.get("dosageInstruction") or [] if d.get("text")]
    for extension in request.get("extension") or []:
        if str(extension.get("url", "")).endswith("renderedDosageInstruction") and extension.get("valueMarkdown"):
            texts = texts or [str(extension["valueMarkdown"])]
    for note in request.get("note") or []:
        if note.get("text"):
            texts.append(str(note["text"]))
    return " ".join(texts)


def _product_line(concept: dict[str, Any], request: dict[str, Any]) -> dict[str, Any] | None:
    codes = {c.get("system"): str(c.get("code") or "") for c in concept.get("coding") or []}
    code = codes.get(CIP13_SYSTEM) or codes.get(CIS_SYSTEM)
    if not code:
        return None
    try:
        bdpm.resolve_product(code)
    except bdpm.LineError:
        return None
    dosage = (request.get("dosageInstruction") or [{}])[0]
    repeat = ((dosage.get("timing") or {}).get("repeat")) or {}
    dose = ((dosage.get("doseAndRate") or [{}])[0].get("doseQuantity")) or {}
    quantity = ((request.get("dispenseRequest") or {}).get("quantity") or {}).get("value") or 1
    return {
        "kind": "product",
        "code": code,
        "dose": str(dose.get("value") or ""),
        "unit": str(dose.get("unit") or ""),
        "times": int(repeat.get("frequency") or 1),
        "per": _FROM_UNIT.get(str(repeat.get("periodUnit") or "d"), "day"),
        "duration_days": (repeat.get("boundsDuration") or {}).get("value"),
        "route": str((dosage.get("route") or {}).get("text") or ""),
        "instructions": str(dosage.get("patientInstruction") or ""),
        "quantity": int(quantity),
        "renewals": int((request.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed") or 0),
    }


def lines_of(data: Any) -> list[dict[str, Any]]:
    """The lines of an ePrescription Bundle, as ``drafts.do_add_line`` takes them."""
    resources = _resources(data)
    medications = {str(r.get("id")): r for r in resources if r.get("resourceType") == "Medication"}
    requests = [r for r in resources if r.get("resourceType") == "MedicationRequest"]
    if not requests:
        raise FhirError("not_eprescription")
    lines = []
    for request in requests:
        concept = _medication_of(request, medications)
        line = _product_line(concept, request)
        if line is None or not line["dose"]:
            text = f"{_name(concept)} — {_dosage_text(request)}".strip(" —")
            line = {"kind": "free", "text": text}
        lines.append(line)
    for request in (r for r in resources if r.get("resourceType") == "ServiceRequest"):
        lines.append({"kind": "free", "text": str((request.get("code") or {}).get("text") or "")})
    return lines
