from __future__ import annotations

from django.urls import path

from documents import preview, views

urlpatterns = [
    path("", views.document_list, name="documents-index"),
    path("new/", views.document_new, name="documents-new"),
    path("<int:document_id>/", views.document_detail, name="documents-detail"),
    path("<int:document_id>/edit/", views.document_edit, name="documents-edit"),
    path("<int:document_id>/act/<str:action>/", views.document_act, name="documents-act"),
    path("<int:document_id>/timeline/", views.document_timeline_page, name="documents-timeline"),
    path("<int:document_id>/preview/", preview.document_preview_download, name="documents-preview"),
    path("<int:document_id>/diff/", views.document_diff, name="documents-diff"),
    path("<int:document_id>/docx/", views.document_docx_download, name="documents-docx"),
    path("<int:document_id>/pdf/", views.document_pdf_download, name="documents-pdf"),
    path("<int:document_id>/package/", views.document_package_download, name="documents-package"),
]
