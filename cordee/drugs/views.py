"""Drug database pages: search (with its htmx results fragment), product page, interactions.

Any signed-in user may use them (public reference data, see ``access.py``). Searches are not
audited: they name no patient and reveal nothing about one.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cordee.drugs import catalogue
from cordee.drugs.access import access_product, access_products
from cordee.drugs.interactions import interactions_for, thesaurus
from cordee.drugs.params import MAX_PICKED, parse_offset, parse_search, picked_codes
from cordee.drugs.search import GENERIC_KINDS, STATUSES, QueryError, search
from cordee.drugs.search_index import get_index
from cordee.lib import modules
from cordee.lib.http import AuthedRequest


def _search_context(request: AuthedRequest) -> tuple[dict, int]:
    """The context of the results; 400 for a query that cannot be searched."""
    params = request.GET
    pick = params.get("pick") == "1"
    context: dict = {"params": params, "pick": pick, "picked": picked_codes(params)}
    context["action_url"] = "drugs:interactions" if pick else "drugs:search"
    if "q" not in params and "group" not in params:
        return context, 200  # the page as first opened: no search yet
    try:
        query, filters = parse_search(params)
        context["results"] = results = search(query, filters, offset=parse_offset(params))
        context["filters"] = filters
        if results.next_offset is not None:
            following = params.copy()
            following["offset"] = str(results.next_offset)
            context["more_query"] = following.urlencode()
    except QueryError as exc:
        context["error"] = exc.message
        return context, 400
    return context, 200


def _filter_choices() -> dict:
    index = get_index()
    return {
        "routes": index.routes,
        "forms": index.forms,
        "statuses": STATUSES,
        "generic_kinds": GENERIC_KINDS,
        "not_imported": not index.docs,
    }


@login_required
@require_GET
def search_page(request: AuthedRequest) -> HttpResponse:
    context, status = _search_context(request)
    context.update(_filter_choices())
    return render(request, "drugs/search.html", context, status=status)


@login_required
@require_GET
def results(request: AuthedRequest) -> HttpResponse:
    """The results fragment for htmx. Always 200 (htmx does not swap error responses): an
    unsearchable query shows its message in place of the results. With an ``offset`` ("more
    results"), only the following items, to append to the list."""
    context, _status = _search_context(request)
    if context.get("results") and context["results"].offset:
        return render(request, "drugs/_result_items.html", context)
    return render(request, "drugs/_results.html", context)


@login_required
@require_GET
def product(request: AuthedRequest, cis: str) -> HttpResponse:
    found = access_product(request.user, cis, purpose="drugs.product.view")
    links = modules.product_links(request.user)  # other modules' pages about this product (the library…)
    return render(request, "drugs/product.html", {"sheet": catalogue.sheet(found), "module_links": links})


@login_required
@require_GET
def interactions(request: AuthedRequest) -> HttpResponse:
    chosen = access_products(request.user, picked_codes(request.GET), purpose="drugs.interactions")
    context: dict = {
        "chosen": chosen,
        "found": interactions_for(chosen),
        "max_picked": MAX_PICKED,
        "no_thesaurus": thesaurus().version is None,
    }
    context.update(_search_context(request)[0])
    context["pick"] = True
    return render(request, "drugs/interactions.html", context)
