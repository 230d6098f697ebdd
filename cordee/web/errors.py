"""Error pages in the user's language, inside the shell (Django's own are bare and in English).

403 and 404 say as little as the access rules: a page that does not exist and one that is not
open to the user read alike. The 500 page tries the whole shell, and falls back to a page that
needs no database (the error may be the database itself).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def _page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    # The page says nothing of the address asked (the language switch leads home): a missing page
    # and one not open to the user answer with the same bytes but for the CSRF tokens.
    context = {"status": status, "title": title, "text": text, "language_next": "/"}
    try:
        return render(request, "web/error.html", context, status=status)
    except Exception:  # the shell itself failed (database down…): the page without it
        logger.exception("error page %s: the shell could not be drawn", status)
        return HttpResponse(render_to_string("web/error_bare.html", context), status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, _("Access refused"), _("This page is not open to you."))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    text = _("This page does not exist, or it is not open to you. Check the address, or go back to the home page.")
    return _page(request, 404, _("Page not found"), text)


def server_error(request: HttpRequest) -> HttpResponse:
    text = _(
        "Something went wrong on our side; what you were doing may not have been saved. "
        "Try again in a moment; if it goes on, tell your structure's administrator."
    )
    return _page(request, 500, _("Server error"), text)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    text = _(
        "The form was too old to be accepted (the page stayed open a long time, or you signed in "
        "again meanwhile). Go back, reload the page and send it again."
    )
    return _page(request, 403, _("Form expired"), text)
