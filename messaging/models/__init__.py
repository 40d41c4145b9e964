"""Messaging models. Chat lives in ``chat.py``; meetings add their own module beside it."""

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
from messaging.models.meetings import *  # noqa: F403 - meetings models, listed in their __all__

__all__ = [
    "Attachment",
    "Conversation",
    "ConversationKind",
    "Ding",
    "DingRecipient",
    "MemberRole",
    "Membership",
    "Mention",
    "Message",
    "MessageKind",
]
