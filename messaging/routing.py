"""WebSocket routes of the messaging app (collected by officehub/routing.py)."""

from __future__ import annotations

from django.urls import path

from messaging.consumers.chat import UserSocketConsumer

websocket_urlpatterns = [
    path("ws/", UserSocketConsumer.as_asgi()),
]
