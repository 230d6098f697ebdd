"""Storing parsed records: a batch at a time, newer versions replacing older, idempotent.

For each PMID of a batch: a new one is inserted; a stored one whose record is identical
(``fingerprint``) is left alone (a re-import writes nothing); one whose incoming record is
*older* (lower PMID version, or an earlier ``DateRevised``) is kept and counted ``older``;
otherwise the incoming record replaces it (and revives it if a ``DeleteCitation`` had withdrawn
it). Within a batch the same rule picks one record per PMID. The FTS5 index follows by triggers
(SQLite); PostgreSQL's search rows are written after the terms (``search.index``).

Storing is two halves: ``pubmed.rows.prepare`` (Python only, no Django: the columns, JSON,
fingerprint and term values of a record), which the importer runs in its reader (a thread, or a
process of its own for a large file), and ``store_prepared`` (the database), which it runs on the
batch before, so the two overlap (``store_batch`` does both in turn).

A batch is one transaction and a few statements: the PMIDs already stored (one ``SELECT``), the
new articles and their MeSH/type rows by ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), the
changed ones by one ``executemany`` of ``UPDATE``. Plain SQL rather than ``bulk_create``: building
Django's statement for 28 columns cost more than running it (``bench/library``).
"""

from __future__ import annotations

import json
from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from cordee.library import search
from cordee.library.models import Article, ArticleTerm
from cordee.library.pubmed.records import Record
from cordee.library.pubmed.rows import JSON_FIELDS, Prepared, prepare

UPDATED_FIELDS = (
    "version", "revised", "fingerprint", "doi", "pmc", "title", "title_markup", "abstract", "abstract_text",
    "terms", "authors", "journal", "journal_abbrev", "volume", "issue", "pages", "year", "month", "date_text",
    "publication_types", "mesh", "chemicals", "keywords", "language", "languages", "source_file",
    "imported_at", "deleted_at",
)  # fmt: skip


def _placeholder(name: str) -> str:
    return "%s::jsonb" if name in JSON_FIELDS and connection.vendor == "postgresql" else "%s"


def _row(article: dict, names: tuple[str, ...]) -> list:
    """The values of ``names`` as the driver takes them (JSON already encoded by ``prepare``)."""
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(article[n]) if n in ("imported_at", "deleted_at") else article[n] for n in names]


def _many(sql: str, table: str, names: tuple[str, ...], rows: list) -> None:
    """Insert ``rows``: ``COPY`` on PostgreSQL (a round trip per batch, not per row); on SQLite one
    statement reading the batch from a JSON array (``json_each``), else ``executemany`` (``sql``).

    SQLite: ``executemany`` takes the GIL back after each row's insert (and its FTS5 trigger), so
    the importer's reader thread and the database's C code took turns; one statement runs the
    whole batch without the GIL (+15 % records/s at import, bench/library)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite" and all(v is None or isinstance(v, str | int) for row in rows for v in row):
            columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
            statement = f"INSERT INTO {table} ({', '.join(names)}) SELECT {columns} FROM json_each(%s)"  # noqa: S608  # fixed names
            cursor.execute(statement, [json.dumps(rows)])
            return
        if connection.vendor != "postgresql":
            cursor.executemany(sql, rows)
            return
        with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _insert(articles: list[dict]) -> None:
    """New articles in one ``executemany`` (Django's ``bulk_create`` spent more building the statement
    than the database spent running it); their ids read back by PMID for the child rows."""
    names = ("pmid", *UPDATED_FIELDS)
    sql = (
        f"INSERT INTO library_article ({', '.join(names)}) "  # noqa: S608  # fixed column names, values bound
        f"VALUES ({', '.join(_placeholder(n) for n in names)})"
    )
    _many(sql, "library_article", names, [_row(a, names) for a in articles])
    ids = dict(Article.objects.filter(pmid__in=[a["pmid"] for a in articles]).values_list("pmid", "id"))
    for article in articles:
        article["id"] = ids[article["pmid"]]


def _update(articles: list[dict]) -> None:
    sql = (
        "UPDATE library_article SET "  # noqa: S608  # fixed column names, values bound
        + ", ".join(f"{n} = {_placeholder(n)}" for n in UPDATED_FIELDS)
        + " WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*_row(a, UPDATED_FIELDS), a["id"]] for a in articles])


def store_batch(records: list[Record], source: str) -> Counter:
    """Store a batch; the counts of ``created``, ``updated``, ``unchanged`` and ``older``."""
    return store_prepared([prepare(record, source) for record in records])


def store_prepared(items: list[Prepared]) -> Counter:
    """Store a batch of prepared records (``prepare``): the database's half, in one transaction."""
    counts: Counter = Counter()
    chosen: dict[int, Prepared] = {}
    for item in items:
        kept = chosen.get(item.pmid)
        if kept is not None:
            counts["duplicate"] += 1
            if item.rank < kept.rank:
                continue
        chosen[item.pmid] = item
    existing = {
        row[0]: row[1:]
        for row in Article.objects.filter(pmid__in=list(chosen)).values_list(
            "pmid", "id", "version", "revised", "fingerprint", "deleted_at"
        )
    }
    new: list[tuple[dict, Prepared]] = []  # the columns of each article (no model instances: they cost)
    changed: list[tuple[dict, Prepared]] = []
    times = {"imported_at": timezone.now(), "deleted_at": None}
    for pmid, item in chosen.items():
        stored = existing.get(pmid)
        if stored is None:
            new.append(({"pmid": pmid, **item.values, **times}, item))
            continue
        article_id, version, revised, stored_fingerprint, deleted_at = stored
        if stored_fingerprint == item.values["fingerprint"] and deleted_at is None:
            counts["unchanged"] += 1
        elif item.rank < (version, revised):
            counts["older"] += 1
        else:
            changed.append(({"id": article_id, "pmid": pmid, **item.values, **times}, item))
    with transaction.atomic():
        if new:
            _insert([a for a, _ in new])
        if changed:
            _update([a for a, _ in changed])
            ArticleTerm.objects.filter(article_id__in=[a["id"] for a, _ in changed]).delete()
        rows = [(article["id"], kind, value) for article, item in [*new, *changed] for kind, value in item.terms]
        if rows:  # plain SQL: model instances cost more than the INSERT itself here
            _many(
                "INSERT INTO library_articleterm (article_id, kind, value) VALUES (%s, %s, %s)",
                "library_articleterm", ("article_id", "kind", "value"), rows,
            )  # fmt: skip
        search.index([a["id"] for a, _ in [*new, *changed]])  # PostgreSQL: after the terms, which it holds
    counts["created"] += len(new)
    counts["updated"] += len(changed)
    return counts


def withdraw(pmids: list[int]) -> int:
    """A ``DeleteCitation``: the articles leave the search; rows stay for readers' collections."""
    if not pmids:
        return 0
    with transaction.atomic():
        ids = list(Article.objects.filter(pmid__in=pmids, deleted_at__isnull=True).values_list("id", flat=True))
        search.unindex(ids)
        return Article.objects.filter(id__in=ids).update(deleted_at=timezone.now())
