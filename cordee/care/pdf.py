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
from django.utils.translation import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from cordee.accounts.models import Patient
from cordee.care.history import AccessRow, Filters

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


def when(row: AccessRow) -> str:
    """When: "14/07/2026, 09:12", or for a group of accesses "14/07/2026, 09:12 – 17:40, 5 times"."""
    last = timezone.localtime(row.at)
    text = formats.date_format(last, "SHORT_DATETIME_FORMAT")
    if row.count > 1:
        first = formats.time_format(timezone.localtime(row.first_at), "TIME_FORMAT")
        text = (
            formats.date_format(last, "SHORT_DATE_FORMAT") + f", {first} – " + formats.time_format(last, "TIME_FORMAT")
        )
        text += ", " + ngettext("%(n)s time", "%(n)s times", row.count) % {"n": row.count}
    return text


def what(row: AccessRow) -> str:
    text = row.purpose
    if row.break_glass:
        text += " — " + _("break-the-glass")
        if row.reason:
            text += " — " + _("reason given: %(reason)s") % {"reason": row.reason}
    return text


def _table(rows: list[AccessRow], cell: ParagraphStyle) -> LongTable:
    header = [_("Date"), _("Who"), _("Structure"), _("What and why")]
    data = [[_p(text, cell) for text in header]]
    for row in rows:
        data.append([_p(text, cell) for text in (when(row), _who(row), row.structure or "—", what(row))])
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


def _period(filters: Filters) -> str:
    def day(value: dt.date | None) -> str:
        return formats.date_format(value, "SHORT_DATE_FORMAT") if value else "…"

    return _("Period: %(since)s to %(until)s") % {"since": day(filters.since), "until": day(filters.until)}


def access_history_pdf(
    patient: Patient, rows: list[AccessRow], *, generated_at: dt.datetime, filters: Filters | None = None
) -> bytes:
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
    ]
    if filters is not None and (filters.since or filters.until):
        story.append(_p(_period(filters), body))
    if filters is not None and filters.actor is not None:
        story.append(_p(_("Only the accesses of one person are listed."), body))
    story.append(_p(_("Repeated accesses of a person for the same purpose are grouped by day."), body))
    story.append(Spacer(1, 4 * mm))
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
