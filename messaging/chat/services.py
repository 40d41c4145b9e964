"""Chat writes: sending (text, 公文 cards, DING), read pointers, recall, conversations and
their members. DING confirmation and reminders live in ``dings``, files in
``attachments``, the directory-driven groups in ``department_groups``.

Every function here runs inside the entry point's transaction (``require_transaction()``,
officehub/transactions.py): the API view, the socket handler or the job opens it.

Delivery model (DESIGN §8): a message is stored first, under the conversation row lock
that allocates its per-conversation ``seq``; the push to the conversation group is
registered with ``on_commit``. The channel layer may drop frames — clients recover
through ``resume`` (seq > last seen), so nothing here ever resends.

Audit: membership changes, recalls and DING are audited. Ordinary message sends are
not: the message row *is* the record, and ``audit()`` serialises on one chain head, which
would put every chat message in the platform behind a single lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.chat import dings
from messaging.chat.payloads import (
    ConversationSettingsEvent,
    HiddenEvent,
    MembershipEvent,
    MessagePayload,
    ReadEvent,
    ReadSelfEvent,
    RecalledEvent,
    message_event,
    message_payload,
)
from messaging.chat.selectors import (
    access_conversation,
    access_message,
    document_for_card,
    membership_of,
    readable_messages,
)
from messaging.errors import (
    AlreadyRecalled,
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
    DingRecipient,
    HiddenMessage,
    MemberRole,
    Membership,
    Mention,
    Message,
    MessageKind,
)
from officehub import ratelimit
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.indexing.models import IndexKind
from officehub.indexing.services import mark_for_index
from officehub.realtime import conversation_group, publish_on_commit, user_group
from officehub.transactions import require_transaction
from officehub.transitions import Transitions

BODY_MAX_CHARS = 4000
TITLE_MAX_CHARS = 100
GROUP_MAX_MEMBERS = 2000
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MANAGER_ROLES = (MemberRole.OWNER, MemberRole.ADMIN)

# A message is active until recalled; a recall is final. The state is ``recalled_at``
# (set or not), read through ``message_state``.
MESSAGE_RECALL = Transitions(
    "message",
    {"recall": {"active": "recalled"}},
    message=gettext_lazy("该消息已撤回。"),
    error=AlreadyRecalled,
)


def message_state(message: Message) -> str:
    return "recalled" if message.recalled_at else "active"


@dataclass
class SendResult:
    message: Message
    created: bool
    # The payload that was fanned out (set for a fresh send; saves re-serialising).
    payload: MessagePayload | None = None


# ------------------------------------------------------------------------------ input


def clean_client_id(client_id: Any) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise InvalidInput(_("client_id 无效：须为 1–64 位字母、数字或 _.:-"), code="message.invalid_client_id")
    return client_id


def clean_body(body: Any, *, required: bool = True) -> str:
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise InvalidInput(_("消息内容必须是文本。"), code="message.invalid_body")
    body = CONTROL_CHARS.sub("", body).strip()
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


def existing_send(actor: User, client_id: str, conversation_id: int | None) -> Message | None:
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


def rate_limit_check(actor: User) -> None:
    """A token bucket per user shared by every process (officehub/ratelimit.py): bursts of
    up to MESSAGE_BURST, MESSAGE_RATE_PER_MINUTE in the long run. Raises
    message.rate_limited with ``retry_after`` seconds."""
    limit = settings.MESSAGE_RATE_PER_MINUTE
    decision = ratelimit.take(f"message:{actor.pk}", rate_per_second=limit / 60, burst=settings.MESSAGE_BURST)
    if not decision.allowed:
        raise RateLimited(limit, decision.retry_after)


def _is_manager(membership: Membership) -> bool:
    return membership.conversation.kind != ConversationKind.DIRECT and membership.role in MANAGER_ROLES


# ------------------------------------------------------------------------------ pushes


def publish_joined(conversation_id: int, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        event: MembershipEvent = {"type": "chat.joined", "conversation_id": conversation_id}
        publish_on_commit(user_group(user_id), dict(event))


def publish_left(conversation_id: int, user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        event: MembershipEvent = {"type": "chat.left", "conversation_id": conversation_id}
        publish_on_commit(user_group(user_id), dict(event))


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
    read_self: ReadSelfEvent = {"type": "chat.read_self", "conversation_id": conversation_id, "last_read_seq": to_seq}
    publish_on_commit(user_group(membership.user_id), dict(read_self))
    if own_message and from_seq >= to_seq - 1:
        return  # caught up before sending: nothing of anybody else's was just read
    senders = (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=from_seq, seq__lte=to_seq, sender__isnull=False)
        .exclude(sender_id=membership.user_id)
        .values_list("sender_id", flat=True)
        .distinct()
    )
    for sender_id in senders:
        read: ReadEvent = {
            "type": "chat.read",
            "conversation_id": conversation_id,
            "user_id": membership.user_id,
            "from_seq": from_seq,
            "to_seq": to_seq,
        }
        publish_on_commit(user_group(sender_id), dict(read))


# ------------------------------------------------------------------------------ the log


def message_append(
    *,
    actor: User,
    conversation_id: int,
    client_id: str,
    kind: str,
    body: str,
    mention_ids: Sequence[int] = (),
    mention_all: bool = False,
    document_id: int | None = None,
    attachment: Attachment | None = None,
    ding_recipients: Sequence[User] = (),
    membership: Membership | None = None,
    reply_to: Message | None = None,
    forwarded_from: str = "",
    with_message: Callable[[Message], None] | None = None,
) -> SendResult:
    """Allocate the next seq under the conversation row lock and store the message (and
    its DING, if it has recipients), then announce it after commit.

    The lock serialises senders of one conversation only; it is held for a few short
    statements, and it is what keeps seq dense and in commit order (a rolled-back send
    rolls back its seq too, so there are never gaps).
    """
    require_transaction()
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
    # A concurrent resend with the same client_id waited on the lock above: answer it
    # with the stored message instead of tripping the unique constraint.
    duplicate = existing_send(actor, client_id, conversation_id)
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
        reply_to=reply_to,
        forwarded_from=forwarded_from[:100],
    )
    # Field validation only: the unique constraints are enforced by the database, and
    # checking them here would cost two queries on the hottest path.
    message.full_clean(
        exclude=["conversation", "sender", "attachment", "reply_to"], validate_unique=False, validate_constraints=False
    )
    message.save()
    mark_for_index(IndexKind.MESSAGE, message.pk)  # search indexes it after commit (outbox)
    Mention.objects.bulk_create(
        [Mention(message=message, conversation_id=conversation_id, seq=message.seq, user_id=uid) for uid in mention_ids]
    )
    if with_message is not None:
        with_message(message)  # rows that belong to the message (a bundle's items) before it is announced
    ding = dings.ding_open(message=message, sender=actor, recipients=ding_recipients, now=now) if ding_recipients else None
    # Sending means the sender has seen the conversation up to here.
    if membership is None:
        membership = Membership.objects.get(conversation_id=conversation_id, user_id=actor.pk)
    _advance_read(membership, message.seq, own_message=True)
    payload = message_payload(message, mentions=list(mention_ids), ding=ding, fresh=True)
    publish_on_commit(conversation_group(conversation_id), dict(message_event(payload)))
    return SendResult(message, True, payload)


def _check_mentions(membership: Membership, actor: User, mentions: Any, mention_all: Any) -> tuple[list[int], bool]:
    ids = [uid for uid in _int_ids(mentions, field="mentions") if uid != actor.pk]
    if ids:
        members = set(
            Membership.objects.filter(conversation_id=membership.conversation_id, user_id__in=ids).values_list(
                "user_id", flat=True
            )
        )
        if members != set(ids):
            raise InvalidInput(_("只能 @ 本会话的成员。"), code="message.mention_not_member")
    mention_all = bool(mention_all)
    if mention_all and not _is_manager(membership):
        raise PermissionDeniedError(_("只有群主或管理员可以 @所有人。"), code="message.mention_all_forbidden")
    return ids, mention_all


# ------------------------------------------------------------------------------ messages


def message_send(
    *,
    actor: User,
    conversation_id: int,
    client_id: Any,
    body: Any,
    mentions: Any = None,
    mention_all: Any = False,
    document_id: Any = None,
    reply_to: Any = None,
) -> SendResult:
    """Store a text message (or a 公文 card when ``document_id`` is given) and fan it out
    on commit; ``reply_to`` quotes a message of the same conversation (回复). Idempotent
    on (sender, client_id): a resend returns the stored message with ``created=False``
    and publishes nothing.

    Raises not_found (not a member / card document not viewable), message.invalid_client_id,
    message.empty, message.too_long, message.mention_not_member,
    message.mention_all_forbidden, message.client_id_reused, message.rate_limited,
    message.reply_unavailable (the quoted message is not in this conversation, or
    missing), message.reply_recalled.
    """
    require_transaction()
    client_id = clean_client_id(client_id)
    membership = membership_of(actor, conversation_id)
    existing = existing_send(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    kind = MessageKind.TEXT
    if document_id is not None:
        if not isinstance(document_id, int) or isinstance(document_id, bool) or document_id <= 0:
            raise InvalidInput(_("公文编号无效。"), code="message.invalid_document")
        if document_for_card(actor, document_id) is None:
            raise NotFound(_("公文不存在，或您无权查看，不能发送公文卡片。"), code="message.document_unavailable")
        kind = MessageKind.DOCUMENT
    body = clean_body(body, required=kind == MessageKind.TEXT)
    mention_ids, mention_all = _check_mentions(membership, actor, mentions, mention_all)
    quoted = _quoted(actor, conversation_id, reply_to)
    rate_limit_check(actor)
    return message_append(
        actor=actor,
        conversation_id=conversation_id,
        client_id=client_id,
        kind=kind,
        body=body,
        mention_ids=mention_ids,
        mention_all=mention_all,
        document_id=document_id,
        membership=membership,
        reply_to=quoted,
    )


def _quoted(actor: User, conversation_id: int, reply_to: Any) -> Message | None:
    """The message a reply quotes: of this very conversation (the caller is a member), not
    recalled. Another conversation's message is answered like a missing one."""
    if reply_to is None:
        return None
    if not isinstance(reply_to, int) or isinstance(reply_to, bool) or reply_to <= 0:
        raise InvalidInput(_("reply_to 必须是消息编号。"), code="frame.invalid_field", extra={"field": "reply_to"})
    quoted = readable_messages(actor).select_related("sender").filter(pk=reply_to, conversation_id=conversation_id).first()
    if quoted is None:
        raise NotFound(_("引用的消息不存在或不在本会话中。"), code="message.reply_unavailable")
    if quoted.recalled_at is not None:
        raise InvalidTransition(_("原消息已撤回，不能引用。"), code="message.reply_recalled")
    return quoted


def ding_send(*, actor: User, conversation_id: int, client_id: Any, body: Any, recipient_ids: Any) -> SendResult:
    """Send an urgent message that each chosen member must confirm (a send like any other,
    so it lives here; the DING's own life is in ``dings``). Recipients get a DING 待办 and
    a live notification now, and are re-notified by ``dings.ding_renotify_due`` every
    settings.DING_RENOTIFY_SECONDS until they confirm or the sender cancels.
    Raises not_found, ding.no_recipients, ding.recipient_not_member and the send errors."""
    require_transaction()
    client_id = clean_client_id(client_id)
    access_conversation(actor, conversation_id)
    existing = existing_send(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    body = clean_body(body)
    ids = [uid for uid in _int_ids(recipient_ids, field="recipient_ids") if uid != actor.pk]
    if not ids:
        raise InvalidInput(_("请至少选择一位接收人。"), code="ding.no_recipients")
    recipients = list(User.objects.filter(pk__in=ids, chat_memberships__conversation_id=conversation_id).order_by("pk"))
    if len(recipients) != len(ids):
        raise InvalidInput(_("DING 只能发给本会话的成员。"), code="ding.recipient_not_member")
    rate_limit_check(actor)
    return message_append(
        actor=actor,
        conversation_id=conversation_id,
        client_id=client_id,
        kind=MessageKind.TEXT,
        body=body,
        ding_recipients=recipients,
    )


def conversation_mark_read(*, actor: User, conversation_id: int, seq: Any) -> Membership:
    """Move the actor's read pointer up to ``seq`` (clamped to the last message). Never
    moves it back. One row updated, whatever the group size. Raises not_found, invalid."""
    require_transaction()
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidInput(_("seq 必须是非负整数。"), code="invalid")
    membership = membership_of(actor, conversation_id, lock=True)
    _advance_read(membership, min(seq, membership.conversation.last_seq))
    return membership


def message_recall(*, actor: User, message_id: int) -> Message:
    """Recall a message: its sender within settings.MESSAGE_RECALL_SECONDS, a group owner
    or admin at any time. Everyone then sees "消息已撤回"; its @-mentions and any DING
    reminders end. Raises not_found, message.already_recalled,
    message.recall_window_closed, message.recall_forbidden."""
    require_transaction()
    visible = access_message(actor, message_id)
    message = Message.objects.select_for_update(of=("self",)).select_related("sender").get(pk=visible.pk)
    MESSAGE_RECALL.targets(message_state(message), "recall")
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
    mark_for_index(IndexKind.MESSAGE, message.pk)  # a recalled message leaves the search index
    Mention.objects.filter(message=message).delete()
    dings.ding_stop_for_recall(message=message, now=now)
    audit(
        actor=actor,
        action="message.recalled",
        target=message,
        data={"conversation": message.conversation_id, "seq": message.seq, "sender": message.sender_id},
    )
    event: RecalledEvent = {
        "type": "chat.recalled",
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "seq": message.seq,
        "recalled_by": actor.pk,
    }
    publish_on_commit(conversation_group(message.conversation_id), dict(event))
    return message


# ------------------------------------------------------------------------------ conversations


def conversation_direct_open(*, actor: User, peer_id: int) -> Conversation:
    """The one direct conversation between the actor and an active colleague (created on
    first use; concurrent first uses meet on the unique ``direct_key``)."""
    require_transaction()
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
        # A savepoint, not a transaction of its own: the loser of two concurrent first
        # opens hits the unique key, rolls back to here and reads the winner's row,
        # while the caller's transaction carries on.
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=ConversationKind.DIRECT, direct_key=key)
            Membership.objects.bulk_create([Membership(conversation=conversation, user_id=uid) for uid in (low, high)])
            publish_joined(conversation.pk, [low, high])
    except IntegrityError:
        return Conversation.objects.get(direct_key=key)
    return conversation


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput(_("请填写群名称。"), code="conversation.title_required")
    title = CONTROL_CHARS.sub("", title).strip()
    if len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(_("群名称最多 %(max)d 个字。") % {"max": TITLE_MAX_CHARS}, code="conversation.title_too_long")
    return title


def _active_users(ids: list[int]) -> list[User]:
    users = list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
    if len(users) != len(ids):
        raise InvalidInput(_("部分成员不存在或已停用。"), code="conversation.unknown_user")
    return users


def conversation_group_create(*, actor: User, title: Any, member_ids: Any) -> Conversation:
    """Create a group owned by the actor with the chosen colleagues.
    Raises conversation.title_required/title_too_long, conversation.unknown_user,
    conversation.too_few_members, conversation.too_many_members."""
    require_transaction()
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
    publish_joined(conversation.pk, [actor.pk, *ids])
    return conversation


def _lock_managed_group(actor: User, conversation_id: int) -> tuple[Conversation, Membership]:
    membership = membership_of(actor, conversation_id)
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
    if conversation.kind == ConversationKind.DIRECT:
        raise InvalidInput(_("单聊不能增减成员。"), code="conversation.direct_fixed")
    if conversation.kind == ConversationKind.DEPARTMENT:
        raise InvalidInput(_("部门群成员随通讯录自动同步，不能手工调整。"), code="conversation.managed_by_directory")
    return conversation, membership


def conversation_members_add(*, actor: User, conversation_id: int, user_ids: Any) -> list[int]:
    """Owner or admin adds colleagues to a group; returns the ids actually added.
    New members start with everything before their arrival marked read."""
    require_transaction()
    conversation, membership = _lock_managed_group(actor, conversation_id)
    if membership.role not in MANAGER_ROLES:
        raise PermissionDeniedError(_("只有群主或管理员可以添加成员。"), code="conversation.not_manager")
    ids = _int_ids(user_ids, field="user_ids")
    users = _active_users(ids)
    present = set(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))
    new = [user for user in users if user.pk not in present]
    if len(present) + len(new) > GROUP_MAX_MEMBERS:
        raise InvalidInput(_("群成员最多 %(max)d 人。") % {"max": GROUP_MAX_MEMBERS}, code="conversation.too_many_members")
    # joined_seq: the floor of what a new member may see if the group hides its history.
    last = conversation.last_seq
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=user, last_read_seq=last, joined_seq=last) for user in new]
    )
    if new:
        audit(actor=actor, action="conversation.members_added", target=conversation, data={"users": [u.pk for u in new]})
        publish_joined(conversation.pk, [u.pk for u in new])
    return [u.pk for u in new]


def conversation_member_remove(*, actor: User, conversation_id: int, user_id: int) -> None:
    """Remove a member (owner/admin; an admin cannot remove the owner or another admin),
    or leave (``user_id`` is the actor; the owner cannot leave their own group)."""
    require_transaction()
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
    publish_left(conversation.pk, [user_id])


def conversation_member_set_role(*, actor: User, conversation_id: int, user_id: int, role: Any) -> Membership:
    """The owner makes a member an admin or back. Raises conversation.not_owner, invalid."""
    require_transaction()
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


def conversation_set_history_visible(*, actor: User, conversation_id: int, visible: Any) -> Conversation:
    """Owner or admin sets 新成员可查看历史消息 of a group. Off: members who joined later
    see only what was sent after they joined (history, resume, search); the founders and
    everyone already a member keep what they saw when it was added. Raises not_found,
    conversation.not_manager, conversation.direct_fixed/managed_by_directory, invalid."""
    require_transaction()
    if not isinstance(visible, bool):
        raise InvalidInput(_("history_visible 必须是 true 或 false。"), code="invalid")
    conversation, membership = _lock_managed_group(actor, conversation_id)
    if membership.role not in MANAGER_ROLES:
        raise PermissionDeniedError(_("只有群主或管理员可以修改群设置。"), code="conversation.not_manager")
    if conversation.history_visible != visible:
        conversation.history_visible = visible
        conversation.save(update_fields=["history_visible"])
        audit(actor=actor, action="conversation.history_visibility_changed", target=conversation, data={"visible": visible})
    return conversation


# ------------------------------------------------------------------------------ per-member settings


def _settings_event(membership: Membership) -> ConversationSettingsEvent:
    return {
        "type": "chat.settings",
        "conversation_id": membership.conversation_id,
        "pinned": membership.pinned_at is not None,
        "pinned_at": membership.pinned_at.isoformat() if membership.pinned_at else None,
        "muted": membership.muted,
    }


def conversation_settings_set(*, actor: User, conversation_id: int, pinned: Any = None, muted: Any = None) -> Membership:
    """置顶 and 免打扰 for the actor alone (``None`` leaves a setting as it is). A muted
    conversation counts in no unread badge and raises no alert; its read pointer and
    receipts work as always. Every device of the actor gets ``conversation.settings``;
    the conversation list and ``hello`` re-read them after a reconnect.
    Raises not_found, frame.invalid_field."""
    require_transaction()
    for name, value in (("pinned", pinned), ("muted", muted)):
        if value is not None and not isinstance(value, bool):
            raise InvalidInput(
                _("%(field)s 必须是 true 或 false。") % {"field": name}, code="frame.invalid_field", extra={"field": name}
            )
    membership = membership_of(actor, conversation_id, lock=True)
    fields: list[str] = []
    if pinned is not None and pinned != (membership.pinned_at is not None):
        membership.pinned_at = timezone.now() if pinned else None
        fields.append("pinned_at")
    if muted is not None and muted != membership.muted:
        membership.muted = muted
        fields.append("muted")
    if fields:
        membership.save(update_fields=fields)
        publish_on_commit(user_group(actor.pk), dict(_settings_event(membership)))
    return membership


HIDE_MAX = 100


def messages_hide(*, actor: User, message_ids: Any) -> list[int]:
    """删除 (for me): hide up to HIDE_MAX messages of conversations the actor belongs to,
    for the actor only. The messages keep their seq for everyone (the actor's history and
    resume return them as content-less ``hidden`` placeholders, so no gap appears) and
    are untouched for the other members. Idempotent. Every device of the actor gets
    ``hidden`` per conversation. Raises not_found (any id not readable: nothing is
    hidden), frame.invalid_field."""
    require_transaction()
    ids = _int_ids(message_ids, field="message_ids")
    if not ids or len(ids) > HIDE_MAX:
        raise InvalidInput(
            _("请选择 1–%(max)d 条消息。") % {"max": HIDE_MAX}, code="frame.invalid_field", extra={"field": "message_ids"}
        )
    mine = Membership.objects.filter(user_id=actor.pk).values("conversation_id")
    messages = list(Message.objects.filter(pk__in=ids, conversation_id__in=mine).only("id", "conversation_id"))
    if len(messages) != len(ids):
        raise NotFound()
    HiddenMessage.objects.bulk_create(
        [HiddenMessage(user=actor, message_id=m.pk, conversation_id=m.conversation_id) for m in messages],
        ignore_conflicts=True,
    )
    by_conversation: dict[int, list[int]] = {}
    for message in messages:
        by_conversation.setdefault(message.conversation_id, []).append(message.pk)
    for conversation_id, hidden in sorted(by_conversation.items()):
        event: HiddenEvent = {"type": "chat.hidden", "conversation_id": conversation_id, "message_ids": sorted(hidden)}
        publish_on_commit(user_group(actor.pk), dict(event))
    return ids
