from __future__ import annotations

from django.urls import path

from seals import apis

urlpatterns = [
    path("", apis.SealListApi.as_view(), name="api-seals"),
    path("<int:seal_id>/", apis.SealDetailApi.as_view(), name="api-seal-detail"),
    path("<int:seal_id>/activate/", apis.SealActivateApi.as_view(), name="api-seal-activate"),
    path("<int:seal_id>/suspend/", apis.SealSuspendApi.as_view(), name="api-seal-suspend"),
    path("<int:seal_id>/resume/", apis.SealResumeApi.as_view(), name="api-seal-resume"),
    path("<int:seal_id>/revoke/", apis.SealRevokeApi.as_view(), name="api-seal-revoke"),
    path("<int:seal_id>/custodians/", apis.SealCustodiansApi.as_view(), name="api-seal-custodians"),
    path("<int:seal_id>/records/", apis.SealRecordsApi.as_view(), name="api-seal-records"),
    path("records/<int:record_id>/", apis.SealRecordDetailApi.as_view(), name="api-seal-record"),
    path("records/<int:record_id>/package/", apis.SealRecordPackageApi.as_view(), name="api-seal-record-package"),
    path("verify/", apis.VerifyApi.as_view(), name="api-seal-verify"),
    path("ca/", apis.CaApi.as_view(), name="api-seal-ca"),
]
