"""Meeting pages under /messages/meetings/."""

from __future__ import annotations

from django.urls import path

from messaging.meetings import views

urlpatterns = [
    path("", views.meetings_index, name="meetings-index"),
    path("<int:meeting_id>/", views.meeting_room, name="meeting-room"),
    path("<int:meeting_id>/respond/", views.meeting_respond, name="meeting-respond"),
    path("<int:meeting_id>/<slug:action>/", views.meeting_action, name="meeting-action"),
]
