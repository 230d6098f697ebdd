"""Request types for views behind ``login_required`` (django-stubs' recommended pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from cordee.accounts.models import User


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]  # login_required guarantees an authenticated user
