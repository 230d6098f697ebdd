"""Rewrite PostgreSQL's library search rows from the articles: ``manage.py library_reindex``.

For a database whose articles arrived without them (``migrate_to_postgres`` copies SQLite's
tables, where the index is FTS5's and ``library_search`` is empty) or to rebuild the index. A
no-op on SQLite, whose FTS5 table follows the articles by triggers.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from cordee.library import search
from cordee.library.models import Article

BATCH = 5000


class Command(BaseCommand):
    help = "Rewrite the library's PostgreSQL search index from the articles (no-op on SQLite)."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: the FTS5 index follows the articles by itself.")
            return
        ids = list(Article.objects.filter(deleted_at__isnull=True).order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                search.index(ids[start : start + BATCH])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE library_search")  # the shares the search's plan choice reads
        self.stdout.write(f"{len(ids)} articles indexed.")
