from __future__ import annotations

from django.urls import include, path

from messaging.views import chat_page

urlpatterns = [
    path("", chat_page, name="messaging-index"),
    path("meetings/", include("messaging.meetings_urls")),
]
