"""Rewrite PostgreSQL's library search rows from the articles: ``manage.py library_reindex``.

For a database whose articles arrived without them (``migrate_to_postgres`` copies SQLite's
tables, where the index is FTS5's and ``library_search`` is empty) or to rebuild the index. A
no-op on SQLite, whose FTS5 table follows the articles by triggers.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from cordee.library import search
from cordee.library.models import Article


class Command(BaseCommand):
    help = "Rewrite the library's PostgreSQL search index from the articles (no-op on SQLite)."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: the FTS5 index follows the articles by itself.")
            return
        search.index_all()
        count = Article.objects.filter(deleted_at__isnull=True).count()
        self.stdout.write(f"{count} articles indexed.")
