from __future__ import annotations

from django.urls import path

from search import views

urlpatterns = [
    path("", views.archive_search_page, name="search-index"),
    path("export.csv", views.archive_export_page, name="search-export"),
    path("upload/", views.archive_upload_page, name="search-upload"),
    path("pending/", views.archive_pending_page, name="search-pending"),
    path("records/<int:record_id>/", views.archive_record_page, name="search-record"),
    path("records/<int:record_id>/file/", views.archive_file_page, name="search-record-file"),
    path("records/<int:record_id>/attachments/<int:number>/", views.archive_attachment_page, name="search-record-attachment"),
]
