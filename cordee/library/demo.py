"""The library's part of the demo: a handful of synthetic articles (``demo_data/articles.xml``,
written for Cordée in PubMed's format) imported through the library's own importer, and a
collection of Alice's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cordee.library import store
from cordee.library.models import Article, Collection, CollectionItem
from cordee.library.pubmed.records import Record
from cordee.library.pubmed.xml import open_source, read_xml

ARTICLES = Path(__file__).parent / "demo_data" / "articles.xml"


def seed(users: dict[str, Any]) -> None:
    with open_source(ARTICLES) as handle:
        records = [item for item in read_xml(handle) if isinstance(item, Record)]
    store.store_batch(records, ARTICLES.name)
    alice = users.get("alice")
    if alice is not None:
        collection, _created = Collection.objects.get_or_create(owner=alice, name="Insuffisance cardiaque")
        article = Article.objects.filter(pmid=990000003).first()
        if article is not None:
            CollectionItem.objects.get_or_create(collection=collection, article=article)
