"""The access history as a PDF (ReportLab), for the patient to keep.

Text uses the Bitstream Vera fonts shipped inside ReportLab, embedded (subset) in the file, so
that French accents and the French typography (é, ç, œ, «, ») render whatever fonts the server
has. Every string is escaped before it reaches ReportLab's paragraph markup.
"""

from __future__ import annotations

import datetime as dt
import io
from xml.sax.saxutils import escape

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from cordee.accounts.models import Patient
from cordee.care.history import AccessRow

_FONT, _BOLD = "CordeeVera", "CordeeVeraBold"


def _fonts() -> None:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(_BOLD, "VeraBd.ttf"))


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    title = ParagraphStyle("title", fontName=_BOLD, fontSize=15, leading=19, spaceAfter=4 * mm)
    body = ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=12.5)
    cell = ParagraphStyle("cell", fontName=_FONT, fontSize=8.5, leading=10.5)
    return title, body, cell


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _who(row: AccessRow) -> str:
    parts = [row.name, row.profession, f"RPPS {row.rpps}" if row.rpps else ""]
    return " · ".join(part for part in parts if part)


def _table(rows: list[AccessRow], cell: ParagraphStyle) -> LongTable:
    header = [_("Date"), _("Who"), _("Structure"), _("What and why")]
    data = [[_p(text, cell) for text in header]]
    for row in rows:
        when = formats.date_format(timezone.localtime(row.at), "SHORT_DATETIME_FORMAT")
        purpose = row.purpose + (" — " + _("break-the-glass") if row.break_glass else "")
        data.append([_p(text, cell) for text in (when, _who(row), row.structure or "—", purpose)])
    table = LongTable(data, colWidths=[28 * mm, 55 * mm, 40 * mm, 57 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecee")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d3d6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def access_history_pdf(patient: Patient, rows: list[AccessRow], *, generated_at: dt.datetime) -> bytes:
    _fonts()
    title, body, cell = _styles()
    name = " ".join(part for part in (patient.birth_name, patient.birth_given_names) if part)
    born = formats.date_format(patient.birth_date, "SHORT_DATE_FORMAT") if patient.birth_date else ""
    story = [
        _p(_("Who accessed your data in Cordée"), title),
        _p(_("Patient: %(name)s, born on %(date)s") % {"name": name, "date": born}, body),
        _p(
            _("Produced on %(date)s. Your own actions are not listed.")
            % {"date": formats.date_format(timezone.localtime(generated_at), "SHORT_DATETIME_FORMAT")},
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    story.append(_table(rows, cell) if rows else _p(_("Nobody accessed your data yet."), body))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_("Access history"),
        author="Cordée",
    )
    document.build(story)
    return buffer.getvalue()
