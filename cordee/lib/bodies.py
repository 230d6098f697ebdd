"""A request body that cannot be parsed gets a 400 in the API's error shape, not a 500.

Django parses a form or multipart body the first time ``request.POST`` is read, and the CSRF
check reads it before any view or authentication: a ``multipart/form-data`` without a boundary
(or with a broken one) raised there, a 500. This middleware, placed before the CSRF check, parses
such bodies first and answers 400 when they do not parse — JSON for ``/api/``, text otherwise.

Because the body is parsed here, a view that needs its own upload handlers (a limit enforced while a
file arrives, a file kept on disk only) says so with ``@with_upload_handlers(factory)``: this
middleware resolves the URL and installs them before anything reads ``request.POST``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve

_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FACTORY = "cordee_upload_handlers"

View = TypeVar("View", bound=Callable[..., Any])


def with_upload_handlers(factory: Callable[[HttpRequest], list[FileUploadHandler]]) -> Callable[[View], View]:
    """The upload handlers that parse this view's multipart bodies (instead of ``FILE_UPLOAD_HANDLERS``)."""

    def decorator(view: View) -> View:
        setattr(view, _FACTORY, factory)
        return view

    return decorator


def _install_upload_handlers(request: HttpRequest) -> None:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return
    factory = getattr(match.func, _FACTORY, None)
    if factory is not None:
        request.upload_handlers = factory(request)


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
            if content_type.startswith("multipart/"):
                _install_upload_handlers(request)
            try:
                request.POST  # noqa: B018  (parses now: the CSRF check would, with a 500 on junk)
            except (MultiPartParserError, TooManyFieldsSent, BadRequest) as exc:
                return bad_request(request, f"The request body cannot be read: {exc.__class__.__name__}.")
            except RequestDataTooBig:
                return bad_request(request, "The request body is too large for a form.")
        return self.get_response(request)
