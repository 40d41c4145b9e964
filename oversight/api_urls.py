from __future__ import annotations

from django.urls import path

from oversight import apis

urlpatterns = [
    path("circulation/", apis.CirculationApi.as_view(), name="api-oversight-circulation"),
    path("handling-times/", apis.HandlingTimesApi.as_view(), name="api-oversight-handling-times"),
    path("overdue/", apis.OverdueApi.as_view(), name="api-oversight-overdue"),
    path("overdue/<int:office_id>/", apis.OverdueItemsApi.as_view(), name="api-oversight-overdue-items"),
    path("reminders/", apis.RemindersApi.as_view(), name="api-oversight-reminders"),
    path("seals/", apis.SealUseApi.as_view(), name="api-oversight-seals"),
    path("disclosure/", apis.DisclosureApi.as_view(), name="api-oversight-disclosure"),
    path("messages/", apis.MessageActivityApi.as_view(), name="api-oversight-messages"),
]
