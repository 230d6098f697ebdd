"""``database.statistics``: keep SQLite's query planner informed of what the tables hold.

SQLite chooses indexes from the statistics that ``ANALYZE`` writes (``sqlite_stat1``); without
them it guesses that an equality on any indexed column is selective. On the audit trail that
guess sends a query such as "these 40 accounts' entries of the last ten minutes" (the intrusion
detector's) through the ``actor_id`` index, reading every entry those accounts ever wrote
(105 ms at 100,000 entries, growing with the trail), where the ``created_at`` index answers in
a tenth of a millisecond. PostgreSQL's autovacuum analyses tables by itself; SQLite has nothing
of the kind, so the worker does it, hourly, across workers.

``analysis_limit`` makes each index's analysis read a sample (about a thousand rows) instead of
the whole table: a few milliseconds whatever the size, which is what the planner needs.
"""

from __future__ import annotations

from django.db import connection

ANALYSIS_LIMIT = 1000


def refresh() -> str:
    """Analyse the SQLite database (sampled); nothing on PostgreSQL. What was done, for the log."""
    if connection.vendor != "sqlite":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    return "SQLite statistics refreshed"
