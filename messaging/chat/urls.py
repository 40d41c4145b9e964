"""The chat page under /messages/."""

from __future__ import annotations

from django.urls import path

from messaging.chat.views import chat_page

urlpatterns = [
    path("", chat_page, name="messaging-index"),
]
