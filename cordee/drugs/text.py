"""Text helpers shared by the importers and the search: folding, HTML, numbers and dates.

The BDPM fields are plain text except where ANSM pasted HTML (``<br>`` in the reimbursement
indications and HAS opinions, ``<sup>`` in two names, stray ``<p>`` in compositions, an
``&RSQUO;`` entity in upper case, ``<a href>`` in the safety information). A bare ``<`` is also
common in medical text (``< 20 kg``, ``<0,0001``) and is *not* a tag: only ``<`` followed by a
letter or ``/`` starts one.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b([^<>]*)>")
_ENTITY = re.compile(r"&(#?[A-Za-z0-9]+);")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_HREF = re.compile(r"""href\s*=\s*(['"])(https?://[^'"<>\s]+)\1""", re.IGNORECASE)
_SUPERSCRIPTS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_BLOCK_TAGS = {"br", "p", "div", "li", "tr"}


def fold(text: str) -> str:
    """Lower case, without accents or ligatures, every run of non-alphanumerics one space."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALNUM.sub(" ", letters.casefold()).strip()


def _unescape_entity(match: re.Match[str]) -> str:
    raw = match.group(0)
    decoded = html.unescape(raw)
    if decoded == raw:  # ``&RSQUO;``: entity names are case-sensitive, ANSM's are not
        decoded = html.unescape(raw.lower())
    return decoded


def clean_html(text: str) -> str:
    """Safe display text: tags removed (``<br>``/``<p>`` become line breaks, ``<sup>6</sup>``
    becomes ``⁶``), entities decoded, spaces tidied. The result is plain text, to be escaped
    by the template as any other text."""
    if "<" not in text and "&" not in text:
        return text.strip()

    def superscript(match: re.Match[str]) -> str:
        inner = match.group(1)
        converted = inner.translate(_SUPERSCRIPTS)
        return converted if all(c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻" for c in converted) else f"^{inner}"

    text = re.sub(r"<sup>([^<>]{1,12})</sup>", superscript, text, flags=re.IGNORECASE)

    def tag(match: re.Match[str]) -> str:
        return "\n" if match.group(2).lower() in _BLOCK_TAGS else ""

    text = _TAG.sub(tag, text)
    text = _ENTITY.sub(_unescape_entity, text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def first_link(text: str) -> str:
    """The first http(s) ``href`` of an HTML fragment, or ``""``."""
    match = _HREF.search(text)
    return match.group(2) if match else ""


def parse_decimal(text: str) -> Decimal | None:
    """A BDPM amount: ``24,34``; thousands also with a comma (``1,234,56``); ``""`` is None.

    Raises ValueError for anything else."""
    value = text.strip().replace("\u00a0", "").replace(" ", "")
    if not value:
        return None
    if "," in value:
        whole, _, cents = value.rpartition(",")
        value = whole.replace(",", "").replace(".", "") + "." + cents
    if not re.fullmatch(r"\d+(\.\d+)?", value):
        raise ValueError(text)
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern above already refuses junk
        raise ValueError(text) from None


def parse_date(text: str) -> dt.date | None:
    """A date in one of the three BDPM formats: ``dd/mm/yyyy`` (most files), ``yyyymmdd`` (HAS
    opinions) or ``yyyy-mm-dd`` (safety information). ``""`` is None; anything else ValueError."""
    value = text.strip()
    if not value:
        return None
    for pattern, fmt in (
        (r"\d{2}/\d{2}/\d{4}", "%d/%m/%Y"),
        (r"\d{8}", "%Y%m%d"),
        (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
    ):
        if re.fullmatch(pattern, value):
            return dt.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no time
    raise ValueError(text)
