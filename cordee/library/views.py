"""Library pages: search (with its htmx results fragment), article, collections, exports.

For professionals and staff (``access.can_read``). Searches are not audited: they read public
reference data and name no patient. Changes (collections, notes, sharing) go through
``services_shelf``, which audits them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.drugs.access import access_product
from cordee.lib.http import AuthedRequest
from cordee.library import cite
from cordee.library.access import access_article, access_collection, can_read, my_collections
from cordee.library.models import Article, CollectionItem
from cordee.library.params import LANGUAGES, PUBLICATION_TYPES, parse_filters, parse_offset, parse_sort
from cordee.library.query import QueryError
from cordee.library.search import related, search
from cordee.library.services import shelf as services_shelf
from cordee.library.substances import search_substances, substance_names


def _reader(request: AuthedRequest) -> None:
    if not can_read(request.user):
        raise Http404


def _search_context(request: AuthedRequest) -> tuple[dict, int]:
    params = request.GET
    context: dict = {"params": params, "types": PUBLICATION_TYPES, "languages": LANGUAGES}
    if not any(params.get(k) for k in ("q", "type", "from", "to", "journal", "lang", "mesh")):
        return context, 200
    try:
        filters = parse_filters(params)
        results = search(params.get("q", ""), filters, sort=parse_sort(params), offset=parse_offset(params))
    except QueryError as exc:
        context["error"] = exc.message
        return context, 400
    context["results"] = results
    if results.next_offset is not None:
        following = params.copy()
        following["offset"] = str(results.next_offset)
        context["more_query"] = following.urlencode()
    return context, 200


@login_required
@require_GET
def search_page(request: AuthedRequest) -> HttpResponse:
    _reader(request)
    context, status = _search_context(request)
    context["not_imported"] = not Article.objects.exists()
    return render(request, "library/search.html", context, status=status)


@login_required
@require_GET
def results(request: AuthedRequest) -> HttpResponse:
    """The results fragment for htmx: always 200 (htmx does not swap errors), the error in place."""
    _reader(request)
    context, _status = _search_context(request)
    return render(request, "library/_results.html", context)


@login_required
@require_GET
def article(request: AuthedRequest, pmid: str) -> HttpResponse:
    found = access_article(request.user, pmid, purpose="library.article.view", include_withdrawn=True)
    note = services_shelf.note_for(request.user, found)
    collections = my_collections(request.user)
    saved = set(
        CollectionItem.objects.filter(collection__in=collections, article=found).values_list("collection", flat=True)
    )
    context = {
        "article": found,
        "citation": cite.vancouver(found),
        "related": related(found),
        "collections": collections,
        "saved_in": [c for c in collections if c.pk in saved],
        "note": note.text if note else "",
        "share_targets": services_shelf.share_targets(request.user),
    }
    return render(request, "library/article.html", context)


@login_required
@require_POST
def save(request: AuthedRequest, pmid: str) -> HttpResponse:
    access_article(request.user, pmid, purpose="library.collection.add")
    try:
        collection_id = request.POST.get("collection", "")
        if collection_id == "new" or not collection_id:
            collection = services_shelf.do_create_collection(request.user, request.POST.get("name"), request=request)
            collection_id = str(collection.pk)
        services_shelf.do_save_to_collection(request.user, collection_id, pmid, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("library:article", pmid)
    messages.success(request, _("Saved to your collection."))
    return redirect("library:article", pmid)


@login_required
@require_POST
def save_note(request: AuthedRequest, pmid: str) -> HttpResponse:
    try:
        note = services_shelf.do_save_note(request.user, pmid, request.POST.get("note", ""), request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("library:article", pmid)
    messages.success(request, _("Note saved.") if note else _("Note deleted."))
    return redirect("library:article", pmid)


@login_required
@require_POST
def share(request: AuthedRequest, pmid: str) -> HttpResponse:
    try:
        result = services_shelf.do_share_to_conversation(
            request.user, pmid, request.POST.get("conversation"), note=request.POST.get("note", ""), request=request
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("library:article", pmid)
    messages.success(request, _("Reference shared in the conversation."))
    return redirect("messaging:conversation", result.message.conversation_id)


@login_required
def collections(request: AuthedRequest) -> HttpResponse:
    _reader(request)
    if request.method == "POST":
        try:
            collection = services_shelf.do_create_collection(request.user, request.POST.get("name"), request=request)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("library:collections")
        return redirect("library:collection", collection.pk)
    return render(request, "library/collections.html", {"collections": my_collections(request.user)})


@login_required
@require_GET
def collection(request: AuthedRequest, collection_id: int) -> HttpResponse:
    found = access_collection(request.user, collection_id, purpose="library.collection.view", request=request)
    items = found.items.select_related("article")
    return render(request, "library/collection.html", {"collection": found, "items": items})


@login_required
@require_POST
def remove(request: AuthedRequest, collection_id: int, pmid: str) -> HttpResponse:
    services_shelf.do_remove_from_collection(request.user, collection_id, pmid, request=request)
    messages.success(request, _("Removed from the collection."))
    return redirect("library:collection", collection_id)


@login_required
@require_POST
def delete_collection(request: AuthedRequest, collection_id: int) -> HttpResponse:
    services_shelf.do_delete_collection(request.user, collection_id, request=request)
    messages.success(request, _("Collection deleted."))
    return redirect("library:collections")


@login_required
@require_GET
def export(request: AuthedRequest, collection_id: int, fmt: str) -> HttpResponse:
    found = access_collection(request.user, collection_id, purpose="library.collection.export", request=request)
    articles = [item.article for item in found.items.select_related("article")]
    if fmt == "ris":
        body, content_type, suffix = cite.ris(articles), "application/x-research-info-systems", "ris"
    elif fmt == "bib":
        body, content_type, suffix = cite.bibtex(articles), "application/x-bibtex", "bib"
    else:
        raise Http404
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="collection-{found.pk}.{suffix}"'
    return response


@login_required
@require_GET
def for_product(request: AuthedRequest, cis: str) -> HttpResponse:
    """Articles on a drug's active substances (from the drug page): their names, French INN bridged."""
    _reader(request)
    product = access_product(request.user, cis, purpose="library.product")
    names = substance_names(product.cis)
    found = search_substances(names, sort=parse_sort(request.GET)) if names else None
    context = {"product": product, "names": names, "results": found, "params": request.GET}
    return render(request, "library/product.html", context)
