"""WebSocket routes. Each app adds its consumers here."""

from django.urls import path

from cordee.messaging.consumers import MessagingConsumer

websocket_urlpatterns: list = [
    path("ws/messagerie/", MessagingConsumer.as_asgi()),
]
