"""psycopg's conversion of ``%s`` placeholders, cached for the long batched statements too.

With server-side binding (``DB_SERVER_SIDE_BINDING``, decision 0013), psycopg rewrites each
statement's ``%s`` into ``$1, $2…`` before sending it, and caches that rewriting only for
statements of at most 50 parameters and 4,096 bytes (to keep ORM-generated queries of every
length out of its cache). The socket's group commit runs the same few long statements again and
again (the messages' INSERT of a batch of 25 has 300 parameters, the numbering and notice
UPDATEs grow with the batch): psycopg's regular-expression split of those was ~9 % of the
server's samples in ``bench/messaging`` on PostgreSQL.

``CachingCursor`` is Django's server-binding cursor whose query class keeps the rewriting of
statements up to ``MAX_PARAMS`` parameters and ``MAX_BYTES`` bytes in an LRU cache of its own
(``CACHE_SIZE`` statements, a few MB at worst). It is set on each new connection by
``connection_created`` (``install``). This reaches into psycopg's query module: the test of this
module fails if an upgrade moves it, and then the cursor stays psycopg's own.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from django.db.backends.signals import connection_created

MAX_PARAMS = 1000
MAX_BYTES = 65536
CACHE_SIZE = 128


@cache
def caching_cursor() -> type | None:
    """The cursor class, or None where psycopg's internals are not the ones this was written for."""
    try:
        from django.db.backends.postgresql.base import ServerBindingCursor
        from psycopg import _queries
    except ImportError:
        return None
    base = _queries.PostgresQuery
    split = getattr(_queries, "_query2pg_nocache", None)
    if split is None or not hasattr(base, "dump") or not hasattr(base, "_ensure_bytes"):
        return None
    cached = lru_cache(maxsize=CACHE_SIZE)(split)
    small = _queries.MAX_CACHED_STATEMENT_PARAMS

    class CachingQuery(base):  # type: ignore[misc, valid-type]  # a class from a variable (psycopg version checked above)
        def convert(self, query: Any, vars: Any) -> None:
            if vars is not None and isinstance(query, str | bytes):
                raw = self._ensure_bytes(query)
                if small < len(vars) <= MAX_PARAMS and len(raw) <= MAX_BYTES:
                    self.query, self._want_formats, self._order, self._parts = cached(raw, self._tx.encoding)
                    self.dump(vars)
                    return
            super().convert(query, vars)

    class CachingCursor(ServerBindingCursor):  # type: ignore[misc, valid-type]  # Django defines it only under psycopg 3
        _query_cls = CachingQuery

    CachingCursor.cache = cached  # type: ignore[attr-defined]  # (tests: cache_info)
    return CachingCursor


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    raw = connection.connection
    cursor = caching_cursor()
    if cursor is not None and raw is not None and raw.cursor_factory is cursor.__mro__[1]:
        raw.cursor_factory = cursor  # only in place of the server-binding cursor Django chose


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="cordee.db.pgquery")
