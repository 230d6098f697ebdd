"""Searching the BDPM: brand name, substance, CIS, CIP7 or CIP13, as typed.

Matching is on folded words (no case, no accents). Every query word must match a word of the
speciality's name or of one of its active substances, exactly or as a prefix (the words are
being typed); when that finds fewer results than asked for, words of four letters or more may
also match with a typo (one edit, two from eight letters; a transposition counts as one).

Ranking, best first, by tier; within a tier, commercialised products first, originals before
parallel imports and homeopathic stocks, then products whose every active substance the query
names before combinations ("amoxicilline": amoxicillin alone before amoxicillin with clavulanic
acid), then the index order (``search_index.rank_key``: reimbursed and oral forms first, then by
name with strengths compared as numbers):

0. a code typed in full (CIS, CIP7, CIP13); 1. a code prefix; 2. the name starts with the
query; 3. every word found whole in the name; 4. … whole, some in a substance; 5. every word
found in the name, some as prefixes; 6. … some in a substance; 7. some word found only with a
typo, and the name starts with the (corrected) first word; 8. … all in the name; 9. … some in a
substance. Hits of tiers 7 to 9 are *spelling guesses* (``Hit.guess``): another drug whose name
is close to what was typed ("clamoxyl" → LAROXYL), never mixed with the exact matches; names
of a known confusion pair found in the query or the results come with a warning (``lasa``).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from rapidfuzz import process
from rapidfuzz.distance import OSA

from cordee.drugs import lasa
from cordee.drugs.search_index import MAX_PREFIX_LENGTH, Doc, Index, get_index
from cordee.drugs.text import fold

MAX_QUERY_LENGTH = 200
MIN_TEXT_LENGTH = 2
MIN_CODE_LENGTH = 3
MAX_CODE_PREFIX_EXPANSION = 2000  # codes looked at for a code prefix ("34009" starts them all)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 1000  # "more results" goes this far
STATUSES = ("commercialised", "not_commercialised", "removed")
GENERIC_KINDS = ("princeps", "generic", "none")

(
    TIER_CODE, TIER_CODE_PREFIX, TIER_NAME_START, TIER_WORDS_IN_NAME, TIER_WORDS, TIER_PREFIXES_IN_NAME,
    TIER_PREFIXES, TIER_TYPO_NAME_START, TIER_TYPO_IN_NAME, TIER_TYPO,
) = range(10)  # fmt: skip
_DIGITS = re.compile(r"[\d\s]+")


class QueryError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Filters:
    route: str = ""
    form: str = ""
    status: str = ""  # one of STATUSES, or "" for all
    group: int | None = None  # a generic group id
    generic: str = ""  # one of GENERIC_KINDS, or ""

    def accept(self, doc: Doc) -> bool:
        if self.route and self.route not in doc.routes:
            return False
        if self.form and doc.form != self.form:
            return False
        if self.status and STATUSES[doc.status_rank] != self.status:
            return False
        if self.group is not None and self.group not in doc.groups:
            return False
        if self.generic == "princeps" and 0 not in doc.generic_types:
            return False
        if self.generic == "generic" and not any(t != 0 for t in doc.generic_types):
            return False
        return not (self.generic == "none" and doc.groups)

    def keep(self, index: Index, positions: set[int]) -> set[int]:
        if self == Filters():  # no filter: nothing to look at
            return positions
        return {p for p in positions if self.accept(index.docs[p])}


@dataclass(frozen=True)
class Hit:
    doc: Doc
    tier: int
    code_kind: str = ""  # "cis", "cip7", "cip13" for a code match
    code: str = ""
    presentation: str = ""  # the matched box, for a CIP

    @property
    def guess(self) -> bool:
        """Found only by tolerating a typo: maybe not the drug that was meant."""
        return self.tier >= TIER_TYPO_NAME_START


@dataclass
class Results:
    query: str
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    typos: bool = False  # typo-tolerant matching was used
    at_least: bool = False  # the total is a lower bound (a short code prefix)
    offset: int = 0  # the hits start at this rank ("more results")
    confusions: list[lasa.Confusion] = field(default_factory=list)

    @property
    def exact(self) -> list[Hit]:
        return [hit for hit in self.hits if not hit.guess]

    @property
    def guesses(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.guess]

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.hits)
        return following if following < self.total and self.hits else None


def check_query(query: str, *, group: int | None = None) -> str:
    """The query stripped; QueryError (with a message for people) when it cannot be searched."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError("too_long", _("The search is too long (at most %(n)s characters).") % {"n": MAX_QUERY_LENGTH})
    query = query.strip()
    if not query and group is None:
        raise QueryError("empty", _("Type a drug name, a substance, or a CIS, CIP7 or CIP13 code."))
    if query and _DIGITS.fullmatch(query):
        if len(re.sub(r"\s", "", query)) < MIN_CODE_LENGTH:
            raise QueryError("too_short", _("Type at least %(n)s digits of a code.") % {"n": MIN_CODE_LENGTH})
    elif query and len(fold(query).replace(" ", "")) < MIN_TEXT_LENGTH:
        raise QueryError("too_short", _("Type at least %(n)s letters.") % {"n": MIN_TEXT_LENGTH})
    return query


def search(query: str, filters: Filters | None = None, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Results:
    """The hits ranked ``offset`` to ``offset + limit`` (``offset`` at most ``MAX_OFFSET``)."""
    filters = filters or Filters()
    query = check_query(query, group=filters.group)  # before any database access
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, min(offset, MAX_OFFSET))
    index = get_index()
    if not query:
        results = _group_listing(index, query, filters, offset + limit)
    elif _DIGITS.fullmatch(query):
        results = _code_search(index, re.sub(r"\s", "", query), filters, offset + limit)
    else:
        results = _text_search(index, query, filters, offset + limit)
        results.confusions = lasa.confusions(query, [hit.doc.name for hit in results.hits])
    results.hits, results.offset = results.hits[offset:], offset
    return results


def _top(hits: dict[int, Hit], limit: int) -> list[Hit]:
    best = heapq.nsmallest(limit, hits.items(), key=lambda item: (item[1].tier, item[0]))
    return [hit for _position, hit in best]


def _group_listing(index: Index, query: str, filters: Filters, limit: int) -> Results:
    hits = {p: Hit(d, TIER_WORDS_IN_NAME) for p, d in enumerate(index.docs) if filters.accept(d)}
    return Results(query, len(hits), _top(hits, limit))


def _code_search(index: Index, code: str, filters: Filters, limit: int) -> Results:
    found: dict[int, tuple[int, str, str, str]] = {}  # doc -> (tier, kind, code, box), first match kept
    prefixed = index.codes_with_prefix(code)
    for tier, codes in ((TIER_CODE, [code]), (TIER_CODE_PREFIX, prefixed[:MAX_CODE_PREFIX_EXPANSION])):
        for other in codes:
            for position, kind, label in index.docs_for_code(other):
                if position not in found:
                    found[position] = (tier, kind, other, label)
    kept = filters.keep(index, set(found))
    best = heapq.nsmallest(limit, kept, key=lambda p: (found[p][0], p))
    hits = [Hit(index.docs[p], *found[p]) for p in best]
    return Results(code, len(kept), hits, at_least=len(prefixed) > MAX_CODE_PREFIX_EXPANSION)


def _fuzzy_prefixes(index: Index, word: str) -> list[str]:
    """Word prefixes within one edit of ``word`` (two from eight letters), of lengths around it."""
    distance = 1 if len(word) < 8 else 2
    found: list[str] = []
    for length in (len(word) - 1, len(word), len(word) + 1):
        choices = index.prefixes.get(min(length, MAX_PREFIX_LENGTH))
        if not choices or length < 3:
            continue
        matches = process.extract(word, choices, scorer=OSA.distance, score_cutoff=distance, limit=None)
        found.extend(prefix for prefix, _score, _i in matches)
    return found


def _intersect(sets: list[set[int] | frozenset[int]]) -> set[int]:
    ordered = sorted(sets, key=len)
    result = set(ordered[0])
    for other in ordered[1:]:
        result &= other
    return result


@dataclass
class _Word:
    """The docs matching one query word, by strength and by field (name, or name or substance)."""

    term: str
    whole: frozenset[int]
    whole_name: frozenset[int]
    prefix: set[int] | frozenset[int]
    prefix_name: set[int] | frozenset[int]
    typo: set[int] = field(default_factory=set)
    typo_name: set[int] = field(default_factory=set)
    typo_prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, index: Index, term: str, *, as_prefix: bool) -> _Word:
        whole, whole_name = index.docs_with_word(term), index.docs_with_word(term, names=True)
        if not as_prefix:
            return cls(term, whole, whole_name, whole, whole_name)
        return cls(term, whole, whole_name, index.docs_with_prefix(term), index.docs_with_prefix(term, names=True))

    def widen(self, index: Index) -> None:
        self.typo_prefixes = (self.term, *_fuzzy_prefixes(index, self.term))
        self.typo, self.typo_name = set(self.prefix), set(self.prefix_name)
        for prefix in self.typo_prefixes[1:]:
            self.typo |= index.docs_with_prefix(prefix)
            self.typo_name |= index.docs_with_prefix(prefix, names=True)


# (tier, attribute every word must satisfy), best first, after the name-start tier.
_TIERS = (
    (TIER_WORDS_IN_NAME, "whole_name"),
    (TIER_WORDS, "whole"),
    (TIER_PREFIXES_IN_NAME, "prefix_name"),
    (TIER_PREFIXES, "prefix"),
)


class _Ranking:
    """Takes the candidates tier by tier (set operations) and keeps only the first ``limit``
    hits; within a tier, products whose substances the query all names first, then index order."""

    def __init__(self, index: Index, candidates: set[int], limit: int, terms: list[str]) -> None:
        self.index, self.remaining, self.limit = index, set(candidates), limit
        self.terms = tuple(terms)
        self.hits: list[Hit] = []

    def _unnamed_substances(self, position: int) -> int:
        """How many of the product's substances no query word names (a combination ranks after)."""
        return sum(
            1 for words in self.index.docs[position].substance_words
            if not any(word.startswith(self.terms) for word in words)
        )  # fmt: skip

    def take(self, tier: int, group: set[int]) -> None:
        group &= self.remaining
        self.remaining -= group
        room = self.limit - len(self.hits)
        if room > 0 and group:
            docs = self.index.docs
            best = heapq.nsmallest(
                room, group, key=lambda p: (docs[p].status_rank, docs[p].kind, self._unnamed_substances(p), p)
            )
            self.hits.extend(Hit(self.index.docs[p], tier) for p in best)

    def starting_with(self, prefixes: tuple[str, ...]) -> set[int]:
        docs = self.index.docs
        return {p for p in self.remaining if docs[p].key.startswith(prefixes)}


def _rank(index: Index, candidates: set[int], words: list[_Word], limit: int) -> tuple[list[Hit], bool]:
    ranking = _Ranking(index, candidates, limit, [w.term for w in words])
    ranking.take(TIER_NAME_START, ranking.starting_with((" ".join(w.term for w in words),)))
    for tier, attribute in _TIERS:
        if ranking.remaining:
            ranking.take(tier, _intersect([getattr(w, attribute) for w in words]))
    typos = bool(ranking.remaining)
    if typos:
        in_name = _intersect([(w.typo_name or w.prefix_name) for w in words])
        first = words[0].typo_prefixes or (words[0].term,)
        ranking.take(TIER_TYPO_NAME_START, ranking.starting_with(first) & in_name)
        ranking.take(TIER_TYPO_IN_NAME, in_name)
        ranking.take(TIER_TYPO, set(ranking.remaining))
    return ranking.hits, typos


def _text_search(index: Index, query: str, filters: Filters, limit: int) -> Results:
    terms = list(dict.fromkeys(fold(query).split()))
    # A short word before the last one is a whole word ("a", "de"): as a prefix it would match everything.
    words = [_Word.of(index, t, as_prefix=len(t) > 2 or i == len(terms) - 1) for i, t in enumerate(terms)]
    candidates = filters.keep(index, _intersect([w.prefix for w in words]))
    typo_able = [w for w in words if len(w.term) >= 4 and not w.term.isdigit()]
    if len(candidates) < limit and typo_able:
        for word in typo_able:
            word.widen(index)
        candidates = filters.keep(index, _intersect([w.typo or w.prefix for w in words]))
    hits, typos = _rank(index, candidates, words, limit)
    return Results(query, len(candidates), hits, typos=typos)
