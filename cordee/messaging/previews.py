"""Previews of attachments, made by Cordée itself from the decrypted bytes.

- Images (PNG, JPEG, GIF, WebP): decoded by Pillow within a pixel budget and re-encoded as a
  small PNG or JPEG: what the browser shows is always our own encoding, never the uploaded bytes
  (no metadata such as GPS position, no crafted image reaching the browser's decoders).
- PDF: the first page rendered by PDFium (pypdfium2, the engine of Chromium's PDF viewer) into a
  PNG of the same size. PDFium is not thread-safe: renders are serialised by a lock.

A file that cannot be decoded simply gets no preview (the download still works).
"""

from __future__ import annotations

import io
import logging
import threading
import warnings

from PIL import Image

from cordee.messaging.sniff import IMAGE_TYPES

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
        logger.info("messaging: no preview for an image that Pillow could not decode")
        return None


def pdf_preview(data: bytes) -> bytes | None:
    import pypdfium2

    try:
        with _pdfium_lock:
            pdf = pypdfium2.PdfDocument(data)
            try:
                if len(pdf) == 0:
                    return None
                page = pdf[0]
                width, height = page.get_size()
                scale = min(MAX_SIDE / max(width, 1), MAX_SIDE / max(height, 1), 2.0)
                bitmap = page.render(scale=scale)
                image = bitmap.to_pil()
                page.close()
            finally:
                pdf.close()
        return _encode(image)
    except Exception:  # encrypted, damaged or hostile PDF: no preview
        logger.info("messaging: no preview for a PDF that PDFium could not render")
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
