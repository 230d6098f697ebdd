"""The checks shown before signing; a blocking one prevents the signature.

- interactions (ANSM thesaurus, ``cordee.drugs.interactions``) between the lines and with the
  patient's other active prescriptions, with their level; a contraindication blocks unless the
  prescriber overrides it with a reason (kept encrypted, the override audited);
- duplicates: the same active substance on two lines;
- the BDPM prescription conditions: a hospital-only product cannot be prescribed outside a
  hospital; a stupéfiant needs its duration within the legal maximum (28 days, less when its
  condition says so), no renewal, and its quantities in words (printed so); a product "limited to
  N weeks" likewise; liste I without renewals unless written; médicament d'exception: its form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from cordee.accounts.models import Structure
from cordee.drugs.interactions import interactions_for
from cordee.drugs.models import Interaction
from cordee.prescriptions import bdpm
from cordee.prescriptions.models import Prescription, PrescriptionLine

BLOCKING, WARNING, INFO = "blocking", "warning", "info"


@dataclass
class Finding:
    code: str
    level: str  # BLOCKING, WARNING, INFO
    message: str
    lines: list[int] = field(default_factory=list)  # positions (1-based)
    interaction_level: str = ""  # CI, AD, PE, PC for an interaction
    overridable: bool = False  # a contraindication: signed anyway with a reason

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _cis(line: PrescriptionLine) -> str:
    return str(line.content.get("cis") or line.content.get("cis_for_checks") or "")


def active_cis_of_patient(prescription: Prescription) -> dict[str, str]:
    """CIS → label of the drugs of the patient's other signed prescriptions still in force."""
    found: dict[str, str] = {}
    others = Prescription.objects.filter(
        patient_id=prescription.patient_id, status__in=[Prescription.Status.SIGNED, Prescription.Status.PARTIAL]
    ).exclude(pk=prescription.pk)
    for other in others.prefetch_related("lines"):
        if other.is_expired:
            continue
        for line in other.lines.all():
            line.patient = prescription.patient
            if line.kind != PrescriptionLine.Kind.FREE and _cis(line):
                found[_cis(line)] = str(line.content.get("label", ""))
    return found


def _interactions(lines: list[PrescriptionLine], current: dict[str, str]) -> list[Finding]:
    by_cis: dict[str, list[int]] = {}
    for number, line in enumerate(lines, start=1):
        if _cis(line):
            by_cis.setdefault(_cis(line), []).append(number)
    codes = list(by_cis) + [cis for cis in current if cis not in by_cis]
    if len(codes) < 2:
        return []
    findings = []
    for found in interactions_for(codes):
        if not found.applies:
            continue
        ours = [n for cis in (found.product_a, found.product_b) for n in by_cis.get(cis, [])]
        if not ours:
            continue  # between two drugs of older prescriptions: not this prescription's doing
        with_current = found.product_a not in by_cis or found.product_b not in by_cis
        code = found.level_code
        message = _("%(level)s: %(a)s + %(b)s. %(conduct)s") % {
            "level": found.level_label,
            "a": found.protagonist_a,
            "b": found.protagonist_b,
            "conduct": found.conduct[:400],
        }
        if with_current:
            message += " " + _("(with a drug of a current prescription)")
        contraindication = found.level == Interaction.Level.CI
        findings.append(
            Finding(
                "interaction",
                BLOCKING if contraindication else WARNING,
                message,
                sorted(set(ours)),
                code,
                overridable=contraindication,
            )
        )
    return findings


def _duplicates(lines: list[PrescriptionLine]) -> list[Finding]:
    cis_codes = [_cis(line) for line in lines if line.kind == PrescriptionLine.Kind.PRODUCT and _cis(line)]
    substances = bdpm.substances_of(cis_codes)
    seen: dict[str, int] = {}
    findings = []
    for number, line in enumerate(lines, start=1):
        if line.kind == PrescriptionLine.Kind.FREE:
            continue
        codes = (
            {line.content["substance_code"]}
            if line.kind == PrescriptionLine.Kind.SUBSTANCE
            else substances.get(_cis(line), set())
        )
        for code in codes:
            if code in seen:
                findings.append(
                    Finding(
                        "duplicate",
                        WARNING,
                        _("The same substance is on two lines (%(a)d and %(b)d).") % {"a": seen[code], "b": number},
                        [seen[code], number],
                    )
                )
            else:
                seen[code] = number
    return findings


def _conditions(prescription: Prescription, lines: list[PrescriptionLine]) -> list[Finding]:
    in_hospital = prescription.structure is not None and prescription.structure.kind == Structure.Kind.HOPITAL
    findings = []
    for number, line in enumerate(lines, start=1):
        if line.kind == PrescriptionLine.Kind.FREE:
            continue
        conditions = line.content.get("conditions", {})
        days = (line.content.get("posology") or {}).get("duration_days")
        label = line.content.get("label", "")
        if conditions.get("hospital_only") and not in_hospital:
            findings.append(
                Finding(
                    "hospital_only",
                    BLOCKING,
                    _("Line %(n)d: reserved for hospital prescription or use; it cannot be prescribed from here.")
                    % {"n": number},
                    [number],
                )
            )
        if conditions.get("initial_hospital"):
            findings.append(
                Finding(
                    "initial_hospital",
                    INFO,
                    _("Line %(n)d: needs an initial hospital prescription (renewal only).") % {"n": number},
                    [number],
                )
            )
        limit = conditions.get("max_days")
        if limit and (not days or days > limit):
            findings.append(
                Finding(
                    "max_duration",
                    BLOCKING,
                    _("Line %(n)d: give a duration of at most %(days)d days for %(label)s.")
                    % {"n": number, "days": limit, "label": label},
                    [number],
                )
            )
        if conditions.get("stupefiant"):
            if line.renewals:
                findings.append(
                    Finding(
                        "stupefiant_renewal",
                        BLOCKING,
                        _("Line %(n)d: a narcotic (stupéfiant) cannot be renewed.") % {"n": number},
                        [number],
                    )
                )
            findings.append(
                Finding(
                    "stupefiant",
                    INFO,
                    _("Line %(n)d: narcotic: quantities printed in words, secure prescription.") % {"n": number},
                    [number],
                )
            )
        if conditions.get("exception"):
            findings.append(
                Finding(
                    "exception",
                    WARNING,
                    _("Line %(n)d: médicament d'exception: the special form is also needed.") % {"n": number},
                    [number],
                )
            )
        if conditions.get("liste_i") and line.renewals:
            findings.append(
                Finding(
                    "liste_i",
                    INFO,
                    _("Line %(n)d: list I: renewal written explicitly (%(r)d).") % {"n": number, "r": line.renewals},
                    [number],
                )
            )
    return findings


def check(prescription: Prescription) -> list[Finding]:
    """Every finding about ``prescription`` as it stands (reads only)."""
    lines = list(prescription.lines.all())
    for line in lines:
        line.patient = prescription.patient
    if not lines:
        return [Finding("empty", BLOCKING, str(_("Add at least one line before signing.")))]
    findings = _interactions(lines, active_cis_of_patient(prescription))
    findings += _duplicates(lines)
    findings += _conditions(prescription, lines)
    return findings


def blocking(findings: list[Finding], *, overridden: bool) -> list[Finding]:
    return [f for f in findings if f.level == BLOCKING and not (f.overridable and overridden)]
