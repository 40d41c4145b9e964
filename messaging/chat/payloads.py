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

from messaging.models import Attachment, Ding, Message, MessageKind
from messaging.sockets import ErrorFrame, ResyncFrame

RECALLED_TEXT = "消息已撤回"
QUOTE_RECALLED_TEXT = "原消息已撤回"
SNIPPET_CHARS = 80
BUNDLE_PREVIEW_ITEMS = 4
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
PREVIEWABLE_TYPES = ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# ------------------------------------------------------------------------ the message


class AttachmentInfo(TypedDict):
    id: int
    name: str
    size: int
    content_type: str
    url: str
    # Images: the inline thumbnail (re-encoded on upload, no EXIF) and its size.
    thumbnail_url: str | None
    thumb_width: int | None
    thumb_height: int | None
    # PDF/DOCX: pages rendered by the server as images (``GET preview_url``).
    preview_url: str | None


class ReplyInfo(TypedDict):
    """The quoted message of a reply, as it was; ``snippet`` is 原消息已撤回 once recalled."""

    id: int
    seq: int
    sender_id: int | None
    sender_name: str
    kind: str
    snippet: str
    recalled: bool


class ReactionInfo(TypedDict):
    emoji: str
    count: int
    user_ids: list[int]


class BundleInfo(TypedDict):
    """A 合并转发 record: its items open as a list (``GET /api/messaging/messages/<id>/bundle/``)."""

    count: int
    preview: list[str]


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
    reply_to: ReplyInfo | None
    forwarded_from: str | None
    reactions: list[ReactionInfo]
    bundle: BundleInfo | None
    # 删除 (for me): true only in the reader's own history and resume; such a message
    # keeps its seq (the stream stays dense) but carries no content.
    hidden: bool


class HistoryMessage(MessagePayload, total=False):
    """A message of the HTTP history: the caller's own messages carry their receipts."""

    read_count: int
    unread_count: int


_UNSET: Any = object()


def attachment_info(att: Attachment) -> AttachmentInfo:
    base = f"/api/messaging/attachments/{att.pk}"
    return {
        "id": att.pk,
        "name": att.name,
        "size": att.size,
        "content_type": att.content_type,
        "url": f"{base}/download/",
        "thumbnail_url": f"{base}/thumbnail/" if att.thumbnail else None,
        "thumb_width": att.thumb_width,
        "thumb_height": att.thumb_height,
        "preview_url": f"{base}/preview/" if att.content_type in PREVIEWABLE_TYPES else None,
    }


def snippet_of(message: Message) -> str:
    """A one-line summary of a message (quotes, bundle previews, the conversation list)."""
    if message.recalled_at is not None:
        return RECALLED_TEXT
    return snippet_for(message.kind, message.body, has_ding=hasattr(message, "ding"))


def snippet_for(kind: str, body: str, *, has_ding: bool = False) -> str:
    if kind == MessageKind.FILE:
        text = f"[文件] {body}"
    elif kind == MessageKind.DOCUMENT:
        text = f"[公文] {body}"
    elif kind == MessageKind.BUNDLE:
        text = f"[聊天记录] {body}"
    elif kind == MessageKind.ANNOUNCEMENT:
        text = f"[群公告] {body}" if body else "[群公告] 已清除"
    elif has_ding:
        text = f"[DING] {body}"
    else:
        text = body
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def reply_info(quoted: Message) -> ReplyInfo:
    recalled = quoted.recalled_at is not None
    return {
        "id": quoted.pk,
        "seq": quoted.seq,
        "sender_id": quoted.sender_id,
        "sender_name": quoted.sender.display_name if quoted.sender else "系统",
        "kind": quoted.kind,
        "snippet": QUOTE_RECALLED_TEXT if recalled else snippet_for(quoted.kind, quoted.body),
        "recalled": recalled,
    }


def reactions_info(message: Message) -> list[ReactionInfo]:
    """Per emoji, in order of first use: the count and who (uses the prefetch when present)."""
    by_emoji: dict[str, list[int]] = {}
    for reaction in sorted(message.reactions.all(), key=lambda r: (r.created_at, r.pk)):
        by_emoji.setdefault(reaction.emoji, []).append(reaction.user_id)
    return [{"emoji": emoji, "count": len(ids), "user_ids": sorted(ids)} for emoji, ids in by_emoji.items()]


def bundle_info(message: Message) -> BundleInfo:
    items = sorted(message.bundle_items.all(), key=lambda item: item.position)
    return {
        "count": len(items),
        "preview": [f"{item.sender_name}：{snippet_for(item.kind, item.body)}" for item in items[:BUNDLE_PREVIEW_ITEMS]],
    }


def message_payload(
    message: Message,
    *,
    mentions: list[int] | None = None,
    ding: Ding | None = _UNSET,
    fresh: bool = False,
    hidden: bool = False,
) -> MessagePayload:
    """Serialise a message for any member. A recalled message keeps its place (seq) but
    shows no content to anyone; so does one the reader deleted for themselves
    (``hidden``). Pass ``mentions``/``ding`` when already known and ``fresh`` for a
    message just stored (no reactions yet) to save the queries (the send path does)."""
    recalled = message.recalled_at is not None
    gone = recalled or hidden
    attachment: AttachmentInfo | None = None
    if message.attachment is not None and not gone:
        attachment = attachment_info(message.attachment)
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
        mentions = [] if fresh else sorted(m.user_id for m in message.mention_rows.all())
    reply: ReplyInfo | None = None
    if message.reply_to_id is not None and not gone and message.reply_to is not None:
        reply = reply_info(message.reply_to)
    bundle: BundleInfo | None = None
    if message.kind == MessageKind.BUNDLE and not gone:
        bundle = bundle_info(message)
    sender = message.sender
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender_id": message.sender_id,
        "sender_name": sender.display_name if sender else "系统",
        "kind": message.kind,
        "body": RECALLED_TEXT if recalled else ("" if hidden else message.body),
        "created_at": message.created_at.isoformat(),
        "recalled": recalled,
        "mentions": [] if gone else mentions,
        "mention_all": message.mention_all and not gone,
        "attachment": attachment,
        "document_id": None if gone or message.kind != MessageKind.DOCUMENT else message.document_id,
        "ding": None if hidden else ding_info,
        "reply_to": reply,
        "forwarded_from": message.forwarded_from or None,
        "reactions": [] if fresh or gone else reactions_info(message),
        "bundle": bundle,
        "hidden": hidden,
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


class ReactionEvent(TypedDict):
    """To the conversation: one member toggled one emoji; ``user_ids`` is everyone who
    now has that emoji on the message (so a client sets, never adds, and a repeat is
    harmless)."""

    type: Literal["chat.reaction"]
    conversation_id: int
    message_id: int
    seq: int
    emoji: str
    user_id: int
    on: bool
    count: int
    user_ids: list[int]


class ConversationSettingsEvent(TypedDict):
    """To the member's own user group: 置顶/免打扰 changed (every device updates)."""

    type: Literal["chat.settings"]
    conversation_id: int
    pinned: bool
    pinned_at: str | None
    muted: bool


class HiddenEvent(TypedDict):
    """To the member's own user group: messages deleted for them (every device hides them)."""

    type: Literal["chat.hidden"]
    conversation_id: int
    message_ids: list[int]


class AnnouncementReadEvent(TypedDict):
    """To the reader's own devices and to whoever set the 群公告: a member has read it."""

    type: Literal["chat.announcement_read"]
    conversation_id: int
    user_id: int
    version: int


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


class ReactionFrame(TypedDict):
    type: Literal["reaction"]
    conversation_id: int
    message_id: int
    seq: int
    emoji: str
    user_id: int
    on: bool
    count: int
    user_ids: list[int]


class ConversationSettingsFrame(TypedDict):
    type: Literal["conversation.settings"]
    conversation_id: int
    pinned: bool
    pinned_at: str | None
    muted: bool


class HiddenFrame(TypedDict):
    type: Literal["hidden"]
    conversation_id: int
    message_ids: list[int]


class AnnouncementReadFrame(TypedDict):
    type: Literal["announcement.read"]
    conversation_id: int
    user_id: int
    version: int


class ForwardAckFrame(TypedDict):
    """The reply to ``forward``: every message it stored (in target order), or the ones
    stored by an earlier frame with the same ``client_id`` (``duplicate``)."""

    type: Literal["forward.ack"]
    client_id: str
    duplicate: bool
    messages: list[MessagePayload]
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
    | ReactionFrame
    | ConversationSettingsFrame
    | HiddenFrame
    | AnnouncementReadFrame
    | ForwardAckFrame
    | NotifyFrame
    | PongFrame
    | ResyncFrame
    | ErrorFrame
)
"""Every frame the user socket sends, except ``message``, which arrives encoded
(``MessageEvent.text``, a ``MessageFrame``)."""
