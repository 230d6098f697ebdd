"""SQLite: the full-text index keeps a prefix index of four characters, and merges less often.

FTS5 answers a prefix query (``cell*``) by merging the postings of every term that starts with
it into one list before it yields a row, and ``bm25`` merges them once more to count the
articles for its weight: 70–90 ms for "cell*" at a million articles (490,000 of them hold
"cell"), the slowest search of bench/library. A prefix index of length 4 (``prefix='4'``) keeps
those merged postings for every four-letter start, ready to read: 13 ms. Starts of four letters
are the common case (``cell*``, ``canc*``, ``diab*``); other lengths merge as before.

Such an index costs about 60 µs more an article to write (bench/library, 100,000 articles by
batches of 500 as the importer writes them: 81 → 145 µs). ``automerge`` 8 (FTS5's default is 4)
lets the index's segments gather twice as long before they are merged: 145 → 108 µs, the
extra cost of the prefix index at import down to ~27 µs an article, for more segments read per
term between merges (bench/library's searches run on a merged index: ``optimize``).

FTS5's options are fixed at creation: the table is made again under the same name, with the
triggers of migration 0002, rebuilt from ``library_article`` and merged into one segment (a few
minutes a million articles). PostgreSQL answers prefixes from its GIN index: nothing to do there.
"""

import importlib

from django.db import migrations

# Migration 0002's statements: its triggers (after the table) and the drops of both. Its file never
# changes once applied, so the table made again here keeps exactly the triggers it had.
FIRST = importlib.import_module("cordee.library.migrations.0002_full_text_indexes")
COLUMNS = "title, abstract_text, terms, content='library_article', content_rowid='id'"
TOKENIZE = "tokenize='porter unicode61 remove_diacritics 2'"


def _remake(options: str, automerge: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for statement in (
            *FIRST.SQLITE_REVERSE,  # the triggers, then the table
            f"CREATE VIRTUAL TABLE library_article_fts USING fts5({COLUMNS}, {TOKENIZE}{options})",
            f"INSERT INTO library_article_fts(library_article_fts, rank) VALUES ('automerge', {automerge:d})",  # noqa: S608  # constants
            *FIRST.SQLITE[1:],  # the triggers
            "INSERT INTO library_article_fts(library_article_fts) VALUES ('rebuild')",
            "INSERT INTO library_article_fts(library_article_fts) VALUES ('optimize')",  # one segment
        ):
            schema_editor.execute(statement)

    return run


forwards = _remake(", prefix='4'", 8)
backwards = _remake("", 4)


class Migration(migrations.Migration):
    dependencies = [("library", "0005_postgres_article_lz4")]

    operations = [migrations.RunPython(forwards, backwards)]
