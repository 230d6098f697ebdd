"""JSON API of the scientific library: search, article, collections (mounted at /api/library/).

Session-authenticated like the rest of the API; for professionals and staff. A collection is
its owner's alone: anyone else's answers as a missing one (404), audited.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from cordee.lib.api import ERRORS, ErrorOut, StrictIn
from cordee.library import cite
from cordee.library.access import access_article, access_collection, can_read, my_collections
from cordee.library.models import Article, Collection
from cordee.library.params import parse_filters
from cordee.library.pubmed.markup import to_text
from cordee.library.query import MAX_QUERY_LENGTH, QueryError
from cordee.library.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, search
from cordee.library.services import shelf as services_shelf

router = Router(tags=["library"])
NOT_FOUND = ErrorOut(detail="Not found.", code="not_found")


class LibraryArticleBrief(Schema):
    pmid: int
    title: str
    authors: list[str]
    journal: str
    year: int | None
    publication_types: list[str]
    doi: str
    url: str


class LibrarySearchOut(Schema):
    total: int = Field(description="Matches, counted up to 1001 (more: total_is_lower_bound)")
    total_is_lower_bound: bool
    offset: int
    next_offset: int | None
    results: list[LibraryArticleBrief]


class LibrarySectionOut(Schema):
    label: str
    text: str


class LibraryAuthorOut(Schema):
    name: str
    last: str
    fore: str
    collective: bool
    affiliations: list[str]
    orcid: str


class LibraryMeshOut(Schema):
    descriptor: str
    major: bool
    qualifiers: list[str]


class LibraryArticleOut(LibraryArticleBrief):
    pmc: str
    journal_title: str
    volume: str
    issue: str
    pages: str
    date: str
    abstract: list[LibrarySectionOut]
    author_details: list[LibraryAuthorOut]
    mesh: list[LibraryMeshOut]
    substances: list[str]
    keywords: list[str]
    languages: list[str]
    withdrawn: bool
    citation: str = Field(description="Vancouver style")


class LibraryCollectionOut(Schema):
    id: int
    name: str
    size: int


class LibraryCollectionDetailOut(LibraryCollectionOut):
    articles: list[LibraryArticleBrief]


class LibraryCollectionIn(StrictIn):
    name: str = Field(min_length=1, max_length=120)


class LibraryItemIn(StrictIn):
    pmid: int = Field(gt=0, lt=10**12)


def _brief(article: Article) -> LibraryArticleBrief:
    return LibraryArticleBrief(
        pmid=article.pmid,
        title=article.title,
        authors=[a.get("name", "") for a in article.authors],
        journal=article.journal_abbrev or article.journal,
        year=article.year,
        publication_types=list(article.publication_types),
        doi=article.doi,
        url=reverse("library:article", args=[article.pmid]),
    )


@router.get("/search", response={200: LibrarySearchOut, **ERRORS}, summary="Search articles")
def search_articles(
    request: HttpRequest,
    q: str = Query("", max_length=MAX_QUERY_LENGTH),
    type: str = "",
    journal: str = "",
    lang: str = "",
    mesh: str = "",
    year_from: str = Query("", alias="from"),
    year_to: str = Query("", alias="to"),
    sort: str = Query("relevance", pattern="^(relevance|date)$"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Status:
    """Words of the title, abstract, MeSH headings or publication types; "a phrase", prefix*,
    -excluded. French words of common terms are also searched in English. Filters: ``type``
    (publication type), ``journal`` (ISO abbreviation), ``lang`` (eng, fre…), ``mesh``, ``from``
    and ``to`` (years)."""
    if not can_read(request.user):
        return Status(404, NOT_FOUND)
    params = {"type": type, "journal": journal, "lang": lang, "mesh": mesh, "from": year_from, "to": year_to}
    try:
        results = search(q, parse_filters(params), sort=sort, limit=limit, offset=offset)
    except QueryError as exc:
        return Status(400, ErrorOut(detail=exc.message, code=exc.code))
    return Status(
        200,
        LibrarySearchOut(
            total=results.total,
            total_is_lower_bound=results.total_capped,
            offset=results.offset,
            next_offset=results.next_offset,
            results=[_brief(a) for a in results.articles],
        ),
    )


@router.get("/articles/{pmid}", response={200: LibraryArticleOut, **ERRORS}, summary="An article by its PMID")
def article_detail(request: HttpRequest, pmid: str) -> Status:
    try:
        article = access_article(request.user, pmid, purpose="library.api.article", include_withdrawn=True)
    except Http404:
        return Status(404, NOT_FOUND)
    brief = _brief(article).dict()
    return Status(
        200,
        LibraryArticleOut(
            **brief,
            pmc=article.pmc,
            journal_title=article.journal,
            volume=article.volume,
            issue=article.issue,
            pages=article.pages,
            date=article.date_text,
            abstract=[
                LibrarySectionOut(label=s.get("label", ""), text=_plain(s.get("markup", ""))) for s in article.abstract
            ],
            author_details=[_author(a) for a in article.authors],
            mesh=[
                LibraryMeshOut(descriptor=m["descriptor"], major=m["major"], qualifiers=m["qualifiers"])
                for m in article.mesh
            ],
            substances=list(article.chemicals),
            keywords=list(article.keywords),
            languages=list(article.languages),
            withdrawn=article.deleted_at is not None,
            citation=cite.vancouver(article),
        ),
    )


def _plain(markup_text: str) -> str:
    return to_text(markup_text)


def _author(author: dict[str, Any]) -> LibraryAuthorOut:
    return LibraryAuthorOut(
        name=author.get("name", ""),
        last=author.get("last", ""),
        fore=author.get("fore", ""),
        collective=bool(author.get("collective")),
        affiliations=list(author.get("affiliations", [])),
        orcid=author.get("orcid", ""),
    )


def _collection(collection: Collection) -> LibraryCollectionOut:
    size = getattr(collection, "size", None)  # counted with the list (``my_collections``)
    return LibraryCollectionOut(
        id=collection.pk, name=collection.name, size=collection.items.count() if size is None else size
    )


@router.get("/collections", response={200: list[LibraryCollectionOut], **ERRORS}, summary="My collections")
def collections(request: HttpRequest) -> Status:
    if not can_read(request.user):
        return Status(404, NOT_FOUND)
    return Status(200, [_collection(c) for c in my_collections(request.user)])


@router.post("/collections", response={201: LibraryCollectionOut, **ERRORS}, summary="Create a collection")
def create_collection(request: HttpRequest, data: LibraryCollectionIn) -> Status:
    if not can_read(request.user):
        return Status(404, NOT_FOUND)
    try:
        collection = services_shelf.do_create_collection(request.user, data.name, request=request)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=exc.messages[0], code="invalid"))
    return Status(201, _collection(collection))


@router.get(
    "/collections/{collection_id}", response={200: LibraryCollectionDetailOut, **ERRORS}, summary="A collection"
)
def collection_detail(request: HttpRequest, collection_id: str) -> Status:
    try:
        found = access_collection(request.user, collection_id, purpose="library.api.collection", request=request)
    except Http404:
        return Status(404, NOT_FOUND)
    articles = [item.article for item in found.items.select_related("article")]
    return Status(
        200,
        LibraryCollectionDetailOut(
            id=found.pk, name=found.name, size=len(articles), articles=[_brief(a) for a in articles]
        ),
    )


@router.post(
    "/collections/{collection_id}/items", response={201: LibraryCollectionOut, **ERRORS}, summary="Save an article"
)
def add_item(request: HttpRequest, collection_id: str, data: LibraryItemIn) -> Status:
    try:
        services_shelf.do_save_to_collection(request.user, collection_id, data.pmid, request=request)
        found = access_collection(request.user, collection_id, purpose="library.api.collection", request=request)
    except Http404:
        return Status(404, NOT_FOUND)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=exc.messages[0], code="invalid"))
    return Status(201, _collection(found))
