"""Citations and exports of articles: Vancouver (ICMJE/NLM) style, RIS and BibTeX.

Plain text only (``Article.title``, never its markup). Vancouver lists up to six authors, then
"et al." (NLM's rule), ends with the PMID and DOI as PubMed's own "cite" does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cordee.library.models import Article
from cordee.library.query import fold

MONTH_ABBR = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _authors(article: Article, limit: int = 6) -> str:
    names = [a.get("name", "") for a in article.authors if a.get("name")]
    if not names:
        return ""
    shown = ", ".join(names[:limit])
    return shown + (", et al" if len(names) > limit else "") + ". "


def vancouver(article: Article) -> str:
    title = article.title.strip() or "[No title]"
    if not title.endswith((".", "?", "!")):
        title += "."
    journal = article.journal_abbrev or article.journal
    date = article.date_text or (str(article.year) if article.year else "")
    where = f"{journal}. {date}" if journal else date
    place = ""
    if article.volume:
        place += article.volume
    if article.issue:
        place += f"({article.issue})"
    if article.pages:
        place += f":{article.pages}"
    text = f"{_authors(article)}{title} {where}" + (f";{place}" if place else "") + "."
    if article.doi:
        text += f" doi:{article.doi}."
    return f"{text} PMID: {article.pmid}."


def _clean(value: str) -> str:
    return " ".join(str(value).replace("\r", " ").replace("\n", " ").split())


def ris(articles: Iterable[Article]) -> str:
    lines: list[str] = []
    for article in articles:
        kind = "JOUR"
        lines.append(f"TY  - {kind}")
        for author in article.authors:
            if author.get("collective"):
                lines.append(f"AU  - {_clean(author['name'])}")
            elif author.get("last"):
                lines.append(
                    f"AU  - {_clean(author['last'])}, {_clean(author.get('fore') or author.get('initials', ''))}"
                )
        lines.append(f"TI  - {_clean(article.title)}")
        for tag, value in (
            ("JO", article.journal), ("J2", article.journal_abbrev), ("PY", article.year or ""),
            ("VL", article.volume), ("IS", article.issue), ("SP", article.pages), ("DO", article.doi),
            ("LA", article.language),
        ):  # fmt: skip
            if value:
                lines.append(f"{tag}  - {_clean(str(value))}")
        if article.abstract_text:
            lines.append(f"AB  - {_clean(article.abstract_text)}")
        for heading in article.mesh:
            lines.append(f"KW  - {_clean(heading.get('descriptor', ''))}")
        lines.append(f"AN  - PMID:{article.pmid}")
        lines.append(f"UR  - {article.pubmed_url}")
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)


_BIB_SPECIAL = re.compile(r"([\\{}&%$#_^~])")


def _bib(value: str) -> str:
    """A BibTeX field value: braces and TeX specials escaped, so a title cannot break the entry."""
    escaped = _BIB_SPECIAL.sub(lambda m: "\\" + m.group(1) if m.group(1) not in "\\^~" else " ", _clean(value))
    return escaped


def bibtex(articles: Iterable[Article]) -> str:
    entries = []
    for article in articles:
        first = article.authors[0].get("last") or article.authors[0].get("name", "") if article.authors else "pmid"
        key = re.sub(r"[^a-z0-9]", "", fold(first))[:20] or "pmid"
        fields = [("author", " and ".join(_bib_author(a) for a in article.authors if a.get("name")))]
        fields += [
            ("title", article.title), ("journal", article.journal or article.journal_abbrev),
            ("year", str(article.year or "")), ("volume", article.volume), ("number", article.issue),
            ("pages", article.pages.replace("-", "--")), ("doi", article.doi), ("pmid", str(article.pmid)),
        ]  # fmt: skip
        body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in fields if value)
        entries.append(f"@article{{{key}{article.year or ''}pmid{article.pmid},\n{body}\n}}\n")
    return "\n".join(entries)


def _bib_author(author: dict) -> str:
    if author.get("collective") or not author.get("last"):
        return "{" + author.get("name", "") + "}"
    return f"{author['last']}, {author.get('fore') or author.get('initials', '')}"


def month_label(article: Article) -> str:
    return MONTH_ABBR[article.month] if article.month and 1 <= article.month <= 12 else ""
