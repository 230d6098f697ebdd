"""The second baseline of ``bench/http``: Django's ASGI handler with one view and no middleware.

``DJANGO_SETTINGS_MODULE=bench.http.bare_django uvicorn bench.http.bare_django:application``:
what Django itself costs per request, before any of Cordée's middleware, session or database.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

SECRET_KEY = "bench-only-not-a-secret-bench-only-not-a-secret"  # noqa: S105  (a throwaway benchmark app)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
MIDDLEWARE: list[str] = []
INSTALLED_APPS: list[str] = []
DATABASES: dict = {}
USE_TZ = True


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("", ok)]

if __name__ != "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
