"""/api/messaging/ routes of chat."""

from __future__ import annotations

from django.urls import path

from messaging.chat import apis

urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="api-chat-conversations"),
    path("unread/", apis.UnreadApi.as_view(), name="api-chat-unread"),
    path("conversations/direct/", apis.DirectConversationApi.as_view(), name="api-chat-direct"),
    path("conversations/<int:conversation_id>/", apis.ConversationDetailApi.as_view(), name="api-chat-conversation"),
    path("conversations/<int:conversation_id>/members/", apis.ConversationMembersApi.as_view(), name="api-chat-members"),
    path(
        "conversations/<int:conversation_id>/members/<int:user_id>/",
        apis.ConversationMemberApi.as_view(),
        name="api-chat-member",
    ),
    path("conversations/<int:conversation_id>/messages/", apis.MessageListApi.as_view(), name="api-chat-messages"),
    path(
        "conversations/<int:conversation_id>/messages/around/<int:seq>/",
        apis.MessagesAroundApi.as_view(),
        name="api-chat-messages-around",
    ),
    path(
        "conversations/<int:conversation_id>/history-visibility/",
        apis.HistoryVisibilityApi.as_view(),
        name="api-chat-history-visibility",
    ),
    path("conversations/<int:conversation_id>/read/", apis.ReadApi.as_view(), name="api-chat-read"),
    path("conversations/<int:conversation_id>/attachments/", apis.AttachmentUploadApi.as_view(), name="api-chat-upload"),
    path("conversations/<int:conversation_id>/dings/", apis.DingSendApi.as_view(), name="api-chat-ding-send"),
    path("messages/<int:message_id>/receipts/", apis.ReceiptsApi.as_view(), name="api-chat-receipts"),
    path("messages/<int:message_id>/recall/", apis.RecallApi.as_view(), name="api-chat-recall"),
    path("messages/<int:message_id>/document/", apis.DocumentCardApi.as_view(), name="api-chat-document"),
    path("attachments/<int:attachment_id>/download/", apis.AttachmentDownloadApi.as_view(), name="api-chat-download"),
    path("messages/forward/", apis.ForwardApi.as_view(), name="api-chat-forward"),
    path("messages/hide/", apis.HideApi.as_view(), name="api-chat-hide"),
    path("messages/<int:message_id>/bundle/", apis.BundleApi.as_view(), name="api-chat-bundle"),
    path("messages/<int:message_id>/reactions/", apis.ReactionsApi.as_view(), name="api-chat-reactions"),
    path("conversations/<int:conversation_id>/settings/", apis.ConversationSettingsApi.as_view(), name="api-chat-settings"),
    path("conversations/<int:conversation_id>/announcement/", apis.AnnouncementApi.as_view(), name="api-chat-announcement"),
    path(
        "conversations/<int:conversation_id>/announcement/read/",
        apis.AnnouncementReadApi.as_view(),
        name="api-chat-announcement-read",
    ),
    path(
        "conversations/<int:conversation_id>/announcement/readers/",
        apis.AnnouncementReadersApi.as_view(),
        name="api-chat-announcement-readers",
    ),
    path("attachments/<int:attachment_id>/thumbnail/", apis.ThumbnailApi.as_view(), name="api-chat-thumbnail"),
    path("attachments/<int:attachment_id>/preview/", apis.PreviewApi.as_view(), name="api-chat-preview"),
    path("attachments/<int:attachment_id>/preview/<int:page>/", apis.PreviewPageApi.as_view(), name="api-chat-preview-page"),
    path("dings/<int:ding_id>/", apis.DingApi.as_view(), name="api-chat-ding"),
    path("dings/<int:ding_id>/confirm/", apis.DingConfirmApi.as_view(), name="api-chat-ding-confirm"),
    path("dings/<int:ding_id>/cancel/", apis.DingCancelApi.as_view(), name="api-chat-ding-cancel"),
]
