"""Safe inline markup: escaped text where only a few formatting tags remain.

PubMed titles and abstracts carry ``<i>``, ``<b>``, ``<u>``, ``<sup>``, ``<sub>`` (and MathML, whose
text is kept). The parsers build safe markup from the XML tree; ``render`` checks any stored value
again before it is marked safe for a template, so a tampered row cannot inject HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

ALLOWED = ("i", "b", "u", "sup", "sub")
_TOKEN = re.compile(r"<(/?)(i|b|u|sup|sub)>|&(?:lt|gt|amp|quot|#x27|#39);")


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def from_element(element: Any, *, skip_tail: bool = True) -> str:
    """The safe markup of an element's content (its own tag excluded)."""
    parts: list[str] = []
    _walk(element, parts, top=True)
    return " ".join("".join(parts).split())


def _walk(element: Any, parts: list[str], *, top: bool) -> None:
    tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
    keep = not top and tag in ALLOWED
    if keep:
        parts.append(f"<{tag}>")
    if element.text:
        parts.append(escape(element.text))
    for child in element:
        _walk(child, parts, top=False)
    if keep:
        parts.append(f"</{tag}>")
    if not top and element.tail:
        parts.append(escape(element.tail))


def render(markup: str) -> str:
    """Markup re-checked: allowed tags balanced, every other ``<``/``&`` escaped."""
    out: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _TOKEN.finditer(markup):
        out.append(escape(html.unescape(markup[position : match.start()])))
        position = match.end()
        closing, tag = match.group(1), match.group(2)
        if tag is None:  # a known entity: kept as is
            out.append(match.group(0))
        elif not closing:
            open_tags.append(tag)
            out.append(f"<{tag}>")
        elif open_tags and open_tags[-1] == tag:
            open_tags.pop()
            out.append(f"</{tag}>")
    out.append(escape(html.unescape(markup[position:])))
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


def to_text(markup: str) -> str:
    """The plain text of safe markup (for search, citations and exports)."""
    return html.unescape(re.sub(r"</?(?:i|b|u|sup|sub)>", "", markup))
