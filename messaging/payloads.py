"""Typed payloads that cross the channel layer and the socket.

Channel-layer events (``type`` with a dot, dispatched by Channels to a consumer method)
are built here by the services and forwarded by ``messaging.consumers.chat`` as frames.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

from messaging.models import Ding, Message, MessageKind

RECALLED_TEXT = "消息已撤回"


class AttachmentInfo(TypedDict):
    id: int
    name: str
    size: int
    content_type: str
    url: str


class DingInfo(TypedDict):
    id: int
    recipient_ids: list[int]
    cancelled: bool


class MessagePayload(TypedDict):
    id: int
    conversation_id: int
    seq: int
    client_id: str
    sender_id: int | None
    sender_name: str
    kind: str
    body: str
    created_at: str
    recalled: bool
    mentions: list[int]
    mention_all: bool
    attachment: AttachmentInfo | None
    document_id: int | None
    ding: DingInfo | None


class MessageEvent(TypedDict):
    """The ``message`` frame, JSON-encoded once by the publisher: a group of n members
    would otherwise encode the same payload n times, once per socket."""

    type: Literal["chat.message"]
    text: str


def message_event(payload: MessagePayload) -> MessageEvent:
    return {"type": "chat.message", "text": json.dumps({"type": "message", "message": payload}, ensure_ascii=False)}


class ReadEvent(TypedDict):
    """To the senders of the messages a member just read: their receipts change."""

    type: Literal["chat.read"]
    conversation_id: int
    user_id: int
    from_seq: int
    to_seq: int


class ReadSelfEvent(TypedDict):
    """To the reader's own user group: every device of theirs updates its unread count."""

    type: Literal["chat.read_self"]
    conversation_id: int
    last_read_seq: int


class RecalledEvent(TypedDict):
    type: Literal["chat.recalled"]
    conversation_id: int
    message_id: int
    seq: int
    recalled_by: int


class DingUpdateEvent(TypedDict):
    type: Literal["chat.ding_update"]
    ding_id: int
    message_id: int
    conversation_id: int
    confirmed_ids: list[int]
    total: int
    cancelled: bool


class MembershipEvent(TypedDict):
    type: Literal["chat.joined", "chat.left"]
    conversation_id: int


class TypingEvent(TypedDict):
    type: Literal["chat.typing"]
    conversation_id: int
    user_id: int
    name: str


class PresenceEvent(TypedDict):
    type: Literal["chat.presence"]
    user_id: int
    online: bool


_UNSET: Any = object()


def message_payload(
    message: Message, *, mentions: list[int] | None = None, ding: Ding | None = _UNSET
) -> MessagePayload:
    """Serialise a message for any member. A recalled message keeps its place (seq) but
    shows no content to anyone. Pass ``mentions``/``ding`` when already known to save
    the queries (the send path does)."""
    recalled = message.recalled_at is not None
    attachment: AttachmentInfo | None = None
    if message.attachment_id and not recalled:
        att = message.attachment
        attachment = {
            "id": att.pk,
            "name": att.name,
            "size": att.size,
            "content_type": att.content_type,
            "url": f"/api/messaging/attachments/{att.pk}/download/",
        }
    if ding is _UNSET:
        ding = getattr(message, "ding", None)  # reverse one-to-one: None when absent
    ding_info: DingInfo | None = None
    if ding is not None:
        ding_info = {
            "id": ding.pk,
            "recipient_ids": sorted(r.user_id for r in ding.recipients.all()),
            "cancelled": ding.cancelled_at is not None,
        }
    if mentions is None:
        mentions = sorted(m.user_id for m in message.mention_rows.all())
    sender = message.sender
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender_id": message.sender_id,
        "sender_name": sender.display_name if sender else "系统",
        "kind": message.kind,
        "body": RECALLED_TEXT if recalled else message.body,
        "created_at": message.created_at.isoformat(),
        "recalled": recalled,
        "mentions": [] if recalled else mentions,
        "mention_all": message.mention_all and not recalled,
        "attachment": attachment,
        "document_id": None if recalled or message.kind != MessageKind.DOCUMENT else message.document_id,
        "ding": ding_info,
    }
