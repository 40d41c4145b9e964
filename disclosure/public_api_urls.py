"""Public API of the 政务公开 portal, mounted at ``/api/gk/`` (no login)."""

from __future__ import annotations

from django.urls import path

from disclosure import apis, views
from disclosure.edges import public_cache

urlpatterns = [
    # Published content is conditional and publicly cacheable, as the pages are.
    path("documents/", public_cache(views.listing_validator)(apis.PortalSearchApi.as_view()), name="api-portal-search"),
    path("documents/<int:document_id>/", public_cache(views.document_validator)(apis.PortalDocumentApi.as_view()),
         name="api-portal-document"),
    path("requests/", apis.RequestFileApi.as_view(), name="api-portal-request-file"),
    path("requests/<str:tracking_number>/", apis.RequestTrackApi.as_view(), name="api-portal-request"),
]
