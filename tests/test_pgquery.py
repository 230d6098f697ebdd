"""psycopg's placeholder conversion cached for long statements (cordee/db/pgquery.py), PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from cordee.db import pgquery
from tests.conftest import postgres_run_only

pytestmark = pytest.mark.django_db


def test_long_statements_are_converted_once_and_give_the_same_rows():
    postgres_run_only("psycopg's placeholder conversion")
    cursor_class = pgquery.caching_cursor()
    assert cursor_class is not None, "psycopg's query internals moved: cordee/db/pgquery.py needs a look"
    with connection.cursor() as cursor:
        assert type(cursor.cursor) is cursor_class
        values = list(range(200))
        sql = "SELECT x FROM (VALUES " + ", ".join(["(%s::int)"] * len(values)) + ") v(x) ORDER BY x"  # noqa: S608
        before = cursor_class.cache.cache_info()
        for _ in range(3):
            cursor.execute(sql, values)
            assert [row[0] for row in cursor.fetchall()] == values
        after = cursor_class.cache.cache_info()
        assert after.hits - before.hits >= 2
        cursor.execute("SELECT %s::text || %s::text", ["a", "b"])  # short ones stay with psycopg's own cache
        assert cursor.fetchone()[0] == "ab"
        assert cursor_class.cache.cache_info().currsize == after.currsize
        with pytest.raises(Exception, match="placeholder"):
            cursor.execute(sql, values[:-1])  # a wrong count is still refused
