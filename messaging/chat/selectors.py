"""Reads of chat data. Every ``access_*`` gives the same ``NotFound`` for missing and
not-allowed, so conversation and message ids cannot be probed."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TypedDict, cast

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from documents.models import Document
from documents.selectors import can_view_document
from documents.services import document_url
from messaging.chat.payloads import (
    AttachmentInfo,
    HistoryMessage,
    MessagePayload,
    attachment_info,
    message_payload,
    snippet_of,
)
from messaging.errors import NotFound
from messaging.models import (
    Attachment,
    BundleItem,
    Conversation,
    ConversationKind,
    Ding,
    DingRecipient,
    HiddenMessage,
    Membership,
    Mention,
    Message,
    Reaction,
)
from officehub.directory.models import User

HISTORY_PAGE_MAX = 100
RESUME_BATCH = 200


def membership_of(user: User, conversation_id: int, *, lock: bool = False) -> Membership:
    """The caller's membership, or NotFound (also for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    memberships = Membership.objects.select_related("conversation")
    if lock:
        memberships = memberships.select_for_update(of=("self",))
    try:
        return memberships.get(conversation_id=conversation_id, user_id=user.pk)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def history_floor(membership: Membership) -> int:
    """The highest seq this member may NOT see: 0, or the seq at which they joined when
    the conversation hides its history from new members (新成员可查看历史消息 off)."""
    return visible_seq_floor(membership.conversation, membership.joined_seq)


def visible_seq_floor(conversation: Conversation, joined_seq: int) -> int:
    """``history_floor`` from the conversation and the membership's ``joined_seq``."""
    return 0 if conversation.history_visible else joined_seq


def access_conversation(user: User, conversation_id: int) -> Conversation:
    """A conversation the user is a member of (for callers that need no membership row)."""
    return membership_of(user, conversation_id).conversation


def readable_messages(user: User) -> QuerySet[Message]:
    """Messages the user may read: in a conversation they belong to and, where the group
    hides its history from new members, sent after they joined (``history_floor``)."""
    visible_to_member = Membership.objects.filter(user_id=user.pk, conversation_id=OuterRef("conversation_id")).filter(
        Q(conversation__history_visible=True) | Q(joined_seq__lt=OuterRef("seq"))
    )
    return Message.objects.filter(Exists(visible_to_member))


def access_message(user: User, message_id: int) -> Message:
    """A message in a conversation the user belongs to (``readable_messages``)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        return readable_messages(user).select_related("sender", "attachment", "conversation").get(pk=message_id)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """An attachment the user may read: some message that is not recalled carries it —
    itself, or inside a 合并转发 record — and the user may read (``readable_messages``).

    Forwarding passes a file by reference (no copy), so a file has as many readers as the
    conversations it was forwarded to, and no more: recalling the message that carries
    it takes it away from that conversation only."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    carriers = readable_messages(user).filter(recalled_at__isnull=True)
    if not carriers.filter(Q(attachment=attachment) | Q(bundle_items__attachment=attachment)).exists():
        raise NotFound()
    return attachment


def access_ding(user: User, ding_id: int) -> Ding:
    """A DING its sender or one of its recipients may see (and only while a member)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    ding = Ding.objects.select_related("message", "message__conversation").filter(pk=ding_id).first()
    if ding is None:
        raise NotFound()
    if not Membership.objects.filter(conversation_id=ding.message.conversation_id, user_id=user.pk).exists():
        raise NotFound()
    if ding.sender_id != user.pk and not ding.recipients.filter(user_id=user.pk).exists():
        raise NotFound()
    return ding


def _messages(conversation_id: int) -> QuerySet[Message]:
    return with_payload_data(Message.objects.filter(conversation_id=conversation_id))


def with_payload_data(messages: QuerySet[Message]) -> QuerySet[Message]:
    """Everything ``message_payload`` reads, in a fixed number of queries."""
    return messages.select_related("sender", "attachment", "ding", "reply_to", "reply_to__sender").prefetch_related(
        "mention_rows",
        Prefetch("ding__recipients", queryset=DingRecipient.objects.only("id", "ding_id", "user_id")),
        Prefetch("reactions", queryset=Reaction.objects.only("id", "message_id", "user_id", "emoji", "created_at")),
        Prefetch("bundle_items", queryset=BundleItem.objects.only("id", "message_id", "position", "sender_name", "kind", "body")),
    )


def messages_for_payload(message_ids: list[int]) -> list[Message]:
    """Messages with everything their payloads show, in the order of ``message_ids``."""
    rows = {m.pk: m for m in with_payload_data(Message.objects.filter(pk__in=message_ids))}
    return [rows[pk] for pk in message_ids if pk in rows]


def hidden_ids(user: User, message_ids: list[int]) -> set[int]:
    """Which of these messages the user has deleted for themselves."""
    if not message_ids:
        return set()
    return set(HiddenMessage.objects.filter(user_id=user.pk, message_id__in=message_ids).values_list("message_id", flat=True))


def messages_after(*, conversation_id: int, after_seq: int, limit: int = RESUME_BATCH) -> list[Message]:
    """Messages with seq > after_seq, oldest first (the resume path)."""
    return list(_messages(conversation_id).filter(seq__gt=after_seq).order_by("seq")[:limit])


def messages_before(*, conversation_id: int, before_seq: int | None, limit: int, floor: int = 0) -> list[Message]:
    """A page of history ending just before ``before_seq`` (newest page when None), oldest
    first; nothing at or below ``floor`` (``history_floor``)."""
    limit = max(1, min(limit, HISTORY_PAGE_MAX))
    qs = _messages(conversation_id).filter(seq__gt=floor)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    return list(reversed(qs.order_by("-seq")[:limit]))


AROUND_MAX = 50


def messages_around(*, conversation_id: int, seq: int, before: int, after: int, floor: int = 0) -> list[Message]:
    """The message at ``seq`` with up to ``before`` earlier and ``after`` later ones,
    oldest first (opening a conversation at a search result); nothing at or below
    ``floor``. Two indexed range reads on (conversation, seq)."""
    before = max(0, min(before, AROUND_MAX))
    after = max(0, min(after, AROUND_MAX))
    qs = _messages(conversation_id).filter(seq__gt=floor)
    older = list(qs.filter(seq__lt=seq).order_by("-seq")[:before]) if before else []
    newer = list(qs.filter(seq__gte=seq).order_by("seq")[: after + 1])
    return [*reversed(older), *newer]


def member_read_pointers(conversation_id: int) -> list[tuple[int, int]]:
    """(user_id, last_read_seq) for every member: one narrow indexed query."""
    return list(Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", "last_read_seq"))


def read_counts(*, conversation_id: int, messages: list[Message]) -> dict[int, tuple[int, int]]:
    """seq → (read, unread) among members other than each message's sender.

    One query for the pointers, then a binary search per message: the cost is O(members
    + messages·log members), not a row per reader per message.
    """
    pointers = member_read_pointers(conversation_id)
    sorted_pointers = sorted(seq for _, seq in pointers)
    by_user = dict(pointers)
    total = len(pointers)
    result: dict[int, tuple[int, int]] = {}
    for message in messages:
        read = total - bisect.bisect_left(sorted_pointers, message.seq)
        others = total
        sender_pointer = by_user.get(message.sender_id) if message.sender_id else None
        if sender_pointer is not None:
            others -= 1
            if sender_pointer >= message.seq:
                read -= 1
        result[message.seq] = (read, others - read)
    return result


class ReaderInfo(TypedDict):
    id: int
    name: str
    department: str


@dataclass
class Receipts:
    read: list[ReaderInfo]
    unread: list[ReaderInfo]


def message_receipts(message: Message) -> Receipts:
    members = (
        Membership.objects.filter(conversation_id=message.conversation_id)
        .select_related("user", "user__department")
        .order_by("user__full_name", "user_id")
    )
    if message.sender_id is not None:
        members = members.exclude(user_id=message.sender_id)
    read: list[ReaderInfo] = []
    unread: list[ReaderInfo] = []
    for membership in members:
        info: ReaderInfo = {
            "id": membership.user_id,
            "name": membership.user.display_name,
            "department": membership.user.department.name if membership.user.department else "",
        }
        (read if membership.last_read_seq >= message.seq else unread).append(info)
    return Receipts(read=read, unread=unread)


class ConversationSummary(TypedDict):
    id: int
    kind: str
    title: str
    role: str
    last_seq: int
    last_read_seq: int
    unread: int
    mentions: int
    last_message_at: str | None
    last_message: str
    peer_id: int | None
    member_count: int
    pinned: bool
    pinned_at: str | None
    muted: bool
    announcement_unread: bool


def conversation_list(user: User) -> list[ConversationSummary]:
    """The user's conversations, newest activity first, with unread and @-me counts.

    Unread is ``last_seq - last_read_seq`` (O(1) per conversation); @-me counts are
    indexed range counts above the read pointer. Four queries whatever the list length.
    """
    mention_rows = (
        Mention.objects.filter(user_id=user.pk, conversation_id=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq"))
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    mention_all = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            seq__gt=OuterRef("last_read_seq"),
            mention_all=True,
            recalled_at__isnull=True,
        )
        .exclude(sender_id=user.pk)
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    member_count = (
        Membership.objects.filter(conversation_id=OuterRef("conversation_id"))
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    memberships = list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("conversation")
        .annotate(
            mention_count=Coalesce(Subquery(mention_rows), 0),
            mention_all_count=Coalesce(Subquery(mention_all), 0),
            member_count=Coalesce(Subquery(member_count), 0),
        )
        .order_by("-conversation__last_message_at", "-conversation__created_at")
    )
    conversation_ids = [m.conversation_id for m in memberships]
    last_messages = {
        m.conversation_id: m
        for m in Message.objects.filter(
            conversation_id__in=conversation_ids,
            seq=Subquery(Conversation.objects.filter(pk=OuterRef("conversation_id")).values("last_seq")[:1]),
        ).select_related("sender", "ding")
    }
    hidden_last = hidden_ids(user, [m.pk for m in last_messages.values()])
    direct_ids = [m.conversation_id for m in memberships if m.conversation.kind == ConversationKind.DIRECT]
    peers = {
        row.conversation_id: row.user
        for row in Membership.objects.filter(conversation_id__in=direct_ids).exclude(user_id=user.pk).select_related("user")
    }
    result: list[ConversationSummary] = []
    for membership in memberships:
        conversation = membership.conversation
        peer = peers.get(conversation.pk)
        title = conversation.title
        if conversation.kind == ConversationKind.DIRECT:
            title = peer.display_name if peer else "单聊"
        last = last_messages.get(conversation.pk)
        preview = ""
        if (
            last is not None
            and last.pk not in hidden_last
            and last.seq > visible_seq_floor(conversation, membership.joined_seq)
        ):
            preview = f"{last.sender.display_name if last.sender else '系统'}：{snippet_of(last)}"
        result.append(
            {
                "id": conversation.pk,
                "kind": conversation.kind,
                "title": title,
                "role": membership.role,
                "last_seq": conversation.last_seq,
                "last_read_seq": membership.last_read_seq,
                "unread": max(0, conversation.last_seq - membership.last_read_seq),
                "mentions": membership.mention_count + membership.mention_all_count,
                "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
                "last_message": preview[:80],
                "peer_id": peer.pk if peer else None,
                "member_count": membership.member_count,
                "pinned": membership.pinned_at is not None,
                "pinned_at": membership.pinned_at.isoformat() if membership.pinned_at else None,
                "muted": membership.muted,
                "announcement_unread": conversation.announcement_version > membership.announcement_read_version
                and bool(conversation.announcement),
            }
        )
    # 置顶 first (the newest pin on top), then by activity (the query's order).
    result.sort(key=lambda row: row["pinned_at"] or "", reverse=True)
    return result


class MemberInfo(TypedDict):
    id: int
    name: str
    username: str
    department: str
    role: str
    last_read_seq: int


def conversation_members(conversation_id: int) -> list[MemberInfo]:
    rows = (
        Membership.objects.filter(conversation_id=conversation_id)
        .select_related("user", "user__department")
        .order_by("user__full_name", "user_id")
    )
    return [
        {
            "id": row.user_id,
            "name": row.user.display_name,
            "username": row.user.username,
            "department": row.user.department.name if row.user.department else "",
            "role": row.role,
            "last_read_seq": row.last_read_seq,
        }
        for row in rows
    ]


def history_payloads(*, user: User, conversation_id: int, messages: list[Message]) -> list[HistoryMessage]:
    """Message payloads plus read counts on the caller's own messages; the ones the caller
    deleted for themselves keep their seq but carry no content (``hidden``)."""
    hidden = hidden_ids(user, [m.pk for m in messages])
    own = [m for m in messages if m.sender_id == user.pk and m.pk not in hidden]
    counts = read_counts(conversation_id=conversation_id, messages=own) if own else {}
    out: list[HistoryMessage] = []
    for message in messages:
        # A HistoryMessage is a message payload that may also carry read counts.
        payload = cast(HistoryMessage, dict(message_payload(message, hidden=message.pk in hidden)))
        if message.seq in counts:
            payload["read_count"], payload["unread_count"] = counts[message.seq]
        out.append(payload)
    return out


def resume_payloads(*, user: User, conversation_id: int, after_seq: int) -> tuple[list[MessagePayload], bool]:
    """The next batch after ``after_seq``, every seq present (messages the user deleted
    for themselves come as ``hidden`` placeholders, so the client sees no gap)."""
    rows = messages_after(conversation_id=conversation_id, after_seq=after_seq, limit=RESUME_BATCH + 1)
    has_more = len(rows) > RESUME_BATCH
    rows = rows[:RESUME_BATCH]
    hidden = hidden_ids(user, [m.pk for m in rows])
    return [message_payload(m, hidden=m.pk in hidden) for m in rows], has_more


class UnreadSummary(TypedDict):
    unread: int
    conversations: int
    muted_conversation_ids: list[int]


def unread_summary(user: User) -> UnreadSummary:
    """Unread messages over all the user's conversations but the 免打扰 ones, and in how
    many: one aggregate over the read pointers (the shell's 消息 badge). The muted ids
    let the page shell stay silent for their live messages."""
    row = Membership.objects.filter(user_id=user.pk, muted=False, conversation__last_seq__gt=F("last_read_seq")).aggregate(
        unread=Sum(F("conversation__last_seq") - F("last_read_seq")), conversations=Count("id")
    )
    muted = sorted(Membership.objects.filter(user_id=user.pk, muted=True).values_list("conversation_id", flat=True))
    return {
        "unread": int(row["unread"] or 0),
        "conversations": int(row["conversations"] or 0),
        "muted_conversation_ids": muted,
    }


def conversation_ids_of(user_id: int) -> list[tuple[int, str]]:
    return list(Membership.objects.filter(user_id=user_id).values_list("conversation_id", "conversation__kind"))


class DingConfirmation(TypedDict):
    id: int
    name: str
    at: str


class DingPending(TypedDict):
    id: int
    name: str
    notify_count: int


class DingStatus(TypedDict):
    id: int
    message_id: int
    conversation_id: int
    sender_id: int
    cancelled: bool
    confirmed: list[DingConfirmation]
    pending: list[DingPending]


def ding_status(ding: Ding) -> DingStatus:
    recipients = ding.recipients.select_related("user").order_by("user__full_name", "user_id")
    confirmed: list[DingConfirmation] = [
        {"id": r.user_id, "name": r.user.display_name, "at": r.confirmed_at.isoformat()} for r in recipients if r.confirmed_at
    ]
    pending: list[DingPending] = [
        {"id": r.user_id, "name": r.user.display_name, "notify_count": r.notify_count} for r in recipients if not r.confirmed_at
    ]
    return {
        "id": ding.pk,
        "message_id": ding.message_id,
        "conversation_id": ding.message.conversation_id,
        "sender_id": ding.sender_id,
        "cancelled": ding.cancelled_at is not None,
        "confirmed": confirmed,
        "pending": pending,
    }


def users_sharing(user_id: int, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` share at least one conversation with ``user_id``."""
    mine = Membership.objects.filter(user_id=user_id).values("conversation_id")
    return set(
        Membership.objects.filter(Q(conversation_id__in=mine) & Q(user_id__in=user_ids))
        .values_list("user_id", flat=True)
        .distinct()
    )


def document_for_card(user: User, document_id: int) -> Document | None:
    """The document behind a 公文 card if this user may view it, else None."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not can_view_document(user, document):
        return None
    return document


def document_card_url(document: Document) -> str:
    return str(document_url(document))


# ------------------------------------------------------------------------------ chat features


class BundleItemInfo(TypedDict):
    position: int
    sender_name: str
    kind: str
    body: str
    sent_at: str
    attachment: AttachmentInfo | None
    document_id: int | None


def bundle_items(message: Message) -> list[BundleItemInfo]:
    """The items of a 合并转发 record, in their order (the caller has access to it)."""
    items = BundleItem.objects.filter(message=message).select_related("attachment").order_by("position")
    return [
        {
            "position": item.position,
            "sender_name": item.sender_name,
            "kind": item.kind,
            "body": item.body,
            "sent_at": item.sent_at.isoformat(),
            "attachment": attachment_info(item.attachment) if item.attachment is not None else None,
            "document_id": item.document_id,
        }
        for item in items
    ]


class ReactionDetail(TypedDict):
    emoji: str
    count: int
    users: list[ReaderInfo]


def reaction_details(message: Message) -> list[ReactionDetail]:
    """Who reacted with what, with names (emoji in order of first use)."""
    rows = Reaction.objects.filter(message=message).select_related("user", "user__department").order_by("created_at", "pk")
    details: dict[str, list[ReaderInfo]] = {}
    for row in rows:
        details.setdefault(row.emoji, []).append(
            {
                "id": row.user_id,
                "name": row.user.display_name,
                "department": row.user.department.name if row.user.department else "",
            }
        )
    return [{"emoji": emoji, "count": len(users), "users": users} for emoji, users in details.items()]


class AnnouncementInfo(TypedDict):
    body: str
    version: int
    set_by: int | None
    set_by_name: str
    set_at: str | None


def announcement_info(conversation: Conversation) -> AnnouncementInfo:
    by = conversation.announcement_by
    return {
        "body": conversation.announcement,
        "version": conversation.announcement_version,
        "set_by": conversation.announcement_by_id,
        "set_by_name": by.display_name if by else "",
        "set_at": conversation.announcement_at.isoformat() if conversation.announcement_at else None,
    }


@dataclass
class AnnouncementReaders:
    version: int
    read: list[ReaderInfo]
    unread: list[ReaderInfo]


def announcement_readers(conversation: Conversation) -> AnnouncementReaders:
    """Who has seen the current 群公告 (read pointer >= its version), like receipts: one
    narrow query over the memberships, whatever the group size."""
    version = conversation.announcement_version
    members = (
        Membership.objects.filter(conversation=conversation)
        .select_related("user", "user__department")
        .order_by("user__full_name", "user_id")
    )
    if conversation.announcement_by_id is not None:
        members = members.exclude(user_id=conversation.announcement_by_id)
    read: list[ReaderInfo] = []
    unread: list[ReaderInfo] = []
    for membership in members:
        info: ReaderInfo = {
            "id": membership.user_id,
            "name": membership.user.display_name,
            "department": membership.user.department.name if membership.user.department else "",
        }
        (read if membership.announcement_read_version >= version else unread).append(info)
    return AnnouncementReaders(version=version, read=read, unread=unread)
