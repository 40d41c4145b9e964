"""The public portal, mounted at ``/gk/`` (no login)."""

from __future__ import annotations

from django.urls import path

from disclosure import views

urlpatterns = [
    path("", views.portal_index, name="portal-index"),
    path("documents/<int:document_id>/", views.portal_document, name="portal-document"),
    path("documents/<int:document_id>/file/", views.portal_document_file, name="portal-document-file"),
    path("requests/new/", views.request_new, name="portal-request-new"),
    path("requests/track/", views.request_lookup, name="portal-track-lookup"),
    path("requests/<str:tracking_number>/", views.request_track, name="portal-track"),
    path("requests/<str:tracking_number>/reply-file/", views.request_reply_file, name="portal-track-file"),
]
