"""The in-process search index of the BDPM, rebuilt when a newer import is done.

Why in process (docs/decisions/0006-drug-search-in-process-index-and-rapidfuzz.md): the BDPM is small (≈16 000
specialities, 21 000 presentations, 32 000 substance lines), public, and read-only between
imports. Holding its words in memory gives prefix and typo-tolerant matching in a few
milliseconds with exactly the same code, hence exactly the same results, on SQLite and
PostgreSQL (neither pg_trgm nor SQLite FTS is needed, and no collation decides an order).
Each process keeps its own copy and checks, on every search, the id and end time of the latest
finished BDPM import (one indexed query): an import in another process or on another host is
picked up at the next search.
"""

from __future__ import annotations

import re
import sys
import threading
from bisect import bisect_left
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cordee.drugs.models import Composition, GenericMembership, ImportRun, MitmEntry, Presentation, Product
from cordee.drugs.text import fold

MAX_PREFIX_LENGTH = 24  # typo-tolerant matching looks at word prefixes up to this length
KIND_ORIGINAL, KIND_PARALLEL_IMPORT, KIND_HOMEOPATHIC = 0, 1, 2
_ORAL_SOLID = ("comprimé", "gélule", "capsule", "lyophilisat")
_ORAL_OTHER = ("sirop", "granulés", "pastille")
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)?)\s*(microgrammes?|µg|mg|g|ui|%)?", re.IGNORECASE)
_TO_MG = {"microgramme": Decimal("0.001"), "microgrammes": Decimal("0.001"), "µg": Decimal("0.001"), "g": Decimal(1000)}
_KEEP_VERSIONS = 2  # tests switch between a few datasets; production has one


@dataclass(slots=True)
class Doc:
    cis: str
    name: str
    form: str
    routes: tuple[str, ...]
    commercialised: bool
    removed: bool
    holders: str
    substances: tuple[str, ...]
    groups: tuple[int, ...]
    generic_types: tuple[int, ...]
    mitm: bool
    reinforced_monitoring: bool
    key: str  # the folded name
    kind: int = KIND_ORIGINAL  # KIND_*: a parallel import or a homeopathic stock ranks after
    reimbursed: bool = False  # a listed box has a reimbursement rate: a form in common use
    substance_words: tuple[tuple[str, ...], ...] = ()  # the folded words of each substance

    @property
    def status_rank(self) -> int:
        """0 commercialised, 1 not commercialised, 2 no longer listed in the BDPM."""
        return 2 if self.removed else (0 if self.commercialised else 1)

    @property
    def parallel_import(self) -> bool:
        return self.kind == KIND_PARALLEL_IMPORT

    @property
    def homeopathic(self) -> bool:
        return self.kind == KIND_HOMEOPATHIC


@dataclass
class Index:
    version: Any
    docs: list[Doc] = field(default_factory=list)  # sorted: status, then name
    by_cis: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # sorted vocabulary
    postings: list[frozenset[int]] = field(default_factory=list)  # per word: the docs holding it
    in_names: list[frozenset[int]] = field(default_factory=list)  # per word: the docs naming it
    prefixes: dict[int, list[str]] = field(default_factory=dict)  # length -> distinct word prefixes
    cip7: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # code -> (doc, label)
    cip13: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)  # every CIS, CIP7 and CIP13, sorted, for prefixes
    by_code: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)  # code -> (doc, kind, box)
    routes: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)

    def word_range(self, prefix: str) -> range:
        start = bisect_left(self.words, prefix)
        return range(start, bisect_left(self.words, prefix + "\uffff", lo=start))

    def docs_with_prefix(self, prefix: str, *, names: bool = False) -> set[int]:
        table = self.in_names if names else self.postings
        found: set[int] = set()
        for position in self.word_range(prefix):
            found |= table[position]
        return found

    def docs_with_word(self, word: str, *, names: bool = False) -> frozenset[int]:
        position = bisect_left(self.words, word)
        if position < len(self.words) and self.words[position] == word:
            return (self.in_names if names else self.postings)[position]
        return frozenset()

    def docs_for_code(self, code: str) -> list[tuple[int, str, str]]:
        """(doc, kind, presentation label) for a code, exact: CIS, CIP7 or CIP13."""
        return self.by_code.get(code, [])

    def codes_with_prefix(self, prefix: str) -> list[str]:
        start = bisect_left(self.codes, prefix)
        return self.codes[start : bisect_left(self.codes, prefix + "\uffff", lo=start)]


def _load_docs() -> list[Doc]:
    substances: dict[str, list[str]] = defaultdict(list)
    for cis, name in (
        Composition.objects.filter(nature="SA").order_by("cis", "position").values_list("cis", "substance_name")
    ):
        if name not in substances[cis]:
            substances[cis].append(name)
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for group_id, cis, generic_type in GenericMembership.objects.order_by("group_id", "cis").values_list(
        "group_id", "cis", "generic_type"
    ):
        groups[cis].append((group_id, generic_type))
    mitm = set(MitmEntry.objects.values_list("cis", flat=True))
    reimbursed = set(
        Presentation.objects.filter(removed_at__isnull=True)
        .exclude(reimbursement_rates="")
        .values_list("cis", flat=True)
    )
    docs = []
    for row in Product.objects.order_by("cis").values(
        "cis", "name", "form", "routes", "is_commercialised", "removed_at", "holders", "reinforced_monitoring",
        "amm_procedure",
    ):  # fmt: skip
        cis = row["cis"]
        docs.append(
            Doc(
                cis=cis,
                name=row["name"],
                form=row["form"],
                routes=tuple(r for r in row["routes"].split(";") if r),
                commercialised=row["is_commercialised"],
                removed=row["removed_at"] is not None,
                holders=row["holders"],
                substances=tuple(substances.get(cis, ())),
                groups=tuple(g for g, _t in groups.get(cis, ())),
                generic_types=tuple(t for _g, t in groups.get(cis, ())),
                mitm=cis in mitm,
                reinforced_monitoring=row["reinforced_monitoring"],
                key=fold(row["name"]),
                kind=_kind(row["amm_procedure"]),
                reimbursed=cis in reimbursed,
                substance_words=tuple(
                    tuple(sys.intern(word) for word in fold(name).split()) for name in substances.get(cis, ())
                ),
            )
        )
    docs.sort(key=rank_key)
    return docs


def _kind(procedure: str) -> int:
    folded = fold(procedure)
    if "importation parallele" in folded:
        return KIND_PARALLEL_IMPORT
    return KIND_HOMEOPATHIC if "homeo" in folded else KIND_ORIGINAL


def form_rank(form: str) -> int:
    """0 an oral solid form, 1 another oral form, 2 the others: the most used forms first."""
    lower = form.lower()
    if lower.startswith(_ORAL_SOLID):
        return 0
    return 1 if "buvable" in lower or lower.startswith(_ORAL_OTHER) else 2


def natural_key(name: str) -> tuple:
    """The name with its amounts compared as numbers, in milligrams when they have a unit:
    "25 mg" < "50 mg" < "100 mg" < "1 g", not "100", "1000", "150"."""
    parts: list[tuple[int, Any]] = []
    position = 0
    for match in _NUMBER.finditer(name):
        parts.append((1, fold(name[position : match.start()])))
        unit = (match.group(2) or "").lower()
        parts.append((0, Decimal(match.group(1).replace(",", ".")) * _TO_MG.get(unit, Decimal(1))))
        position = match.end()
    parts.append((1, fold(name[position:])))
    return tuple(parts)


def rank_key(doc: Doc) -> tuple:
    """The order within a match tier: commercialised first, originals before parallel imports
    and homeopathic stocks, reimbursed forms and oral forms first, then by name and strength."""
    return (doc.status_rank, doc.kind, not doc.reimbursed, form_rank(doc.form), natural_key(doc.name), doc.cis)


def build(version: Any = None) -> Index:
    index = Index(version=version, docs=_load_docs())
    index.by_cis = {doc.cis: position for position, doc in enumerate(index.docs)}
    postings: dict[str, set[int]] = defaultdict(set)
    in_names: dict[str, set[int]] = defaultdict(set)
    for position, doc in enumerate(index.docs):
        for word in doc.key.split():
            in_names[word].add(position)
            postings[word].add(position)
        for substance in doc.substances:
            for word in fold(substance).split():
                postings[word].add(position)
    index.words = sorted(postings)
    index.postings = [frozenset(postings[w]) for w in index.words]
    empty: frozenset[int] = frozenset()
    index.in_names = [frozenset(in_names[w]) if w in in_names else empty for w in index.words]
    by_length: dict[int, set[str]] = defaultdict(set)
    for word in index.words:
        for length in range(3, min(len(word), MAX_PREFIX_LENGTH) + 1):
            by_length[length].add(word[:length])
    index.prefixes = {length: sorted(values) for length, values in by_length.items()}
    for cis, cip7, cip13, label in Presentation.objects.order_by("cip13").values_list("cis", "cip7", "cip13", "label"):
        found = index.by_cis.get(cis)
        if found is not None:
            index.cip7.setdefault(cip7, []).append((found, label))
            index.cip13.setdefault(cip13, []).append((found, label))
    index.codes = sorted({*index.by_cis, *index.cip7, *index.cip13})
    for code in index.codes:
        entries = [(index.by_cis[code], "cis", "")] if code in index.by_cis else []
        for kind, table in (("cip7", index.cip7), ("cip13", index.cip13)):
            entries.extend((doc, kind, label) for doc, label in table.get(code, []))
        index.by_code[code] = entries
    index.routes = sorted({r for d in index.docs for r in d.routes}, key=fold)
    index.forms = sorted({d.form for d in index.docs if d.form}, key=fold)
    return index


def current_version() -> Any:
    """The latest finished BDPM import, as (id, end time); None before any."""
    return (
        ImportRun.objects.filter(kind=ImportRun.Kind.BDPM, status=ImportRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("pk", "finished_at")
        .first()
    )


_lock = threading.Lock()
_built: OrderedDict[Any, Index] = OrderedDict()


def get_index() -> Index:
    version = current_version()
    index = _built.get(version)
    if index is not None:
        return index
    with _lock:
        index = _built.get(version)
        if index is None:
            index = build(version)
            _built[version] = index
            while len(_built) > _KEEP_VERSIONS:
                _built.popitem(last=False)
    return index


def invalidate() -> None:
    """Forget the built indexes (after an import in this process)."""
    with _lock:
        _built.clear()
