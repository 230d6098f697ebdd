"""What people type into the library's search, read once for both databases.

The text is cut into *clauses*, all of which must match (AND): a word; a word ending in ``*`` (a
prefix: also the last word while it is being typed is not a prefix unless starred); a quoted
phrase; a clause starting with ``-`` must not match. Only letters and digits survive: every other
character (quotes left open, ``*`` inside a word, parentheses, ``NEAR``, ``OR``, ``:``, ``^``) is a
separator, so nothing the user types reaches the FTS5 or ``tsquery`` syntax as syntax; the
compilers (``search.py``) build it from clean words only. English stop words are dropped (as
PostgreSQL's ``english`` configuration does), so both databases see the same words. A French
word or phrase of the bridge (``bridge.py``) becomes an alternative: itself or its English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from cordee.library import bridge

MAX_QUERY_LENGTH = 500
MAX_CLAUSES = 12
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD = re.compile(r"[a-z0-9]+")
_OPERATORS = {"and", "or", "not", "near"}
# PostgreSQL's english stop words (snowball english.stop), so that SQLite drops the same.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these those
    am is are was were be been being have has had having do does did doing a an the and but if or because
    as until while of at by for with about against between into through during before after above below to
    from up down in out on off over under again further then once here there when where why how all any
    both each few more most other some such no nor not only own same so than too very s t can will just
    don should now""".split()
)


class QueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


@dataclass
class Clause:
    alternatives: list[list[str]]  # each a phrase (one word or more); any of them matches
    prefix: bool = False
    negated: bool = False


@dataclass
class Query:
    clauses: list[Clause] = field(default_factory=list)

    @property
    def positive(self) -> list[Clause]:
        return [c for c in self.clauses if not c.negated]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("œ", "oe").replace("æ", "ae")


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def parse(text: str) -> Query:
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError("too_long", f"max {MAX_QUERY_LENGTH}")
    query = Query()
    for match in _TOKEN.finditer(text):
        if match.group(2) is not None:  # a quoted phrase
            negated, words, prefix = match.group(1) == "-", _content(words_of(match.group(2))), False
            if words:
                query.clauses.append(Clause([words], negated=negated))
            continue
        negated, raw = match.group(3) == "-", match.group(4)
        prefix = raw.endswith("*") and len(raw.rstrip("*")) >= 2
        words = words_of(raw)
        if len(words) == 1 and words[0] in _OPERATORS and raw.isupper():
            continue  # "NEAR", "OR" typed as operators: ignored
        for index, word in enumerate(words):
            if word in STOP_WORDS and not prefix:
                continue
            is_prefix = prefix and index == len(words) - 1
            query.clauses.append(Clause([[word]], prefix=is_prefix, negated=negated))
    _bridge(query)
    if len(query.clauses) > MAX_CLAUSES:
        raise QueryError("too_many", f"max {MAX_CLAUSES}")
    return query


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOP_WORDS]


def _bridge(query: Query) -> None:
    """French phrases (two or three consecutive plain clauses) and words get their English alternative."""
    clauses = query.clauses
    index = 0
    out: list[Clause] = []
    while index < len(clauses):
        clause = clauses[index]
        merged = False
        for size in (4, 3, 2):
            window = clauses[index : index + size]
            if len(window) < size or any(c.negated or c.prefix or len(c.alternatives[0]) != 1 for c in window):
                continue
            words = [c.alternatives[0][0] for c in window]
            english = _phrase(words)
            if english is not None:
                out.append(Clause([words, english]))
                index += size
                merged = True
                break
        if merged:
            continue
        if not clause.prefix and len(clause.alternatives) == 1 and len(clause.alternatives[0]) == 1:
            translated = bridge.english_for(clause.alternatives[0][0])
            if translated:
                clause.alternatives.append(_content(translated.split()))
        out.append(clause)
        index += 1
    query.clauses = out


def _phrase(words: list[str]) -> list[str] | None:
    # The bridge's phrases may hold stop words of French ("du", "de", "la") and of English.
    for key, english in bridge.PHRASES.items():
        if _content(key.split()) == words:
            return _content(english.replace("-", " ").split())
    return None
