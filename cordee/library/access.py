"""The only way views and the API load library objects for a user.

Articles are public reference data (PubMed): any signed-in, active professional or staff
member may read them; a PMID not imported (or withdrawn and never saved) is a 404, nothing to
audit. A reader's collections and notes are theirs alone: anyone else's attempt answers as a
missing one (404) and is audited with its purpose. Import runs are the operator's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest

from cordee.lib.ids import parse_id
from cordee.lib.prepared import Prepared
from cordee.lib.refusals import refuse
from cordee.library.models import Article, Collection, ImportRun
from cordee.library.services import can_import

READERS = ("professional", "staff")


def can_read(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "kind", None) in READERS
    )


def access_article(user: Any, pmid: Any, *, purpose: str, include_withdrawn: bool = False) -> Article:
    """An article; a patient's (or inactive account's) attempt is refused with ``purpose``, audited."""
    if not can_read(user):
        refuse(user, target_type="library.article", raw_id=pmid, purpose=purpose)
    number = parse_id(pmid)
    article = Article.objects.filter(pmid=number).first()
    if article is None or (article.deleted_at is not None and not include_withdrawn):
        raise Http404
    return article


def access_collection(user: Any, collection_id: Any, *, purpose: str, request: HttpRequest | None = None) -> Collection:
    """One of the reader's own collections; anyone else's is refused (audited) as missing."""
    if not can_read(user):
        refuse(user, target_type="library.collection", raw_id=collection_id, purpose=purpose, request=request)
    try:
        pk = parse_id(collection_id)
    except Http404:
        refuse(user, target_type="library.collection", raw_id=collection_id, purpose=purpose, request=request)
    collection = Collection.objects.filter(pk=pk, owner=user).first()
    if collection is None:
        refuse(user, target_type="library.collection", raw_id=pk, purpose=purpose, request=request)
    return collection


def _mine(user: Any) -> QuerySet[Collection]:
    return Collection.objects.filter(owner=user).annotate(size=Count("items")).order_by("name", "pk")


_MINE = Prepared(_mine)  # the reader's collections, each with its ``size``: SQL kept per reader


def my_collections(user: Any) -> list[Collection]:
    """The reader's collections by name, each with ``size``, its number of references."""
    if not can_read(user):
        return []
    return _MINE.instances(user, Collection)


def access_import_run(user: Any, run_id: Any, *, purpose: str, request: HttpRequest | None = None) -> ImportRun:
    if not can_import(user):
        refuse(user, target_type="library.importrun", raw_id=run_id, purpose=purpose, request=request)
    try:
        pk = parse_id(run_id)
    except Http404:
        refuse(user, target_type="library.importrun", raw_id=run_id, purpose=purpose, request=request)
    run = ImportRun.objects.filter(pk=pk).first()
    if run is None:
        refuse(user, target_type="library.importrun", raw_id=pk, purpose=purpose, request=request)
    return run
