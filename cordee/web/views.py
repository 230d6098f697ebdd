"""The shell's own pages: home ("what waits for me"), modules, global search, the counts the open
tabs poll, the session's state for the idle-timeout warning, the manifest and the favicon."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.services import do_set_modules
from cordee.accounts.sessions import LAST_SEEN_KEY, session_deadline
from cordee.lib import modules as registry
from cordee.lib.http import AuthedRequest
from cordee.web.shell import shell_for

SEARCH_MAX = 100
_FAVICON = Path(__file__).resolve().parent / "static" / "web" / "icons" / "favicon.ico"


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    return render(request, "web/home.html", {"cards": shell_for(request).cards()})


@login_required
@require_http_methods(["GET", "POST"])
def modules(request: AuthedRequest) -> HttpResponse:
    offered = registry.modules(request.user.kind)
    if request.method == "POST":
        try:
            do_set_modules(request.user, request.POST.getlist("modules"), request=request)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            context = {"modules": offered, "selected": set(request.POST.getlist("modules"))}
            return render(request, "web/modules.html", context, status=400)
        messages.success(request, _("Your modules were saved."))
        return redirect("web:modules")
    return render(request, "web/modules.html", {"modules": offered, "selected": set(request.user.modules)})


@login_required
@require_GET
def search(request: AuthedRequest) -> HttpResponse:
    """Every section the user may search (patients, conversations, drugs…), for the same words."""
    text = " ".join(request.GET.get("q", "").split())[:SEARCH_MAX]
    sections = shell_for(request).searches
    results = []
    if text:
        for section in sections:
            hits = section.search(request, text)
            more = section.more_url(text) if section.more_url is not None else ""
            results.append({"section": section, "hits": hits, "more": more})
    context = {"search_text": text, "sections": sections, "results": results}
    return render(request, "web/search.html", context)


@login_required
@require_GET
def waiting(request: AuthedRequest) -> JsonResponse:
    """What waits, entry by entry, for the badges and the title of open tabs (polled; a request
    marked ``X-Cordee-Background`` does not count as activity for the idle timeout)."""
    shell = shell_for(request)
    counts = {
        item.key: {"count": item.count, "describe": item.describe} for item in shell.main if item.count is not None
    }
    return JsonResponse({"total": shell.total, "entries": counts})


@require_GET
def session_state(request: HttpRequest) -> JsonResponse:
    """Seconds left before the session ends by time, for the idle-timeout warning (never counts as
    activity); ``{"active": false}`` once it has ended."""
    if not request.user.is_authenticated:
        return JsonResponse({"active": False})
    left = session_deadline(request.session) - time.time()
    return JsonResponse(
        {"active": True, "seconds_left": max(0, int(left)), "idle": settings.SESSION_IDLE_TIMEOUT_SECONDS}
    )


@login_required
@require_POST
def keep_alive(request: AuthedRequest) -> JsonResponse:
    """The "stay signed in" button: activity now (the idle timeout starts again)."""
    request.session[LAST_SEEN_KEY] = int(time.time())  # not only once a minute, as other requests
    left = session_deadline(request.session) - time.time()
    return JsonResponse({"active": True, "seconds_left": max(0, int(left))})


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement (déclaration d'accessibilité), in French, in the RGAA's form."""
    context = {"version": "0.1", "contact": settings.ACCESSIBILITY_CONTACT}
    return render(request, "web/accessibility.html", context)


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "web/manifest.webmanifest", content_type="application/manifest+json")


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    return FileResponse(_FAVICON.open("rb"), content_type="image/x-icon")
