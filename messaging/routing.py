"""WebSocket routes of the messaging app (collected by officehub/routing.py)."""

from __future__ import annotations

from django.urls import path, re_path

from messaging.consumers.chat import UserSocketConsumer
from messaging.consumers.meeting import MeetingConsumer

websocket_urlpatterns = [
    path("ws/", UserSocketConsumer.as_asgi()),
    re_path(r"^ws/meetings/(?P<meeting_id>\d+)/$", MeetingConsumer.as_asgi()),
]
