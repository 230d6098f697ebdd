from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from cordee.web.shell import shell_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """``shell``: the navigation, counts and user menu (``cordee.web.shell``), computed on first use."""
    return {
        "shell": SimpleLazyObject(lambda: shell_for(request)),
        "psc_enabled": bool(settings.PSC_SERVER_URL),
        "idle_timeout": settings.SESSION_IDLE_TIMEOUT_SECONDS,
    }
