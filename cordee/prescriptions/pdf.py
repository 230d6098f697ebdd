"""The prescription as an A4 French PDF (ReportLab, docs/decisions/0002) with its QR code.

Every mention of CSP R.5132-3: the prescriber's name, profession, specialty, RPPS, structure
(address and telephone when known), the date, the patient's names, sex, birth date and weight when
given, each line (its posology in a sentence, the quantity, renewals, non-substitution with its
reason), and the signature (PAdES, applied afterwards by ``cordee.signing``; its mention here).
A bizone prescription (ALD) prints the ALD lines in the upper zone, the others below. A
stupéfiant's quantities are also written in words. Strings are escaped before ReportLab's markup.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cordee.prescriptions import posology, signatures
from cordee.prescriptions.models import Prescription, PrescriptionLine

_FONT, _BOLD = "CordeeVera", "CordeeVeraBold"
SEX = {"F": "Femme", "M": "Homme", "I": "Indéterminé"}
BORN = {"F": "née", "M": "né"}


def _fonts() -> None:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(_BOLD, "VeraBd.ttf"))


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def line_text(line: PrescriptionLine) -> tuple[str, str]:
    """(title, details) of a line as printed."""
    content = line.content
    if line.kind == PrescriptionLine.Kind.FREE:
        return content.get("text", ""), ""
    label = content.get("label", "")
    title = f"{label} (DCI)" if line.kind == PrescriptionLine.Kind.SUBSTANCE else label
    words = bool(content.get("conditions", {}).get("stupefiant"))
    details = [posology.sentence(content.get("posology") or {}, words=words)]
    quantity = f"Quantité : {line.quantity} boîte{'s' if line.quantity > 1 else ''}"
    if words:
        quantity += f" ({posology.in_words(line.quantity)})"
    details.append(quantity)
    if line.renewals:
        details.append(f"À renouveler {line.renewals} fois")
    if content.get("non_substituable"):
        details.append(f"Non substituable ({content['non_substituable']})")
    return title, " — ".join(d for d in details if d)


def qr_image(text: str, size_mm: float = 42) -> Image:
    return Image(io.BytesIO(signatures.qr_png(text)), width=size_mm * mm, height=size_mm * mm)


class _Rule(Flowable):
    def __init__(self, width: float, label: str) -> None:
        super().__init__()
        self.width, self.label, self.height = width, label, 5 * mm

    def draw(self) -> None:
        self.canv.setStrokeColor(colors.grey)
        self.canv.line(0, 2 * mm, self.width, 2 * mm)
        self.canv.setFont(_FONT, 7.5)
        self.canv.drawString(0, 3 * mm, self.label)


def render(prescription: Prescription, *, qr_text: str, signed_on: Any) -> bytes:
    """The PDF bytes (unsigned) of a prescription about to be signed."""
    _fonts()
    title = ParagraphStyle("t", fontName=_BOLD, fontSize=14, leading=18)
    body = ParagraphStyle("b", fontName=_FONT, fontSize=9.5, leading=12.5)
    bold = ParagraphStyle("bb", parent=body, fontName=_BOLD)
    small = ParagraphStyle("s", parent=body, fontSize=8, leading=10, textColor=colors.HexColor("#333333"))
    who = prescription.prescriber_display
    pro = getattr(prescription.prescriber, "professional", None)
    structure = prescription.structure
    patient = prescription.patient
    width = A4[0] - 36 * mm
    left = [
        _p(who.get("name", ""), bold),
        _p(pro.profession_label if pro else who.get("role", ""), body),
        _p(pro.specialty if pro and pro.specialty else "", body),
        _p(f"RPPS {who.get('rpps', '')}", body),
        _p(structure.name if structure else "", body),
    ]
    if structure is not None:
        left += [_p(part, body) for part in structure.address_lines]
        if structure.telephone:
            left.append(_p(f"Tél. {structure.telephone}", body))
    birth = patient.birth_date.strftime("%d/%m/%Y") if patient.birth_date else ""
    given = patient.used_given_name or patient.birth_given_names
    names = f"{given} {patient.used_name or patient.birth_name}"
    if patient.used_name and patient.used_name != patient.birth_name:
        names += f" (née {patient.birth_name})" if patient.sex == "F" else f" (né {patient.birth_name})"
    right = [
        _p(f"Le {signed_on.strftime('%d/%m/%Y')}", body),
        _p(names, bold),
        _p(f"{SEX.get(patient.sex, '')}, {BORN.get(patient.sex, 'né·e')} le {birth}", body),
    ]
    if prescription.weight_kg:
        right.append(_p(f"Poids : {str(prescription.weight_kg).replace('.', ',')} kg", body))
    story: list[Any] = [
        Table([[left, right]], colWidths=[width * 0.55, width * 0.45], style=[("VALIGN", (0, 0), (-1, -1), "TOP")]),
        Spacer(1, 6 * mm),
        _p("ORDONNANCE", title),
        _p(f"N° {prescription.number}", small),
        Spacer(1, 4 * mm),
    ]
    lines = list(prescription.lines.all())
    for line in lines:
        line.patient = patient
    zones: list[tuple[str | None, list[PrescriptionLine]]] = [(None, lines)]
    if prescription.bizone:
        ald = [x for x in lines if x.content.get("ald")]
        other = [x for x in lines if not x.content.get("ald")]
        zones = [
            ("Prescriptions relatives au traitement de l'affection de longue durée reconnue (ALD)", ald),
            ("Prescriptions SANS RAPPORT avec l'affection de longue durée", other),
        ]
    number = 0
    for label, zone in zones:
        if label:
            story += [_Rule(width, label), Spacer(1, 2 * mm)]
        for line in zone:
            number += 1
            head, details = line_text(line)
            story.append(_p(f"{number}. {head}", bold))
            if details:
                story.append(_p(details, body))
            story.append(Spacer(1, 3 * mm))
        if label:
            story.append(Spacer(1, 4 * mm))
    signature = [
        _p("Signé électroniquement (PAdES) par le prescripteur", small),
        _p(f"{who.get('name', '')} — RPPS {who.get('rpps', '')}", small),
        _p("Le QR code contient l'ordonnance signée (vérifiable hors ligne).", small),
    ]
    story += [
        Spacer(1, 8 * mm),
        Table(
            [[qr_image(qr_text), signature]],
            colWidths=[48 * mm, width - 48 * mm],
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]),
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Ordonnance {prescription.number}",
        author=who.get("name", ""),
        lang="fr-FR",
    )
    doc.build(story)
    return buffer.getvalue()
