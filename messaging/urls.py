"""/messages/: the chat page, and meetings under meetings/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("messaging.chat.urls")),
    path("meetings/", include("messaging.meetings.urls")),
]
