"""Messaging models: chat in ``chat.py``, meetings in ``meetings.py``."""

from __future__ import annotations

from messaging.models.chat import (
    Attachment,
    AttachmentPreview,
    BundleItem,
    Conversation,
    ConversationKind,
    Ding,
    DingRecipient,
    HiddenMessage,
    MemberRole,
    Membership,
    Mention,
    Message,
    MessageKind,
    Reaction,
)
from messaging.models.meetings import (
    Attendance,
    Invitation,
    InvitationResponse,
    InvitationRole,
    Meeting,
    MeetingStatus,
    Participant,
)

__all__ = [
    "Attachment",
    "AttachmentPreview",
    "Attendance",
    "BundleItem",
    "Conversation",
    "ConversationKind",
    "Ding",
    "DingRecipient",
    "HiddenMessage",
    "Invitation",
    "InvitationResponse",
    "InvitationRole",
    "Meeting",
    "MeetingStatus",
    "MemberRole",
    "Membership",
    "Mention",
    "Message",
    "MessageKind",
    "Participant",
    "Reaction",
]
