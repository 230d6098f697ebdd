from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cordee.web.modules import chosen


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    modules = chosen(user.modules) if user is not None and user.is_authenticated else []
    return {"nav_modules": modules, "psc_enabled": bool(settings.PSC_SERVER_URL)}
