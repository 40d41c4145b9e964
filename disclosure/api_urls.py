"""Staff API of 政务公开, mounted at ``/api/disclosure/``."""

from __future__ import annotations

from django.urls import path

from disclosure import apis

urlpatterns = [
    path("requests/", apis.RequestListApi.as_view(), name="api-disclosure-requests"),
    path("requests/<int:request_id>/", apis.RequestDetailApi.as_view(), name="api-disclosure-request"),
    path("requests/<int:request_id>/register/", apis.RequestRegisterApi.as_view(), name="api-disclosure-register"),
    path("requests/<int:request_id>/assign/", apis.RequestAssignApi.as_view(), name="api-disclosure-assign"),
    path("requests/<int:request_id>/extend/", apis.RequestExtendApi.as_view(), name="api-disclosure-extend"),
    path("requests/<int:request_id>/reply/", apis.RequestReplyApi.as_view(), name="api-disclosure-reply"),
    path("requests/<int:request_id>/conclude/", apis.RequestConcludeApi.as_view(), name="api-disclosure-conclude"),
    path("requests/<int:request_id>/reply-file/", apis.RequestReplyFileApi.as_view(), name="api-disclosure-reply-file"),
    path("overdue/", apis.OverdueApi.as_view(), name="api-disclosure-overdue"),
    path("publications/", apis.PublicationListApi.as_view(), name="api-disclosure-publications"),
    path("publications/<int:publication_id>/withdraw/", apis.PublicationWithdrawApi.as_view(),
         name="api-disclosure-withdraw"),
]
