"""A request body that cannot be parsed gets a 400 in the API's error shape, not a 500.

Django parses a form or multipart body the first time ``request.POST`` is read, and the CSRF
check reads it before any view or authentication: a ``multipart/form-data`` without a boundary
(or with a broken one) raised there, a 500. This middleware, placed before the CSRF check, parses
such bodies first and answers 400 when they do not parse — JSON for ``/api/``, text otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bad_request(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = json.dumps({"detail": detail, "code": "invalid"})
        return HttpResponse(body, status=400, content_type="application/json")
    return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


class MalformedBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        content_type = request.META.get("CONTENT_TYPE", "").lower()
        if request.method in _UNSAFE and content_type.startswith(_FORM_TYPES):
            try:
                request.POST  # noqa: B018  (parses now: the CSRF check would, with a 500 on junk)
            except (MultiPartParserError, TooManyFieldsSent, BadRequest) as exc:
                return bad_request(request, f"The request body cannot be read: {exc.__class__.__name__}.")
            except RequestDataTooBig:
                return bad_request(request, "The request body is too large for a form.")
        return self.get_response(request)
