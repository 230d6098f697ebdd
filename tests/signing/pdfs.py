"""One-page A4 PDFs for the signing tests (reportlab), optionally with a QR code drawn on them."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas


def one_page(text: str = "Ordonnance de test", *, qr_png: bytes | None = None, qr_size_mm: float = 30) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
    page.setFont("Helvetica", 12)
    page.drawString(20 * mm, 270 * mm, text)
    page.drawString(20 * mm, 260 * mm, "Paracétamol 1 g, 1 comprimé 3 fois par jour pendant 5 jours")
    if qr_png is not None:
        page.drawImage(ImageReader(io.BytesIO(qr_png)), 160 * mm, 20 * mm, qr_size_mm * mm, qr_size_mm * mm)
    page.showPage()
    page.save()
    return buffer.getvalue()
