from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods

from cordee.accounts.services import do_set_modules
from cordee.lib.http import AuthedRequest
from cordee.web.modules import MODULES


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context = {
        "memberships": user.memberships.select_related("structure").order_by("structure__name"),
        "professional": getattr(user, "professional", None),
    }
    return render(request, "web/home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def modules(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            do_set_modules(request.user, request.POST.getlist("modules"), request=request)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            context = {"modules": MODULES, "selected": set(request.POST.getlist("modules"))}
            return render(request, "web/modules.html", context, status=400)
        messages.success(request, _("Your modules were saved."))
        return redirect("web:modules")
    return render(request, "web/modules.html", {"modules": MODULES, "selected": set(request.user.modules)})


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "web/manifest.webmanifest", content_type="application/manifest+json")
