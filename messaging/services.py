"""Every chat write goes through here: conversations, membership, messages, read
pointers, recall, DING, attachments, department groups.

Delivery model (DESIGN §8): a message is stored first, under the conversation row lock
that allocates its per-conversation ``seq``; the push to the conversation group is
registered with ``on_commit``. The channel layer may drop frames — clients recover
through ``resume`` (seq > last seen), so nothing here ever resends.

Audit: membership changes, recalls and DING are audited. Ordinary message sends are
not: the message row *is* the record, and ``audit()`` serialises on one chain head, which
would put every chat message in the platform behind a single lock.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from documents.models import Document
from documents.selectors import can_view_document
from documents.services import document_url
from messaging.errors import (
    AttachmentRejected,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDeniedError,
    RateLimited,
)
from messaging.models import (
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
from messaging.payloads import MessagePayload, message_event, message_payload
from messaging.selectors import access_ding, access_message, membership_of
from officehub import ratelimit
from officehub.audit.services import audit
from officehub.directory.models import Department, Role, User
from officehub.realtime import conversation_group, publish_on_commit, user_group
from officehub.workbench.models import TodoKind
from officehub.workbench.services import notify_user, todo_close, todo_open

BODY_MAX_CHARS = 4000
TITLE_MAX_CHARS = 100
GROUP_MAX_MEMBERS = 2000
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MANAGER_ROLES = (MemberRole.OWNER, MemberRole.ADMIN)


@dataclass
class SendResult:
    message: Message
    created: bool
    # The payload that was fanned out (set for a fresh send; saves re-serialising).
    payload: MessagePayload | None = None


# ------------------------------------------------------------------------------ helpers


def _clean_client_id(client_id: Any) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise InvalidInput(_("client_id 无效：须为 1–64 位字母、数字或 _.:-"), code="message.invalid_client_id")
    return client_id


def _clean_body(body: Any, *, required: bool = True) -> str:
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise InvalidInput(_("消息内容必须是文本。"), code="message.invalid_body")
    body = _CONTROL_CHARS.sub("", body).strip()
    if required and not body:
        raise InvalidInput(_("消息内容不能为空。"), code="message.empty")
    if len(body) > BODY_MAX_CHARS:
        raise InvalidInput(
            _("消息过长：最多 %(max)d 个字符。") % {"max": BODY_MAX_CHARS},
            code="message.too_long",
            extra={"max_chars": BODY_MAX_CHARS},
        )
    return body


def _int_ids(values: Any, *, field: str) -> list[int]:
    if values is None:
        return []
    if not isinstance(values, list | tuple | set) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise InvalidInput(_("%(field)s 必须是用户编号列表。") % {"field": field}, code="invalid")
    return sorted(set(values))


def _existing(actor: Any, client_id: str, conversation_id: int | None) -> Message | None:
    """The message this client already sent with this id (an idempotent resend)."""
    message = (
        Message.objects.select_related("sender", "attachment", "ding")
        .prefetch_related("mention_rows", "ding__recipients")
        .filter(sender_id=actor.pk, client_id=client_id)
        .first()
    )
    if message is not None and conversation_id is not None and message.conversation_id != conversation_id:
        raise InvalidInput(_("client_id 已用于另一会话的消息。"), code="message.client_id_reused")
    return message


def rate_limit_check(actor: Any) -> None:
    """A token bucket per user shared by every process (officehub/ratelimit.py): bursts of
    up to MESSAGE_BURST, MESSAGE_RATE_PER_MINUTE in the long run. Raises
    message.rate_limited with ``retry_after`` seconds."""
    limit = settings.MESSAGE_RATE_PER_MINUTE
    decision = ratelimit.take(f"message:{actor.pk}", rate_per_second=limit / 60, burst=settings.MESSAGE_BURST)
    if not decision.allowed:
        raise RateLimited(limit, decision.retry_after)


def _is_manager(membership: Membership) -> bool:
    return membership.conversation.kind != ConversationKind.DIRECT and membership.role in MANAGER_ROLES


def _publish_joined(conversation_id: int, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        publish_on_commit(user_group(user_id), {"type": "chat.joined", "conversation_id": conversation_id})


def _publish_left(conversation_id: int, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        publish_on_commit(user_group(user_id), {"type": "chat.left", "conversation_id": conversation_id})


def _advance_read(membership: Membership, to_seq: int, *, own_message: bool = False) -> None:
    """Move a (locked or just-written) pointer forward and tell whoever cares.

    Receipts go only to the senders of the messages just read (bounded by the range read,
    not by the group size); the reader's own devices get ``read_self``. ``own_message``:
    ``to_seq`` is the reader's own new message, so it needs no receipt itself.
    """
    from_seq = membership.last_read_seq
    if to_seq <= from_seq:
        return
    Membership.objects.filter(pk=membership.pk, last_read_seq__lt=to_seq).update(last_read_seq=to_seq)
    membership.last_read_seq = to_seq
    conversation_id = membership.conversation_id
    publish_on_commit(
        user_group(membership.user_id),
        {"type": "chat.read_self", "conversation_id": conversation_id, "last_read_seq": to_seq},
    )
    if own_message and from_seq >= to_seq - 1:
        return  # caught up before sending: nothing of anybody else's was just read
    senders = (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=from_seq, seq__lte=to_seq, sender__isnull=False)
        .exclude(sender_id=membership.user_id)
        .values_list("sender_id", flat=True)
        .distinct()
    )
    for sender_id in senders:
        publish_on_commit(
            user_group(sender_id),
            {
                "type": "chat.read",
                "conversation_id": conversation_id,
                "user_id": membership.user_id,
                "from_seq": from_seq,
                "to_seq": to_seq,
            },
        )


def _append(
    *,
    actor: Any,
    conversation_id: int,
    client_id: str,
    kind: str,
    body: str,
    mention_ids: list[int] = (),  # type: ignore[assignment]
    mention_all: bool = False,
    document_id: int | None = None,
    attachment: Attachment | None = None,
    ding_recipients: list[User] | None = None,
    membership: Membership | None = None,
) -> SendResult:
    """Allocate the next seq under the conversation row lock and store the message.

    The lock serialises senders of one conversation only; it is held for a few short
    statements, and it is what keeps seq dense and in commit order (a rolled-back send
    rolls back its seq too, so there are never gaps).
    """
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
    # A concurrent resend with the same client_id waited on the lock above: answer it
    # with the stored message instead of tripping the unique constraint.
    duplicate = _existing(actor, client_id, conversation_id)
    if duplicate is not None:
        return SendResult(duplicate, False)
    now = timezone.now()
    conversation.last_seq += 1
    conversation.last_message_at = now
    conversation.save(update_fields=["last_seq", "last_message_at"])
    message = Message(
        conversation=conversation,
        seq=conversation.last_seq,
        sender=actor,
        client_id=client_id,
        kind=kind,
        body=body,
        attachment=attachment,
        document_id=document_id,
        mention_all=mention_all,
    )
    # Field validation only: the unique constraints are enforced by the database, and
    # checking them here would cost two queries on the hottest path.
    message.full_clean(exclude=["conversation", "sender", "attachment"], validate_unique=False, validate_constraints=False)
    message.save()
    Mention.objects.bulk_create(
        [Mention(message=message, conversation_id=conversation_id, seq=message.seq, user_id=uid) for uid in mention_ids]
    )
    ding: Ding | None = None
    if ding_recipients:
        ding = Ding.objects.create(message=message, sender=actor)
        next_at = now + timedelta(seconds=settings.DING_RENOTIFY_SECONDS)
        DingRecipient.objects.bulk_create(
            [DingRecipient(ding=ding, user=user, last_notified_at=now, next_notify_at=next_at) for user in ding_recipients]
        )
        url = f"/messages/?c={conversation_id}&seq={message.seq}"
        title = _("DING：%(sender)s：%(body)s") % {"sender": actor.display_name, "body": body[:60]}
        for user in ding_recipients:
            todo_open(user=user, kind=TodoKind.DING, target=ding, step="confirm", title=title, url=url, notify="ding")
        audit(
            actor=actor,
            action="ding.sent",
            target=ding,
            data={"conversation": conversation_id, "seq": message.seq, "recipients": [u.pk for u in ding_recipients]},
        )
    # Sending means the sender has seen the conversation up to here.
    if membership is None:
        membership = Membership.objects.get(conversation_id=conversation_id, user_id=actor.pk)
    _advance_read(membership, message.seq, own_message=True)
    payload = message_payload(message, mentions=list(mention_ids), ding=ding)
    publish_on_commit(conversation_group(conversation_id), dict(message_event(payload)))
    return SendResult(message, True, payload)


def _check_mentions(membership: Membership, actor: Any, mentions: Any, mention_all: Any) -> tuple[list[int], bool]:
    ids = [uid for uid in _int_ids(mentions, field="mentions") if uid != actor.pk]
    if ids:
        members = set(
            Membership.objects.filter(conversation_id=membership.conversation_id, user_id__in=ids).values_list("user_id", flat=True)
        )
        if members != set(ids):
            raise InvalidInput(_("只能 @ 本会话的成员。"), code="message.mention_not_member")
    mention_all = bool(mention_all)
    if mention_all and not _is_manager(membership):
        raise PermissionDeniedError(_("只有群主或管理员可以 @所有人。"), code="message.mention_all_forbidden")
    return ids, mention_all


def document_for_card(user: Any, document_id: int) -> Any | None:
    """The document behind a 公文 card if this user may view it, else None."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not can_view_document(user, document):
        return None
    return document


def document_card_url(document: Any) -> str:
    return str(document_url(document))


# ------------------------------------------------------------------------------ messages


@transaction.atomic
def message_send(
    *,
    actor: Any,
    conversation_id: int,
    client_id: Any,
    body: Any,
    mentions: Any = None,
    mention_all: Any = False,
    document_id: Any = None,
) -> SendResult:
    """Store a text message (or a 公文 card when ``document_id`` is given) and fan it out
    on commit. Idempotent on (sender, client_id): a resend returns the stored message
    with ``created=False`` and publishes nothing.

    Raises not_found (not a member / card document not viewable), message.invalid_client_id,
    message.empty, message.too_long, message.mention_not_member,
    message.mention_all_forbidden, message.client_id_reused, message.rate_limited.
    """
    client_id = _clean_client_id(client_id)
    membership = membership_of(actor, conversation_id)
    existing = _existing(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    kind = MessageKind.TEXT
    if document_id is not None:
        if not isinstance(document_id, int) or isinstance(document_id, bool) or document_id <= 0:
            raise InvalidInput(_("公文编号无效。"), code="message.invalid_document")
        if document_for_card(actor, document_id) is None:
            raise NotFound(_("公文不存在，或您无权查看，不能发送公文卡片。"), code="message.document_unavailable")
        kind = MessageKind.DOCUMENT
    body = _clean_body(body, required=kind == MessageKind.TEXT)
    mention_ids, mention_all = _check_mentions(membership, actor, mentions, mention_all)
    rate_limit_check(actor)
    return _append(
        actor=actor,
        conversation_id=conversation_id,
        client_id=client_id,
        kind=kind,
        body=body,
        mention_ids=mention_ids,
        mention_all=mention_all,
        document_id=document_id,
        membership=membership,
    )


@transaction.atomic
def conversation_mark_read(*, actor: Any, conversation_id: int, seq: Any) -> Membership:
    """Move the actor's read pointer up to ``seq`` (clamped to the last message). Never
    moves it back. One row updated, whatever the group size. Raises not_found, invalid."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidInput(_("seq 必须是非负整数。"), code="invalid")
    membership = membership_of(actor, conversation_id, lock=True)
    _advance_read(membership, min(seq, membership.conversation.last_seq))
    return membership


RECALL_TRANSITIONS: dict[str, set[str]] = {"active": {"recalled"}, "recalled": set()}


@transaction.atomic
def message_recall(*, actor: Any, message_id: int) -> Message:
    """Recall a message: its sender within settings.MESSAGE_RECALL_SECONDS, a group owner
    or admin at any time. Everyone then sees "消息已撤回"; its @-mentions and any DING
    reminders end. Raises not_found, message.already_recalled,
    message.recall_window_closed, message.recall_forbidden."""
    visible = access_message(actor, message_id)
    message = Message.objects.select_for_update(of=("self",)).select_related("sender").get(pk=visible.pk)
    state = "recalled" if message.recalled_at else "active"
    if "recalled" not in RECALL_TRANSITIONS[state]:
        raise InvalidTransition(_("该消息已撤回。"), code="message.already_recalled")
    membership = membership_of(actor, message.conversation_id)
    now = timezone.now()
    window = settings.MESSAGE_RECALL_SECONDS
    if _is_manager(membership):
        pass
    elif message.sender_id == actor.pk:
        if now - message.created_at > timedelta(seconds=window):
            raise PermissionDeniedError(
                _("发送超过 %(minutes)s 分钟的消息不能撤回。") % {"minutes": f"{window / 60:g}"},
                code="message.recall_window_closed",
                extra={"window_seconds": window},
            )
    else:
        raise PermissionDeniedError(_("只能撤回自己发送的消息。"), code="message.recall_forbidden")
    message.recalled_at = now
    message.recalled_by = actor
    message.save(update_fields=["recalled_at", "recalled_by"])
    Mention.objects.filter(message=message).delete()
    ding = Ding.objects.filter(message=message).first()
    if ding is not None and ding.cancelled_at is None:
        _ding_stop(ding, now=now, outcome="已撤回")
    audit(
        actor=actor,
        action="message.recalled",
        target=message,
        data={"conversation": message.conversation_id, "seq": message.seq, "sender": message.sender_id},
    )
    publish_on_commit(
        conversation_group(message.conversation_id),
        {
            "type": "chat.recalled",
            "conversation_id": message.conversation_id,
            "message_id": message.pk,
            "seq": message.seq,
            "recalled_by": actor.pk,
        },
    )
    return message


# ------------------------------------------------------------------------------ DING


@transaction.atomic
def ding_send(*, actor: Any, conversation_id: int, client_id: Any, body: Any, recipient_ids: Any) -> SendResult:
    """Send an urgent message that each chosen member must confirm. Recipients get a
    DING 待办 and a live notification now, and are re-notified by ``ding_renotify_due``
    every settings.DING_RENOTIFY_SECONDS until they confirm or the sender cancels.
    Raises not_found, ding.no_recipients, ding.recipient_not_member and the send errors."""
    client_id = _clean_client_id(client_id)
    membership_of(actor, conversation_id)
    existing = _existing(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    body = _clean_body(body)
    ids = [uid for uid in _int_ids(recipient_ids, field="recipient_ids") if uid != actor.pk]
    if not ids:
        raise InvalidInput(_("请至少选择一位接收人。"), code="ding.no_recipients")
    recipients = list(
        User.objects.filter(pk__in=ids, chat_memberships__conversation_id=conversation_id).order_by("pk")
    )
    if len(recipients) != len(ids):
        raise InvalidInput(_("DING 只能发给本会话的成员。"), code="ding.recipient_not_member")
    rate_limit_check(actor)
    return _append(
        actor=actor,
        conversation_id=conversation_id,
        client_id=client_id,
        kind=MessageKind.TEXT,
        body=body,
        ding_recipients=recipients,
    )


def _publish_ding_update(ding: Ding, user_ids: Iterable[int]) -> None:
    rows = list(DingRecipient.objects.filter(ding=ding).values_list("user_id", "confirmed_at"))
    payload = {
        "type": "chat.ding_update",
        "ding_id": ding.pk,
        "message_id": ding.message_id,
        "conversation_id": ding.message.conversation_id,
        "confirmed_ids": sorted(uid for uid, at in rows if at is not None),
        "total": len(rows),
        "cancelled": ding.cancelled_at is not None,
    }
    for user_id in set(user_ids):
        publish_on_commit(user_group(user_id), payload)


@transaction.atomic
def ding_confirm(*, actor: Any, ding_id: int) -> DingRecipient:
    """A recipient confirms a DING: reminders stop, the DING 待办 closes, the sender sees
    it live. Raises not_found, ding.not_recipient, ding.cancelled, ding.already_confirmed."""
    ding = access_ding(actor, ding_id)
    recipient = DingRecipient.objects.select_for_update(of=("self",)).filter(ding=ding, user_id=actor.pk).first()
    if recipient is None:
        raise InvalidInput(_("您不是这条 DING 的接收人。"), code="ding.not_recipient")
    if ding.cancelled_at is not None:
        raise InvalidTransition(_("发送人已取消这条 DING。"), code="ding.cancelled")
    if recipient.confirmed_at is not None:
        raise InvalidTransition(_("您已确认过这条 DING。"), code="ding.already_confirmed")
    recipient.confirmed_at = timezone.now()
    recipient.next_notify_at = None
    recipient.full_clean(exclude=["ding", "user"])
    recipient.save(update_fields=["confirmed_at", "next_notify_at"])
    todo_close(target=ding, users=[actor], outcome="已确认")
    audit(actor=actor, action="ding.confirmed", target=ding, data={"user": actor.pk})
    _publish_ding_update(ding, [ding.sender_id, actor.pk])
    return recipient


def _ding_stop(ding: Ding, *, now: datetime, outcome: str) -> None:
    ding.cancelled_at = now
    ding.save(update_fields=["cancelled_at"])
    DingRecipient.objects.filter(ding=ding, confirmed_at__isnull=True).update(next_notify_at=None)
    todo_close(target=ding, outcome=outcome)
    recipient_ids = list(DingRecipient.objects.filter(ding=ding).values_list("user_id", flat=True))
    _publish_ding_update(ding, [ding.sender_id, *recipient_ids])


@transaction.atomic
def ding_cancel(*, actor: Any, ding_id: int) -> Ding:
    """The sender stops a DING: no more reminders, open DING 待办 close.
    Raises not_found, ding.not_sender, ding.cancelled."""
    visible = access_ding(actor, ding_id)
    ding = Ding.objects.select_for_update(of=("self",)).select_related("message").get(pk=visible.pk)
    if ding.sender_id != actor.pk:
        raise PermissionDeniedError(_("只有发送人可以取消 DING。"), code="ding.not_sender")
    if ding.cancelled_at is not None:
        raise InvalidTransition(_("这条 DING 已取消。"), code="ding.cancelled")
    _ding_stop(ding, now=timezone.now(), outcome="已取消")
    audit(actor=actor, action="ding.cancelled", target=ding)
    return ding


@transaction.atomic
def ding_renotify_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Worker entry point: re-notify every unconfirmed DING recipient whose reminder is
    due, then schedule the next one settings.DING_RENOTIFY_SECONDS later. Returns how many
    reminders were sent. Rows are claimed with SKIP LOCKED, so two workers never remind
    the same person twice for one due time; the pushes leave only after commit."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.DING_RENOTIFY_SECONDS)
    due = list(
        DingRecipient.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(next_notify_at__lte=now, confirmed_at__isnull=True)
        .select_related("ding", "ding__message", "ding__sender")
        .order_by("next_notify_at", "pk")[:batch]
    )
    for recipient in due:
        ding = recipient.ding
        recipient.notify_count += 1
        recipient.last_notified_at = now
        recipient.next_notify_at = now + interval
        message = ding.message
        notify_user(
            user_id=recipient.user_id,
            event="ding",
            title=_("DING 提醒（第 %(n)d 次）：%(sender)s：%(body)s")
            % {"n": recipient.notify_count, "sender": ding.sender.display_name, "body": message.body[:60]},
            url=f"/messages/?c={message.conversation_id}&seq={message.seq}",
            ding_id=ding.pk,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            count=recipient.notify_count,
        )
    DingRecipient.objects.bulk_update(due, ["notify_count", "last_notified_at", "next_notify_at"])
    return len(due)


# ------------------------------------------------------------------------------ conversations


def conversation_direct_open(*, actor: Any, peer_id: int) -> Conversation:
    """The one direct conversation between the actor and an active colleague (created on
    first use; concurrent first uses meet on the unique ``direct_key``)."""
    peer = User.objects.filter(pk=peer_id, is_active=True).first() if isinstance(peer_id, int) else None
    if peer is None:
        raise NotFound()
    if peer.pk == actor.pk:
        raise InvalidInput(_("不能和自己单聊。"), code="conversation.self_direct")
    low, high = sorted([actor.pk, peer.pk])
    key = f"{low}:{high}"
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=ConversationKind.DIRECT, direct_key=key)
            Membership.objects.bulk_create(
                [Membership(conversation=conversation, user_id=uid) for uid in (low, high)]
            )
            _publish_joined(conversation.pk, [low, high])
    except IntegrityError:
        return Conversation.objects.get(direct_key=key)
    return conversation


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput(_("请填写群名称。"), code="conversation.title_required")
    title = _CONTROL_CHARS.sub("", title).strip()
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(_("群名称最多 %(max)d 个字。") % {"max": TITLE_MAX_CHARS}, code="conversation.title_too_long")
    return title


def _active_users(ids: list[int]) -> list[User]:
    users = list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
    if len(users) != len(ids):
        raise InvalidInput(_("部分成员不存在或已停用。"), code="conversation.unknown_user")
    return users


@transaction.atomic
def conversation_group_create(*, actor: Any, title: Any, member_ids: Any) -> Conversation:
    """Create a group owned by the actor with the chosen colleagues.
    Raises conversation.title_required/title_too_long, conversation.unknown_user,
    conversation.too_few_members, conversation.too_many_members."""
    title = _clean_title(title)
    ids = [uid for uid in _int_ids(member_ids, field="member_ids") if uid != actor.pk]
    if not ids:
        raise InvalidInput(_("请至少选择一位成员。"), code="conversation.too_few_members")
    if len(ids) + 1 > GROUP_MAX_MEMBERS:
        raise InvalidInput(_("群成员最多 %(max)d 人。") % {"max": GROUP_MAX_MEMBERS}, code="conversation.too_many_members")
    users = _active_users(ids)
    conversation = Conversation(kind=ConversationKind.GROUP, title=title, owner=actor)
    conversation.full_clean()
    conversation.save()
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=actor, role=MemberRole.OWNER)]
        + [Membership(conversation=conversation, user=user) for user in users]
    )
    audit(actor=actor, action="conversation.created", target=conversation, data={"title": title, "members": [actor.pk, *ids]})
    _publish_joined(conversation.pk, [actor.pk, *ids])
    return conversation


def _lock_managed_group(actor: Any, conversation_id: int) -> tuple[Conversation, Membership]:
    membership = membership_of(actor, conversation_id)
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
    if conversation.kind == ConversationKind.DIRECT:
        raise InvalidInput(_("单聊不能增减成员。"), code="conversation.direct_fixed")
    if conversation.kind == ConversationKind.DEPARTMENT:
        raise InvalidInput(_("部门群成员随通讯录自动同步，不能手工调整。"), code="conversation.managed_by_directory")
    return conversation, membership


@transaction.atomic
def conversation_members_add(*, actor: Any, conversation_id: int, user_ids: Any) -> list[int]:
    """Owner or admin adds colleagues to a group; returns the ids actually added.
    New members start with everything before their arrival marked read."""
    conversation, membership = _lock_managed_group(actor, conversation_id)
    if membership.role not in MANAGER_ROLES:
        raise PermissionDeniedError(_("只有群主或管理员可以添加成员。"), code="conversation.not_manager")
    ids = _int_ids(user_ids, field="user_ids")
    users = _active_users(ids)
    present = set(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))
    new = [user for user in users if user.pk not in present]
    if len(present) + len(new) > GROUP_MAX_MEMBERS:
        raise InvalidInput(_("群成员最多 %(max)d 人。") % {"max": GROUP_MAX_MEMBERS}, code="conversation.too_many_members")
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=user, last_read_seq=conversation.last_seq) for user in new]
    )
    if new:
        audit(actor=actor, action="conversation.members_added", target=conversation, data={"users": [u.pk for u in new]})
        _publish_joined(conversation.pk, [u.pk for u in new])
    return [u.pk for u in new]


@transaction.atomic
def conversation_member_remove(*, actor: Any, conversation_id: int, user_id: int) -> None:
    """Remove a member (owner/admin; an admin cannot remove the owner or another admin),
    or leave (``user_id`` is the actor; the owner cannot leave their own group)."""
    conversation, membership = _lock_managed_group(actor, conversation_id)
    target = Membership.objects.select_for_update(of=("self",)).filter(conversation=conversation, user_id=user_id).first()
    if target is None:
        raise NotFound()
    if target.user_id == actor.pk:
        if target.role == MemberRole.OWNER:
            raise InvalidTransition(_("群主不能退出自己的群。"), code="conversation.owner_cannot_leave")
    elif membership.role == MemberRole.OWNER or (membership.role == MemberRole.ADMIN and target.role == MemberRole.MEMBER):
        pass
    else:
        raise PermissionDeniedError(_("您无权移除该成员。"), code="conversation.not_manager")
    target.delete()
    DingRecipient.objects.filter(ding__message__conversation=conversation, user_id=user_id, confirmed_at__isnull=True).update(
        next_notify_at=None
    )
    audit(actor=actor, action="conversation.member_removed", target=conversation, data={"user": user_id})
    _publish_left(conversation.pk, [user_id])


@transaction.atomic
def conversation_member_set_role(*, actor: Any, conversation_id: int, user_id: int, role: Any) -> Membership:
    """The owner makes a member an admin or back. Raises conversation.not_owner, invalid."""
    conversation, membership = _lock_managed_group(actor, conversation_id)
    if membership.role != MemberRole.OWNER:
        raise PermissionDeniedError(_("只有群主可以设置管理员。"), code="conversation.not_owner")
    if role not in (MemberRole.ADMIN, MemberRole.MEMBER):
        raise InvalidInput(_("角色只能是管理员或成员。"), code="invalid")
    target = Membership.objects.select_for_update(of=("self",)).filter(conversation=conversation, user_id=user_id).first()
    if target is None:
        raise NotFound()
    if target.role == MemberRole.OWNER:
        raise InvalidTransition(_("不能更改群主的角色。"), code="conversation.owner_role_fixed")
    target.role = role
    target.full_clean(exclude=["conversation", "user"])
    target.save(update_fields=["role"])
    audit(actor=actor, action="conversation.role_changed", target=conversation, data={"user": user_id, "role": role})
    return target


# ------------------------------------------------------------------------------ department groups


def department_group_eligible(department: Department) -> bool:
    """A department group never spans two issuing organisations: a department qualifies
    unless another organisation sits in its subtree (so 办公厅 has one, the provincial
    government above several bureaux does not)."""
    return not Department.objects.filter(path__startswith=department.path, is_organisation=True).exclude(pk=department.pk).exists()


@transaction.atomic
def department_group_sync(*, department_id: int) -> Conversation | None:
    """Bring a department's group in step with the directory: every active user of the
    department's subtree is a member, department heads of the department are admins,
    nobody else is in it. Creates the group on first sync; returns None for departments
    that get no group. Idempotent; safe to run concurrently (conversation row lock)."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise NotFound()
    existing = Conversation.objects.filter(kind=ConversationKind.DEPARTMENT, department=department).first()
    eligible = department_group_eligible(department)
    if not eligible and existing is None:
        return None
    if existing is None:
        # ON CONFLICT DO NOTHING: two first syncs create one group.
        Conversation.objects.bulk_create(
            [Conversation(kind=ConversationKind.DEPARTMENT, department=department, title=department.name)],
            ignore_conflicts=True,
        )
    conversation = Conversation.objects.select_for_update(of=("self",)).get(
        kind=ConversationKind.DEPARTMENT, department=department
    )
    if conversation.title != department.name:
        conversation.title = department.name
        conversation.save(update_fields=["title"])
    desired: dict[int, str] = {}
    if eligible:
        users = User.objects.filter(is_active=True, department__path__startswith=department.path)
        heads = set(
            User.objects.filter(is_active=True, department=department, role_assignments__role=Role.DEPARTMENT_HEAD).values_list(
                "pk", flat=True
            )
        )
        desired = {uid: (MemberRole.ADMIN if uid in heads else MemberRole.MEMBER) for uid in users.values_list("pk", flat=True)}
    current = dict(Membership.objects.filter(conversation=conversation).values_list("user_id", "role"))
    added = sorted(set(desired) - set(current))
    removed = sorted(set(current) - set(desired))
    Membership.objects.bulk_create(
        [
            Membership(conversation=conversation, user_id=uid, role=desired[uid], last_read_seq=conversation.last_seq)
            for uid in added
        ],
        ignore_conflicts=True,
    )
    Membership.objects.filter(conversation=conversation, user_id__in=removed).delete()
    for role in (MemberRole.ADMIN, MemberRole.MEMBER):
        Membership.objects.filter(
            conversation=conversation, user_id__in=[uid for uid, r in desired.items() if r == role]
        ).exclude(role=role).update(role=role)
    if added or removed:
        audit(
            actor=None,
            action="conversation.department_synced",
            target=conversation,
            data={"department": department.pk, "added": added, "removed": removed},
        )
        _publish_joined(conversation.pk, added)
        _publish_left(conversation.pk, removed)
    return conversation


def department_groups_sync_all() -> int:
    """Worker job and ``manage.py sync_department_groups``: sync every department's group,
    each in its own transaction. Returns how many department groups exist afterwards."""
    synced = 0
    for department_id in Department.objects.order_by("path").values_list("pk", flat=True):
        if department_group_sync(department_id=department_id) is not None:
            synced += 1
    return synced


def department_groups_sync_for_user(*, user: Any) -> None:
    """Directory hook (``officehub.directory.services.USER_CHANGED_HOOKS``), run in the
    transaction that changed the user's department, roles or active flag: sync every
    department group the user belongs to or should belong to — their department's and
    its ancestors' while active, and every one they are still a member of. Whoever leaves
    a group is told ``conversation.left`` after commit, so their open sockets stop
    receiving it at once; a new department head becomes admin of their group.
    O(tree depth) group syncs, each under the group's row lock."""
    user = User.objects.select_related("department").get(pk=user.pk)  # the saved state
    wanted: list[int] = []
    if user.is_active and user.department_id:
        wanted = user.department.ancestor_ids or [user.department_id]
    current = Membership.objects.filter(user=user, conversation__kind=ConversationKind.DEPARTMENT).values_list(
        "conversation__department_id", flat=True
    )
    for department_id in sorted(set(wanted) | {d for d in current if d is not None}):
        department_group_sync(department_id=department_id)


# ------------------------------------------------------------------------------ attachments

# (magic prefix, content type, allowed extensions). ZIP- and OLE-based office formats are
# recognised by their inner structure below; anything else is refused.
_SIGNATURES: list[tuple[bytes, str, tuple[str, ...]]] = [
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"GIF87a", "image/gif", (".gif",)),
    (b"GIF89a", "image/gif", (".gif",)),
]
_ZIP_KINDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
    ("OFD.xml", "application/ofd", (".ofd",)),  # GB/T 33190 版式文档
]
_OLE_KINDS = {".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint"}
_TEXT_EXTENSIONS = (".txt", ".csv")


def sniff_content_type(name: str, data: bytes) -> str:
    """Decide the content type from the bytes (not the client's header) and require the
    file name's extension to agree. Raises attachment.type_not_allowed."""
    ext = PurePath(name).suffix.lower()
    refused = AttachmentRejected(
        _("不支持的文件类型：仅允许 PDF、OFD、Word/Excel/PowerPoint、图片（PNG/JPEG/GIF）和纯文本。"),
        code="attachment.type_not_allowed",
        status=415,
    )
    for magic, content_type, extensions in _SIGNATURES:
        if data.startswith(magic):
            if ext not in extensions:
                raise refused
            return content_type
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            raise refused from None
        for marker, content_type, extensions in _ZIP_KINDS:
            if any(n == marker or n.startswith(marker) for n in names) and ext in extensions:
                if marker != "OFD.xml" and "[Content_Types].xml" not in names:
                    raise refused
                return content_type
        raise refused
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if ext in _OLE_KINDS:
            return _OLE_KINDS[ext]
        raise refused
    if ext in _TEXT_EXTENSIONS and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise refused from None
        return "text/plain; charset=utf-8" if ext == ".txt" else "text/csv; charset=utf-8"
    raise refused


def _clean_file_name(name: str) -> str:
    name = _CONTROL_CHARS.sub("", PurePath(name.replace("\\", "/")).name).strip()
    if not name or name in (".", ".."):
        raise InvalidInput(_("文件名无效。"), code="attachment.invalid_name")
    if len(name) > 200:
        stem, ext = PurePath(name).stem, PurePath(name).suffix
        name = stem[: 200 - len(ext)] + ext
    return name


def attachment_send(*, actor: Any, conversation_id: int, client_id: Any, name: str, data: bytes) -> SendResult:
    """Store a file and send it as a message, all or nothing: checks membership, size
    (settings.ATTACHMENT_MAX_BYTES) and the sniffed content type before anything is
    written; if the database part fails, the stored file is deleted again.
    Raises not_found, attachment.too_large (413), attachment.type_not_allowed (415),
    attachment.empty, attachment.invalid_name, message.rate_limited."""
    client_id = _clean_client_id(client_id)
    membership_of(actor, conversation_id)
    existing = _existing(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise AttachmentRejected(
            _("文件过大：最大 %(mb)s MB。") % {"mb": f"{limit / 1024 / 1024:g}"},
            code="attachment.too_large",
            status=413,
            extra={"max_bytes": limit},
        )
    if not data:
        raise InvalidInput(_("文件为空。"), code="attachment.empty")
    name = _clean_file_name(name)
    content_type = sniff_content_type(name, data)
    rate_limit_check(actor)
    now = timezone.now()
    stored = default_storage.save(
        f"chat/{now:%Y/%m}/{uuid.uuid4().hex}{PurePath(name).suffix.lower()}", ContentFile(data)
    )
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                conversation_id=conversation_id,
                uploader=actor,
                file=stored,
                name=name,
                size=len(data),
                content_type=content_type,
                sha256=hashlib.sha256(data).hexdigest(),
            )
            result = _append(
                actor=actor,
                conversation_id=conversation_id,
                client_id=client_id,
                kind=MessageKind.FILE,
                body=name,
                attachment=attachment,
            )
            if not result.created:  # lost a race with the same client_id
                transaction.set_rollback(True)
    except BaseException:
        default_storage.delete(stored)
        raise
    if not result.created:
        default_storage.delete(stored)
    return result
