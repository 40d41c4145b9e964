"""WebSocket routes of the messaging app (collected by officehub/routing.py)."""

from __future__ import annotations

from django.urls import path, re_path

from messaging.chat.consumers import UserSocketConsumer
from messaging.meetings.consumers import MeetingConsumer

websocket_urlpatterns = [
    path("ws/", UserSocketConsumer.as_asgi()),
    re_path(r"^ws/meetings/(?P<meeting_id>\d+)/$", MeetingConsumer.as_asgi()),
]
