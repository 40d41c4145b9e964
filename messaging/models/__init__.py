"""Messaging models: chat in ``chat.py``, meetings in ``meetings.py``."""

from __future__ import annotations

from messaging.models.chat import (
    Attachment,
    Conversation,
    ConversationKind,
    Ding,
    DingRecipient,
    MemberRole,
    Membership,
    Mention,
    Message,
    MessageKind,
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
    "Attendance",
    "Conversation",
    "ConversationKind",
    "Ding",
    "DingRecipient",
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
]
