"""The full-text index of the articles, one per database (``cordee.library.search``).

SQLite: an external-content FTS5 table over title, abstract and terms, kept in step by triggers.
PostgreSQL: a stored generated ``tsvector`` column with a GIN index. Neither is a model field:
the search reads them with SQL of its own.
"""

from django.db import migrations

SQLITE = [
    """CREATE VIRTUAL TABLE library_article_fts USING fts5(
        title, abstract_text, terms, content='library_article', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER library_article_fts_ai AFTER INSERT ON library_article BEGIN
        INSERT INTO library_article_fts(rowid, title, abstract_text, terms)
        VALUES (new.id, new.title, new.abstract_text, new.terms); END""",
    """CREATE TRIGGER library_article_fts_ad AFTER DELETE ON library_article BEGIN
        INSERT INTO library_article_fts(library_article_fts, rowid, title, abstract_text, terms)
        VALUES ('delete', old.id, old.title, old.abstract_text, old.terms); END""",
    """CREATE TRIGGER library_article_fts_au AFTER UPDATE OF title, abstract_text, terms ON library_article BEGIN
        INSERT INTO library_article_fts(library_article_fts, rowid, title, abstract_text, terms)
        VALUES ('delete', old.id, old.title, old.abstract_text, old.terms);
        INSERT INTO library_article_fts(rowid, title, abstract_text, terms)
        VALUES (new.id, new.title, new.abstract_text, new.terms); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS library_article_fts_au",
    "DROP TRIGGER IF EXISTS library_article_fts_ad",
    "DROP TRIGGER IF EXISTS library_article_fts_ai",
    "DROP TABLE IF EXISTS library_article_fts",
]
POSTGRESQL = [
    """ALTER TABLE library_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(abstract_text, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(terms, '')), 'C')) STORED""",
    "CREATE INDEX library_article_search_idx ON library_article USING gin (search_vector)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS library_article_search_idx",
    "ALTER TABLE library_article DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("library", "0001_articles_runs_collections_notes")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        )
    ]
