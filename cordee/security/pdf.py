"""ReportLab helpers of the security app's documents, as ``care/pdf.py``: the Vera fonts shipped
inside ReportLab (French accents whatever the server has), every string escaped."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

FONT, BOLD = "CordeeVera", "CordeeVeraBold"  # the names care/pdf.py registers too


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle


def styles() -> Styles:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(BOLD, "VeraBd.ttf"))
    return Styles(
        title=ParagraphStyle("title", fontName=BOLD, fontSize=15, leading=19, spaceAfter=4 * mm),
        heading=ParagraphStyle(
            "heading", fontName=BOLD, fontSize=11, leading=14, spaceBefore=3 * mm, spaceAfter=1 * mm
        ),
        body=ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13.5, spaceAfter=1.5 * mm),
        cell=ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10),
    )


def p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def build(story: list[Any], *, title: str, pagesize: tuple[float, float] = A4) -> bytes:
    buffer = io.BytesIO()
    margin = 15 * mm
    document = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author="Cordée",
    )
    document.build(story)
    return buffer.getvalue()
