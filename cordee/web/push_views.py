"""The pages of Web Push: the notifications settings, turning a browser on or off, the service worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.lib.http import AuthedRequest
from cordee.web import push, services
from cordee.web.models import PushSubscription


@login_required
@require_GET
def notifications(request: AuthedRequest) -> HttpResponse:
    browsers = PushSubscription.objects.filter(user=request.user).order_by("-created_at")
    strings = {
        "on": _("Notifications are on for this device."),
        "off": _("Notifications are off for this device."),
        "denied": _("This browser blocks Cordée's notifications: allow them in the site's settings of the browser."),
        "unsupported": _(
            "This browser cannot receive notifications (on an iPhone, add Cordée to the home screen first)."
        ),
        "failed": _("Notifications could not be turned on."),
    }
    context = {"vapid_public_key": push.public_key(), "browsers": browsers, "push_strings": strings}
    return render(request, "web/notifications.html", context)


def _json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


@login_required
@require_POST
def subscribe(request: AuthedRequest) -> JsonResponse:
    if push.vapid() is None:
        return JsonResponse({"detail": _("Notifications are not configured on this server.")}, status=409)
    try:
        services.do_subscribe(request.user, _json(request), request=request)
    except ValidationError as exc:
        return JsonResponse({"detail": exc.messages[0]}, status=400)
    return JsonResponse({"ok": True})


@login_required
@require_POST
def unsubscribe(request: AuthedRequest) -> JsonResponse:
    data = _json(request)
    endpoint = str(data.get("endpoint") or "") if isinstance(data, dict) else ""
    return JsonResponse({"ok": services.do_unsubscribe(request.user, endpoint, request=request)})


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the site's root so that its scope is the whole site."""
    path = finders.find("web/sw.js")
    body = Path(str(path)).read_bytes() if path else b""
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check for a new version at every load
    return response
