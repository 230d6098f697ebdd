"""Headers every dynamic answer carries (static files are served before, by WhiteNoise).

- ``Cache-Control: no-store`` (and ``private``): pages and API answers may carry health data; no
  browser cache, back-forward cache or shared proxy may keep them. An answer that set its own
  caching (none does today) keeps it.
- ``Permissions-Policy`` (``PERMISSIONS_POLICY``): browser features no page uses are off.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PrivateResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        if settings.PERMISSIONS_POLICY and not response.has_header("Permissions-Policy"):
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response
