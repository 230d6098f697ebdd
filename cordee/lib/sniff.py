"""What a file is, from its first bytes; the client's word (name, Content-Type) is never trusted.

Only a short list of types is ever served under their own type: images Pillow re-encodes, PDF,
DICOM and plain text. Everything else, HTML and SVG included, is ``application/octet-stream``
(or ``text/plain`` when it is readable text), and every download is ``Content-Disposition:
attachment`` with ``nosniff``: nothing uploaded is ever rendered as a page by the browser.
"""

from __future__ import annotations

HEAD_BYTES = 4096

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (128, b"DICM", "application/dicom"),
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def sniff(head: bytes) -> str:
    """The content type of a file whose first bytes (up to ``HEAD_BYTES``) are ``head``."""
    for offset, magic, content_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "text/plain" if _is_text(head) else "application/octet-stream"
