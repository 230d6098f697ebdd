"""Storing parsed records: a batch at a time, newer versions replacing older, idempotent.

For each PMID of a batch: a new one is inserted; a stored one whose record is identical
(``fingerprint``) is left alone (a re-import writes nothing); one whose incoming record is
*older* (lower PMID version, or an earlier ``DateRevised``) is kept and counted ``older``;
otherwise the incoming record replaces it (and revives it if a ``DeleteCitation`` had withdrawn
it). Within a batch the same rule picks one record per PMID. The FTS5 index follows by triggers
(SQLite), PostgreSQL's ``tsvector`` is a generated column: nothing else to write.
"""

from __future__ import annotations

from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from cordee.library.models import Article, ArticleTerm
from cordee.library.pubmed import markup
from cordee.library.pubmed.records import Record
from cordee.library.query import fold

UPDATED_FIELDS = (
    "version", "revised", "fingerprint", "doi", "pmc", "title", "title_markup", "abstract", "abstract_text",
    "terms", "authors", "journal", "journal_abbrev", "volume", "issue", "pages", "year", "month", "date_text",
    "publication_types", "mesh", "chemicals", "keywords", "language", "languages", "source_file",
    "imported_at", "deleted_at",
)  # fmt: skip


def _rank(record: Record) -> tuple[int, str]:
    return (record.version, record.revised)


def article_values(record: Record, source: str, data: dict, fingerprint: str) -> dict:
    """The columns of an article from its record (``data``: ``record.as_dict()``)."""
    abstract_text = " ".join(
        (f"{s.label}: " if s.label else "") + markup.to_text(s.markup) for s in record.abstract
    ).strip()
    terms = [*record.publication_types]
    for heading in record.mesh:
        terms.append(heading.descriptor)
    terms += record.chemicals + record.keywords
    if record.year:
        terms.append(str(record.year))
    return {
        "version": record.version,
        "revised": record.revised,
        "fingerprint": fingerprint,
        "doi": record.doi[:200],
        "pmc": record.pmc[:20],
        "title": markup.to_text(record.title_markup),
        "title_markup": record.title_markup,
        "abstract": data["abstract"],
        "abstract_text": abstract_text,
        "terms": " ; ".join(t for t in terms if t),
        "authors": data["authors"],
        "journal": record.journal[:300],
        "journal_abbrev": record.journal_abbrev[:200],
        "volume": record.volume[:50],
        "issue": record.issue[:50],
        "pages": record.pages[:100],
        "year": record.year if record.year and 1000 < record.year < 3000 else None,
        "month": record.month,
        "date_text": record.date_text[:100],
        "publication_types": record.publication_types,
        "mesh": data["mesh"],
        "chemicals": record.chemicals,
        "keywords": record.keywords,
        "language": (record.languages[0] if record.languages else "")[:8],
        "languages": record.languages,
        "source_file": source[:255],
        "imported_at": timezone.now(),
        "deleted_at": None,
    }


def _terms(article_id: int, record: Record) -> list[tuple[int, str, str]]:
    rows: dict[tuple[str, str], None] = {}
    for kind, values in (
        (ArticleTerm.Kind.TYPE, record.publication_types),
        (ArticleTerm.Kind.MESH, [m.descriptor for m in record.mesh]),
        (ArticleTerm.Kind.MAJOR, [m.descriptor for m in record.mesh if m.major]),
    ):
        for value in values:
            if value:
                rows[(str(kind), fold(value)[:200])] = None
    return [(article_id, kind, value) for kind, value in rows]


def store_batch(records: list[Record], source: str) -> Counter:
    """Store a batch; the counts of ``created``, ``updated``, ``unchanged`` and ``older``."""
    counts: Counter = Counter()
    chosen: dict[int, Record] = {}
    for record in records:
        kept = chosen.get(record.pmid)
        if kept is not None:
            counts["duplicate"] += 1
            if _rank(record) < _rank(kept):
                continue
        chosen[record.pmid] = record
    existing = {
        row[0]: row[1:]
        for row in Article.objects.filter(pmid__in=list(chosen)).values_list(
            "pmid", "id", "version", "revised", "fingerprint", "deleted_at"
        )
    }
    new: list[tuple[Article, Record]] = []
    changed: list[tuple[Article, Record]] = []
    for pmid, record in chosen.items():
        data = record.as_dict()
        fingerprint = record.fingerprint(data)
        stored = existing.get(pmid)
        if stored is None:
            new.append((Article(pmid=pmid, **article_values(record, source, data, fingerprint)), record))
            continue
        article_id, version, revised, stored_fingerprint, deleted_at = stored
        if stored_fingerprint == fingerprint and deleted_at is None:
            counts["unchanged"] += 1
        elif _rank(record) < (version, revised):
            counts["older"] += 1
        else:
            changed.append(
                (Article(id=article_id, pmid=pmid, **article_values(record, source, data, fingerprint)), record)
            )
    with transaction.atomic():
        if new:
            Article.objects.bulk_create([a for a, _ in new], batch_size=500)
        if changed:
            Article.objects.bulk_update([a for a, _ in changed], UPDATED_FIELDS, batch_size=200)
            ArticleTerm.objects.filter(article_id__in=[a.pk for a, _ in changed]).delete()
        rows = [row for article, record in [*new, *changed] for row in _terms(article.pk, record)]
        if rows:  # plain executemany: model instances cost more than the INSERT itself here
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO library_articleterm (article_id, kind, value) VALUES (%s, %s, %s)", rows
                )
    counts["created"] += len(new)
    counts["updated"] += len(changed)
    return counts


def withdraw(pmids: list[int]) -> int:
    """A ``DeleteCitation``: the articles leave the search; rows stay for readers' collections."""
    if not pmids:
        return 0
    return Article.objects.filter(pmid__in=pmids, deleted_at__isnull=True).update(deleted_at=timezone.now())
