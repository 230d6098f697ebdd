"""The view decorator for forms that run a service and go back to a page.

A ``do_*``/``check_*`` service refuses with ``ValidationError`` (shown to the person as an error
message on the page they came from; the service's transaction rolled back) or ``PermissionDenied``
(the 404 a missing object gets, unless the view gives a message for it: a member who may read a
conversation but not rename it is told so). Views then only parse, call and say what was done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import Promise

View = TypeVar("View", bound=Callable[..., HttpResponse])
Back = str | Callable[[HttpRequest, dict[str, Any]], str]


def _back_url(back: Back, request: HttpRequest, kwargs: dict[str, Any]) -> str:
    return back(request, kwargs) if callable(back) else reverse(back, kwargs=kwargs)


def service_form(back: Back, *, forbidden: str | Promise | None = None) -> Callable[[View], View]:
    """``back``: where a refused form goes — a URL name reversed with the view's URL kwargs, or
    ``callable(request, kwargs) -> url``. ``forbidden``: the message for ``PermissionDenied``
    (default: the 404 of a missing object)."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except PermissionDenied:
                if forbidden is None:
                    raise Http404 from None
                messages.error(request, str(forbidden))
            return redirect(_back_url(back, request, kwargs))

        return wrapper  # type: ignore[return-value]  # same signature as the view it wraps

    return decorator
