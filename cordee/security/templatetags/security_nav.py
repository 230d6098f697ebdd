"""``user|is_security_officer`` for the navigation: one query per request, remembered on the user."""

from __future__ import annotations

from typing import Any

from django import template

from cordee.security.access import is_security_officer as _is_officer

register = template.Library()
_MEMO = "_cordee_is_security_officer"


@register.filter
def is_security_officer(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or getattr(user, "kind", "") == "patient":
        return False
    if not hasattr(user, _MEMO):
        setattr(user, _MEMO, _is_officer(user))
    return bool(getattr(user, _MEMO))
