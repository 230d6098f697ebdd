"""PostgreSQL: the full-text index moves to a narrow table of its own, with the filters inside.

``library_search`` (the model ``SearchRow``) holds one row per live article: its id, year,
month and PMID (the date order) and a ``tsvector`` made of the words of title, abstract and terms (weights A, B, C, as the
column it replaces) plus one lexeme per filter value (``type:review``, ``mesh:humans``,
``lang:eng``, ``journal:…``, ``year:2019``; the English parser never makes a lexeme with a
colon, so they meet no word). The vector is stored out of line, compressed
(``toast_tuple_target`` 128 and a padding lexeme: see below), so the table itself is ~60 bytes
a row (57 MB at a million articles; 536 MB without the padding): a search that fetches tens of
thousands of matches to keep the newest reads a few thousand pages that stay in memory, not the
1.4 GB of ``library_article``; and a word with a filter is one GIN query, its bitmaps ANDed
inside the index, where the generated column made PostgreSQL check the word on every article of
the filter, reading each one's ``tsvector`` from TOAST (``cordee.library.search``; decision
0017). The store keeps the table in step (``search.index`` / ``search.unindex``); a withdrawn
article has no row. SQLite keeps FTS5 (its ``library_search`` table stays empty).
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# The rows of every live article (a frozen copy of ``search._SEARCH_ROWS``, which writes them
# since): the words, weights A/B/C; one lexeme per filter value; one padding lexeme (below).
FILL = """
    INSERT INTO library_search (article_id, year, month, pmid, search_vector)
    SELECT a.id, a.year, a.month, a.pmid,
        setweight(to_tsvector('english'::regconfig, coalesce(a.title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(a.abstract_text, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(a.terms, '')), 'C')
        || array_to_tsvector(array_remove(coalesce(t.facets, '{}') || ARRAY[
            'lang:' || a.language, 'journal:' || a.journal_abbrev, 'year:' || a.year::text, repeat('~', 2000)
        ], NULL))
    FROM library_article a LEFT JOIN (
        SELECT article_id, array_agg(kind || ':' || value) AS facets FROM library_articleterm
        WHERE kind IN ('type', 'mesh') GROUP BY article_id
    ) t ON t.article_id = a.id
    WHERE a.deleted_at IS NULL
"""

POSTGRESQL = [
    "SET CONSTRAINTS ALL IMMEDIATE",  # the fill's key checks done with it, not pending at CREATE INDEX
    # Every vector out of line, compressed: PostgreSQL moves a value to TOAST only when its row is
    # over ~2 kB (a constant of its build; toast_tuple_target is the size it then aims for), and a
    # short article's vector is under that. The fill pads each vector past it with one
    # lexeme of 2,000 "~" (never a word: queries hold letters and digits only), which compresses
    # to a few bytes; the row left in the table is then ~60 bytes.
    "ALTER TABLE library_search SET (toast_tuple_target = 128)",
    """DO $$ BEGIN
        EXECUTE 'ALTER TABLE library_search ALTER COLUMN search_vector SET COMPRESSION lz4';
    EXCEPTION WHEN OTHERS THEN NULL;  -- a server built without lz4 keeps pglz
    END $$""",
    "ANALYZE library_articleterm",  # the fill joins every article to its terms: planned from statistics
    FILL,
    "CREATE INDEX library_search_idx ON library_search USING gin (search_vector)",
    "ANALYZE library_search",
    "DROP INDEX IF EXISTS library_article_search_idx",
    "ALTER TABLE library_article DROP COLUMN IF EXISTS search_vector",
]
POSTGRESQL_REVERSE = [
    """ALTER TABLE library_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(abstract_text, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(terms, '')), 'C')) STORED""",
    "CREATE INDEX library_article_search_idx ON library_article USING gin (search_vector)",
    "DELETE FROM library_search",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("library", "0002_full_text_indexes")]

    operations = [
        migrations.CreateModel(
            name="SearchRow",
            fields=[
                (
                    "article",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="library.article",
                    ),
                ),
                ("year", models.SmallIntegerField(null=True)),
                ("month", models.SmallIntegerField(null=True)),
                ("pmid", models.BigIntegerField()),
                ("search_vector", django.contrib.postgres.search.SearchVectorField()),
            ],
            options={"db_table": "library_search"},
        ),
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE)),
    ]
