"""PostgreSQL: each search row holds the block of ids its article lies in (``block:<id >> 13>``).

A common word's search keeps the newest matches: it reads only a window of the newest articles
(``search._window``). That window was a range of the key, ANDed with the GIN bitmap of the words
after GIN had merged their whole posting lists: 28 of the 34 ms of "risk factors" at a million
articles went to merging the 89,366 articles holding both words to keep the 2,501 of the newest
28,282. As lexemes of the vector, the window's blocks are part of the GIN query itself, and GIN's
fast scan walks their short posting lists (8,192 ids a block) and skips the words' long ones along
them: 5 ms (bench/library). Rows written since carry the lexeme (``search._SEARCH_ROWS``); this
adds it to the rows already there, then writes the table again in the order of its ids (about 8
minutes for a million articles on the 2-core machine of bench/library). SQLite: nothing (FTS5 streams its doclists backwards).
"""

from django.db import migrations

BLOCK_BITS = 13  # search.BLOCK_BITS when this was written, the shift of the statements below

ADD = """
    UPDATE library_search
    SET search_vector = search_vector || array_to_tsvector(ARRAY['block:' || (article_id >> 13)::text])
"""
REMOVE = "UPDATE library_search SET search_vector = ts_delete(search_vector, 'block:' || (article_id >> 13)::text)"


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(statement)
        # Every row was written again, wherever the table had room: the rows no longer lie in the
        # order of their ids, and the window's speed depends on it (GIN's fast scan steps through
        # the words' posting lists in the order of the rows: 4 blocks of "tumor growth" in English
        # took 126 ms on the rows updated in place, 5 ms once in order). CLUSTER writes the table
        # again in the key's order (with its indexes, without the old versions): ~2 minutes at a
        # million articles, the table locked meanwhile.
        schema_editor.execute("CLUSTER library_search USING library_search_pkey")
        schema_editor.execute("ANALYZE library_search")

    return run


class Migration(migrations.Migration):
    dependencies = [("library", "0006_sqlite_fts_prefix_index")]

    operations = [migrations.RunPython(_run(ADD), _run(REMOVE))]
