"""ASGI entry point: HTTP through Django, WebSockets through Channels (cordee.routing)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from cordee.lib.asgi import (  # noqa: E402
    BodySizeLimit,
    SameOriginWebSockets,
    SyncChainHandler,
    settle_startup_objects,
)
from cordee.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(SyncChainHandler()),
        "websocket": SameOriginWebSockets(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
settle_startup_objects()
