"""Typed payloads of the user socket: what crosses the channel layer and what the socket
sends (docs/websocket-protocol.md).

Channel-layer events (``type`` with a dot, ``chat.*``) are built by the services and
published after commit (``officehub.realtime.publish_on_commit``); the consumer
(``messaging.chat.consumers``) turns each into the frame of the same name without the
``chat.`` prefix. Every frame the consumer sends is one of the ``*Frame`` types below.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, Required, TypedDict

from messaging.models import Ding, Message, MessageKind
from messaging.sockets import ErrorFrame, ResyncFrame

RECALLED_TEXT = "消息已撤回"


# ------------------------------------------------------------------------ the message


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


class HistoryMessage(MessagePayload, total=False):
    """A message of the HTTP history: the caller's own messages carry their receipts."""

    read_count: int
    unread_count: int


_UNSET: Any = object()


def message_payload(message: Message, *, mentions: list[int] | None = None, ding: Ding | None = _UNSET) -> MessagePayload:
    """Serialise a message for any member. A recalled message keeps its place (seq) but
    shows no content to anyone. Pass ``mentions``/``ding`` when already known to save
    the queries (the send path does)."""
    recalled = message.recalled_at is not None
    attachment: AttachmentInfo | None = None
    if message.attachment is not None and not recalled:
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


# ------------------------------------------------------------------ channel-layer events


class MessageEvent(TypedDict):
    """The ``message`` frame, JSON-encoded once by the publisher: a group of n members
    would otherwise encode the same payload n times, once per socket."""

    type: Literal["chat.message"]
    text: str


def message_event(payload: MessagePayload) -> MessageEvent:
    frame: MessageFrame = {"type": "message", "message": payload}
    return {"type": "chat.message", "text": json.dumps(frame, ensure_ascii=False)}


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
    """To a user's group: a conversation was joined or left (the socket re-checks)."""

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


class NotifyEvent(TypedDict, total=False):
    """待办 and DING notifications, published by ``officehub.workbench.services``
    (``todo_open``, ``notify_user``) and forwarded to the socket as they are."""

    type: Required[Literal["notify"]]
    event: Required[str]
    title: str
    url: str
    # todo_open
    todo_id: int
    step: str
    due_at: str | None
    # DING re-notification
    ding_id: int
    conversation_id: int
    message_id: int
    count: int
    # meetings
    meeting_id: int
    start_at: str


# -------------------------------------------------------------- frames to the client


class HelloFrame(TypedDict):
    type: Literal["hello"]
    user_id: int
    conversations: list[int]


class AckFrame(TypedDict):
    type: Literal["ack"]
    client_id: str
    conversation_id: int
    message_id: int
    seq: int
    duplicate: bool
    message: MessagePayload
    ref: NotRequired[Any]


class MessageFrame(TypedDict):
    type: Literal["message"]
    message: MessagePayload


class ResumeBatchFrame(TypedDict):
    type: Literal["resume.batch"]
    conversation_id: int
    messages: list[MessagePayload]
    has_more: bool
    ref: NotRequired[Any]


class ResumeDoneFrame(TypedDict):
    type: Literal["resume.done"]
    ref: NotRequired[Any]


class ReadFrame(TypedDict):
    type: Literal["read"]
    conversation_id: int
    user_id: int
    from_seq: int
    to_seq: int


class ReadSelfFrame(TypedDict):
    type: Literal["read.self"]
    conversation_id: int
    last_read_seq: int


class RecalledFrame(TypedDict):
    type: Literal["recalled"]
    conversation_id: int
    message_id: int
    seq: int
    recalled_by: int


class DingUpdateFrame(TypedDict):
    type: Literal["ding.update"]
    ding_id: int
    message_id: int
    conversation_id: int
    confirmed_ids: list[int]
    total: int
    cancelled: bool


class TypingFrame(TypedDict):
    type: Literal["typing"]
    conversation_id: int
    user_id: int
    name: str


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    online: dict[str, bool]
    ref: NotRequired[Any]


class MembershipFrame(TypedDict):
    type: Literal["conversation.joined", "conversation.left"]
    conversation_id: int


class PongFrame(TypedDict):
    type: Literal["pong"]
    ref: NotRequired[Any]


NotifyFrame = NotifyEvent

ChatFrame = (
    HelloFrame
    | AckFrame
    | ResumeBatchFrame
    | ResumeDoneFrame
    | ReadFrame
    | ReadSelfFrame
    | RecalledFrame
    | DingUpdateFrame
    | TypingFrame
    | PresenceFrame
    | MembershipFrame
    | NotifyFrame
    | PongFrame
    | ResyncFrame
    | ErrorFrame
)
"""Every frame the user socket sends, except ``message``, which arrives encoded
(``MessageEvent.text``, a ``MessageFrame``)."""
