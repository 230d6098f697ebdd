"""Previews of uploaded files (messaging's attachments, the record's documents), made by Cordée
itself from the decrypted bytes. In the kernel because several apps show files.

- Images (PNG, JPEG, GIF, WebP): decoded by Pillow within a pixel budget and re-encoded as a
  small PNG or JPEG: what the browser shows is always our own encoding, never the uploaded bytes
  (no metadata such as GPS position, no crafted image reaching the browser's decoders).
- PDF: the first page rendered by PDFium (pypdfium2, the engine of Chromium's PDF viewer) into a
  PNG of the same size. PDFium is not thread-safe: renders are serialised by a lock.

A file that cannot be decoded simply gets no preview (the download still works). ``inspect``
says why (an encrypted PDF, a damaged one, an image past the pixel budget) for an app that
refuses such files or tells its users.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from cordee.lib.sniff import IMAGE_TYPES

logger = logging.getLogger(__name__)

MAX_SIDE = 480  # px: the preview fits in a MAX_SIDE × MAX_SIDE box
MAX_PIXELS = 40_000_000  # larger images (decompression bombs among them) get no preview
MAX_SOURCE_BYTES = 30 * 1024 * 1024
_pdfium_lock = threading.Lock()


def _encode(image: Image.Image) -> bytes:
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P"):
        image.convert("RGBA").save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=82)
    return out.getvalue()


def image_preview(data: bytes) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced size
                image.load()
                return _encode(image)
    except Exception:  # any undecodable image: no preview
        logger.info("previews: no preview for an image that Pillow could not decode")
        return None


def pdf_preview(data: bytes, page_index: int = 0) -> bytes | None:
    import pypdfium2

    try:
        with _pdfium_lock:
            pdf = pypdfium2.PdfDocument(data)
            try:
                if len(pdf) <= page_index:
                    return None
                page = pdf[page_index]
                width, height = page.get_size()
                scale = min(MAX_SIDE / max(width, 1), MAX_SIDE / max(height, 1), 2.0)
                bitmap = page.render(scale=scale)
                image = bitmap.to_pil()
                page.close()
            finally:
                pdf.close()
        return _encode(image)
    except Exception:  # encrypted, damaged or hostile PDF: no preview
        logger.info("previews: no preview for a PDF that PDFium could not render")
        return None


def make_preview(content_type: str, data: bytes) -> tuple[str, bytes] | None:
    """(kind, PNG or JPEG bytes) for an image or a PDF; None otherwise."""
    if len(data) > MAX_SOURCE_BYTES:
        return None
    if content_type in IMAGE_TYPES:
        preview = image_preview(data)
        return ("image", preview) if preview else None
    if content_type == "application/pdf":
        preview = pdf_preview(data)
        return ("pdf", preview) if preview else None
    return None


Verdict = Literal["ok", "encrypted", "damaged", "too_large"]


@dataclass(frozen=True)
class Inspection:
    """What a file gives: ``verdict`` and, when "ok", the preview (PNG or JPEG) and its kind."""

    verdict: Verdict
    kind: str = ""
    preview: bytes | None = None
    pages: int = 0


def _pdf_pages(data: bytes) -> tuple[Verdict, int]:
    import pypdfium2

    try:
        with _pdfium_lock:
            pdf = pypdfium2.PdfDocument(data)
            try:
                return "ok", len(pdf)
            finally:
                pdf.close()
    except pypdfium2.PdfiumError as exc:
        password = getattr(exc, "err_code", None) == pypdfium2.raw.FPDF_ERR_PASSWORD
        return ("encrypted" if password else "damaged"), 0
    except Exception:  # a hostile file may make PDFium fail in other ways
        return "damaged", 0


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.width, image.height
    except Image.DecompressionBombError:  # past twice Pillow's own budget: refused at open
        return MAX_PIXELS + 1, 1
    except Exception:  # not an image Pillow reads (its header alone is read here)
        return None


def inspect(content_type: str, data: bytes) -> Inspection:
    """Whether an image or a PDF can be shown, and its preview: "encrypted" (a PDF with a
    password), "damaged" (does not decode), "too_large" (past ``MAX_PIXELS`` or ``MAX_SOURCE_BYTES``:
    decompression bombs among them). Other types are "ok" without a preview."""
    if len(data) > MAX_SOURCE_BYTES:
        return Inspection("too_large")
    if content_type in IMAGE_TYPES:
        size = _image_size(data)
        if size is None:
            return Inspection("damaged")
        if size[0] * size[1] > MAX_PIXELS:
            return Inspection("too_large")
        preview = image_preview(data)
        return Inspection("ok", "image", preview, 1) if preview else Inspection("damaged")
    if content_type == "application/pdf":
        verdict, pages = _pdf_pages(data)
        if verdict != "ok":
            return Inspection(verdict)
        preview = pdf_preview(data) if pages else None
        return Inspection("ok", "pdf" if preview else "", preview, pages)
    return Inspection("ok")
