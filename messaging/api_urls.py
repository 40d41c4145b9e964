"""/api/messaging/: chat at the top, meetings under meetings/."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("messaging.chat.api_urls")),
    path("meetings/", include("messaging.meetings.api_urls")),
]
