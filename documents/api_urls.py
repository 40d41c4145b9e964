from __future__ import annotations

from django.urls import path

from documents import apis

urlpatterns = [
    path("", apis.DocumentListApi.as_view(), name="api-documents"),
    path("import-docx/", apis.ImportDocxApi.as_view(), name="api-documents-import"),
    path("overdue/", apis.OverdueApi.as_view(), name="api-documents-overdue"),
    path("seal-requests/<int:seal_request_id>/decide/", apis.SealRequestDecideApi.as_view(), name="api-seal-request-decide"),
    path("<int:document_id>/", apis.DocumentDetailApi.as_view(), name="api-document"),
    path("<int:document_id>/submit/", apis.SubmitApi.as_view(), name="api-document-submit"),
    path("<int:document_id>/review/", apis.ReviewApi.as_view(), name="api-document-review"),
    path("<int:document_id>/countersign/", apis.CountersignApi.as_view(), name="api-document-countersign"),
    path("<int:document_id>/sign-off/", apis.SignOffApi.as_view(), name="api-document-sign-off"),
    path("<int:document_id>/recheck/", apis.RecheckApi.as_view(), name="api-document-recheck"),
    path("<int:document_id>/assign-number/", apis.AssignNumberApi.as_view(), name="api-document-assign-number"),
    path("<int:document_id>/seal-requests/", apis.SealRequestCreateApi.as_view(), name="api-document-seal-request"),
    path("<int:document_id>/distribute/", apis.DistributeApi.as_view(), name="api-document-distribute"),
    path("<int:document_id>/receive/", apis.ReceiveApi.as_view(), name="api-document-receive"),
    path("<int:document_id>/register/", apis.RegisterApi.as_view(), name="api-document-register"),
    path("<int:document_id>/screen/", apis.ScreenApi.as_view(), name="api-document-screen"),
    path("<int:document_id>/propose/", apis.ProposeApi.as_view(), name="api-document-propose"),
    path("<int:document_id>/instruct/", apis.InstructApi.as_view(), name="api-document-instruct"),
    path("<int:document_id>/handle/", apis.HandleApi.as_view(), name="api-document-handle"),
    path("<int:document_id>/read/", apis.ReadApi.as_view(), name="api-document-read"),
    path("<int:document_id>/conclude/", apis.ConcludeApi.as_view(), name="api-document-conclude"),
    path("<int:document_id>/remind/", apis.RemindApi.as_view(), name="api-document-remind"),
    path("<int:document_id>/share/", apis.ShareApi.as_view(), name="api-document-share"),
    path("<int:document_id>/timeline/", apis.TimelineApi.as_view(), name="api-document-timeline"),
    path("<int:document_id>/versions/", apis.VersionsApi.as_view(), name="api-document-versions"),
    path("<int:document_id>/diff/", apis.DiffApi.as_view(), name="api-document-diff"),
    path("<int:document_id>/versions/<int:number>/comments/", apis.CommentsApi.as_view(), name="api-document-comments"),
    path("<int:document_id>/docx/", apis.DocxApi.as_view(), name="api-document-docx"),
    path("<int:document_id>/pdf/", apis.PdfApi.as_view(), name="api-document-pdf"),
    path("<int:document_id>/seal-options/", apis.SealOptionsApi.as_view(), name="api-document-seal-options"),
    path("<int:document_id>/package/", apis.PackageApi.as_view(), name="api-document-package"),
    path("<int:document_id>/seal-verification/", apis.SealVerificationApi.as_view(), name="api-document-seal-verification"),
]
