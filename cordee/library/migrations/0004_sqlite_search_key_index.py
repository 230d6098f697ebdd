"""SQLite: a narrow copy of what the search reads of an article, next to its key.

FTS5 gives the matches by descending rowid; each is then joined to ``library_article`` for the
filters (deleted, year, journal, language) and the date order (year, month, PMID). Read from the
table, each of those lookups walks a wide row whose year lies behind the abstract and the
authors, often on overflow pages: ~3 µs a match, 95 ms for the 30,000 matches of "humans" that
a two-year range reads to keep 1,200 (bench/library, a million articles). This index holds the
key and those columns only, so the join reads ~50-byte entries (30 ms for the same search).
``search`` names it (``INDEXED BY``): the planner otherwise prefers the integer primary key.
PostgreSQL reads its own narrow table (``library_search``, migration 0003): nothing to do there.
"""

from django.db import migrations

SQLITE = (
    "CREATE INDEX library_article_search_key ON library_article "
    "(id, deleted_at, year, month, pmid, journal_abbrev, language)"
)


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("library", "0003_postgres_search_table")]

    operations = [
        migrations.RunPython(_run(SQLITE), _run("DROP INDEX IF EXISTS library_article_search_key")),
    ]
