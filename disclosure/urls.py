"""The office's handling pages, mounted at ``/disclosure/`` (signed-in staff)."""

from __future__ import annotations

from django.urls import path

from disclosure import views

urlpatterns = [
    path("", views.staff_request_list, name="disclosure-index"),
    path("overdue/", views.staff_overdue, name="disclosure-overdue"),
    path("publications/", views.staff_publications, name="disclosure-publications"),
    path("publications/<int:publication_id>/withdraw/", views.staff_publication_withdraw,
         name="disclosure-publication-withdraw"),
    path("requests/<int:request_id>/", views.staff_request_detail, name="disclosure-request"),
    path("requests/<int:request_id>/reply-file/", views.staff_request_file, name="disclosure-request-file"),
    path("requests/<int:request_id>/<str:action>/", views.staff_request_act, name="disclosure-request-act"),
]
