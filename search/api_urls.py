from __future__ import annotations

from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.ArchiveSearchApi.as_view(), name="api-archive-search"),
    path("search/export/", apis.ArchiveExportApi.as_view(), name="api-archive-export"),
    path("records/", apis.ArchiveRecordCreateApi.as_view(), name="api-archive-upload"),
    path("records/<int:record_id>/", apis.ArchiveRecordApi.as_view(), name="api-archive-record"),
    path("records/<int:record_id>/file/", apis.ArchiveFileApi.as_view(), name="api-archive-file"),
    path("documents/<int:document_id>/archive/", apis.ArchiveDocumentApi.as_view(), name="api-archive-document"),
    path("records/<int:record_id>/fixity/", apis.ArchiveFixityApi.as_view(), name="api-archive-fixity"),
    path("records/<int:record_id>/attachments/<int:number>/file/", apis.ArchiveAttachmentFileApi.as_view(),
         name="api-archive-attachment-file"),
]
