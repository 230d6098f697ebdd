"""A patient's whole record as a ZIP: each document's current version and a PDF index.

For the patient (her right of access: the documents she sees) and for a professional taking over
her care (every document, those entered in error marked so in the index). The archive is written
to a temporary file (files decrypted one after the other, 1 MiB at a time), then streamed from it
by ``SpooledStream``: an *asynchronous* iterator, each 1 MiB read in a worker thread (Django's ASGI
handler reads a synchronous iterator, such as ``FileResponse``'s, whole into memory before sending
it). The temporary file has no name (``tempfile.TemporaryFile``): closing it removes it, at the end
of the answer, when the client goes away mid-way, or when the answer is closed unread.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import AsyncIterator
from typing import IO
from xml.sax.saxutils import escape

from asgiref.sync import sync_to_async
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, TableStyle

from cordee.accounts.models import Patient
from cordee.care.access import Basis
from cordee.care.pdf import _BOLD, _FONT, _fonts
from cordee.documents.access import documents_of
from cordee.documents.models import Document, DocumentVersion
from cordee.vault.blobs import CHUNK, open_blob

_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "text/plain": "txt",
}


def _safe(text: str) -> str:
    cleaned = re.sub(r"[^\w\- ]+", "", text, flags=re.UNICODE).strip().replace(" ", "_")
    return cleaned[:60] or "document"


def entries(patient: Patient, basis: Basis) -> list[tuple[Document, DocumentVersion, str]]:
    """(document, current version, name in the archive), oldest act first."""
    documents = list(documents_of(patient, basis).order_by("act_date", "pk"))
    versions = {
        v.document_id: v
        for v in DocumentVersion.objects.filter(document__in=documents).select_related("blob").order_by("number")
    }
    rows = []
    for n, document in enumerate(documents, start=1):
        document.patient = patient
        version = versions[document.pk]
        extension = _EXTENSIONS.get(version.content_type, "bin")
        name = f"{n:04d}_{document.act_date.isoformat()}_{_safe(document.title)}_v{version.number}.{extension}"
        rows.append((document, version, name))
    return rows


def index_pdf(patient: Patient, rows: list[tuple[Document, DocumentVersion, str]]) -> bytes:
    _fonts()
    title = ParagraphStyle("title", fontName=_BOLD, fontSize=15, leading=19, spaceAfter=4 * mm)
    cell = ParagraphStyle("cell", fontName=_FONT, fontSize=8, leading=10)

    def p(text: str) -> Paragraph:
        return Paragraph(escape(text), cell)

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, title=_("Record index"))
    name = f"{patient.birth_name} {patient.birth_given_names}"
    header = [p(_("Date")), p(_("Type")), p(_("Title")), p(_("Author")), p(_("Version")), p(_("File"))]
    table = [header]
    for document, version, filename in rows:
        author = (
            _("provided by the patient") if document.provided_by_patient else document.author_display.get("name", "")
        )
        label = document.title + (f" — {_('entered in error')}" if document.in_error else "")
        table.append(
            [
                p(formats.date_format(document.act_date, "SHORT_DATE_FORMAT")),
                p(document.get_doc_type_display()),
                p(label),
                p(author),
                p(f"v{version.number}"),
                p(filename),
            ]
        )
    grid = LongTable(table, colWidths=[20 * mm, 30 * mm, 45 * mm, 30 * mm, 12 * mm, 45 * mm], repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e8ea")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    made = formats.date_format(timezone.localtime(), "SHORT_DATETIME_FORMAT")
    story = [
        Paragraph(escape(_("Record of %(name)s") % {"name": name}), title),
        Paragraph(escape(_("Exported from Cordée on %(date)s.") % {"date": made}), cell),
        grid,
    ]
    doc.build(story)
    return out.getvalue()


def write_zip(patient: Patient, basis: Basis) -> tuple[IO[bytes], int, int]:
    """The archive in a temporary file (rewound), its size, and how many documents it holds."""
    rows = entries(patient, basis)
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the streaming response)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.pdf", index_pdf(patient, rows))
        for _document, version, name in rows:
            with open_blob(version.blob) as clear, archive.open(f"documents/{name}", "w") as target:
                while chunk := clear.read(CHUNK):
                    target.write(chunk)
    size = spool.tell()
    spool.seek(0)
    return spool, size, len(rows)


class SpooledStream:
    """The bytes of a rewound temporary file for a ``StreamingHttpResponse``, ``CHUNK`` at a time,
    each read in a worker thread; the file is closed (so removed) once read, or by ``close()``,
    which the response calls when it is closed (``StreamingHttpResponse`` registers it)."""

    def __init__(self, spool: IO[bytes], chunk_size: int = CHUNK) -> None:
        self.spool = spool
        self.chunk_size = chunk_size

    def close(self) -> None:
        self.spool.close()  # idempotent

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        read = sync_to_async(self.spool.read, thread_sensitive=False)
        try:
            while chunk := await read(self.chunk_size):
                yield chunk
        finally:
            await sync_to_async(self.close, thread_sensitive=False)()
