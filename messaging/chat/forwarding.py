"""转发: messages forwarded to people (their direct conversations) or groups, one by one or
as one 合并转发 record (a ``bundle`` message whose items open as a list). Runs inside the
entry point's transaction.

Who may forward what: the sources must be messages of conversations the actor belongs
to (and not recalled); the targets conversations the actor belongs to, or colleagues,
whose direct conversation with the actor is opened. Anything else is refused before
anything is written. A file is forwarded by reference: no copy is stored, and the file
becomes readable by the target's members because a live message there now carries it
(``selectors.access_attachment``).

Every message a forward stores is an ordinary message of its conversation (seq,
fan-out, resume). Its ``client_id`` is derived from the forward's —
``<client_id>/<conversation id>/<n>`` — so a repeated forward frame stores nothing twice;
``/`` never appears in a client's own ids, so these cannot collide with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _

from messaging.chat.payloads import snippet_for
from messaging.chat.selectors import conversation_members, readable_messages
from messaging.chat.services import (
    _int_ids,
    clean_client_id,
    conversation_direct_open,
    message_append,
    rate_limit_check,
)
from messaging.errors import InvalidInput, NotFound
from messaging.models import BundleItem, Conversation, ConversationKind, Membership, Message, MessageKind
from officehub.directory.models import User
from officehub.transactions import require_transaction

MAX_TARGETS = 20
MAX_MERGED = 100
# One-by-one forwarding stores sources × targets messages: bounded.
MAX_SINGLE_MESSAGES = 100
ForwardMode = Literal["single", "merged"]


@dataclass
class ForwardResult:
    messages: list[Message]
    created: bool


def _sources(actor: User, ids: list[int]) -> list[Message]:
    sources = list(
        readable_messages(actor)
        .filter(pk__in=ids)
        .select_related("sender", "attachment", "conversation")
        .order_by("conversation_id", "seq")
    )
    if len(sources) != len(ids):
        raise NotFound(_("要转发的消息不存在，或您无权查看。"), code="forward.source_unavailable")
    if any(m.recalled_at is not None for m in sources):
        raise InvalidInput(_("已撤回的消息不能转发。"), code="forward.source_recalled")
    if any(m.kind == MessageKind.SYSTEM for m in sources):
        raise InvalidInput(_("系统消息不能转发。"), code="forward.source_not_forwardable")
    return sources


def _targets(actor: User, conversation_ids: list[int], user_ids: list[int]) -> list[int]:
    """Target conversation ids, ascending (the order their rows are locked in)."""
    if not conversation_ids and not user_ids:
        raise InvalidInput(_("请选择转发给谁。"), code="forward.no_targets")
    if len(conversation_ids) + len(user_ids) > MAX_TARGETS:
        raise InvalidInput(
            _("一次最多转发给 %(max)d 个会话。") % {"max": MAX_TARGETS},
            code="forward.too_many_targets",
            extra={"max": MAX_TARGETS},
        )
    member_of = set(
        Membership.objects.filter(user_id=actor.pk, conversation_id__in=conversation_ids).values_list(
            "conversation_id", flat=True
        )
    )
    if member_of != set(conversation_ids):
        raise NotFound(_("只能转发到您所在的会话。"), code="forward.target_unavailable")
    targets = set(conversation_ids)
    for user_id in user_ids:
        if user_id == actor.pk:
            raise InvalidInput(_("不能转发给自己。"), code="forward.target_self")
        try:
            targets.add(conversation_direct_open(actor=actor, peer_id=user_id).pk)
        except NotFound:
            raise NotFound(_("转发对象不存在或已停用。"), code="forward.target_unavailable") from None
    return sorted(targets)


def bundle_title(actor: User, conversation: Conversation) -> str:
    if conversation.kind == ConversationKind.DIRECT:
        names = [m["name"] for m in conversation_members(conversation.pk)]
        others = [n for n in names if n != actor.display_name]
        return _("%(a)s和%(b)s的聊天记录") % {"a": actor.display_name, "b": others[0] if others else actor.display_name}
    return _("%(title)s的聊天记录") % {"title": conversation.title or _("群聊")}


def _bundle_items(sources: list[Message]) -> list[BundleItem]:
    items: list[BundleItem] = []
    for position, source in enumerate(sources):
        kind, body = source.kind, source.body
        if kind == MessageKind.BUNDLE:
            body = snippet_for(kind, body)  # a record inside a record is shown by its title
            kind = MessageKind.TEXT
        items.append(
            BundleItem(
                position=position,
                source=source,
                sender_name=source.sender.display_name if source.sender else "系统",
                kind=kind,
                body=body,
                attachment=source.attachment,
                document_id=source.document_id,
                sent_at=source.created_at,
            )
        )
    return items


def _copy_bundle(source: Message) -> list[BundleItem]:
    """A record forwarded one by one stays a record: its items are copied."""
    return [
        BundleItem(
            position=item.position,
            source=item.source,
            sender_name=item.sender_name,
            kind=item.kind,
            body=item.body,
            attachment=item.attachment,
            document_id=item.document_id,
            sent_at=item.sent_at,
        )
        for item in BundleItem.objects.filter(message=source).order_by("position")
    ]


def _attach(items: list[BundleItem]) -> Any:
    def attach(message: Message) -> None:
        for item in items:
            item.pk = None
            item.message = message
        BundleItem.objects.bulk_create(items)

    return attach


def messages_forward(
    *,
    actor: User,
    client_id: Any,
    message_ids: Any,
    conversation_ids: Any = None,
    user_ids: Any = None,
    mode: Any = "single",
) -> ForwardResult:
    """Forward ``message_ids`` to the target conversations and colleagues: ``single``
    copies each message (in its original order, marked 转发自 its sender); ``merged``
    stores one 聊天记录 record per target whose items are the messages as they were
    (all from one conversation). Returns the stored messages in target order.
    Raises forward.source_unavailable (404: missing or not readable),
    forward.source_recalled, forward.source_not_forwardable, forward.mixed_conversations,
    forward.target_unavailable (404: not a member / no such colleague), forward.no_targets,
    forward.too_many_targets, forward.too_many_messages, forward.target_self,
    message.invalid_client_id, message.rate_limited."""
    require_transaction()
    client_id = clean_client_id(client_id)
    if mode not in ("single", "merged"):
        raise InvalidInput(_("mode 只能是 single 或 merged。"), code="frame.invalid_field", extra={"field": "mode"})
    ids = _int_ids(message_ids, field="message_ids")
    if not ids:
        raise InvalidInput(_("请选择要转发的消息。"), code="forward.no_messages")
    if len(ids) > MAX_MERGED:
        raise InvalidInput(
            _("一次最多转发 %(max)d 条消息。") % {"max": MAX_MERGED}, code="forward.too_many_messages", extra={"max": MAX_MERGED}
        )
    sources = _sources(actor, ids)
    if mode == "merged" and len({m.conversation_id for m in sources}) > 1:
        raise InvalidInput(_("合并转发的消息须来自同一会话。"), code="forward.mixed_conversations")
    targets = _targets(actor, _int_ids(conversation_ids, field="conversation_ids"), _int_ids(user_ids, field="user_ids"))
    if mode == "single" and len(sources) * len(targets) > MAX_SINGLE_MESSAGES:
        raise InvalidInput(
            _("逐条转发最多生成 %(max)d 条消息，请改用合并转发。") % {"max": MAX_SINGLE_MESSAGES},
            code="forward.too_many_messages",
            extra={"max": MAX_SINGLE_MESSAGES},
        )
    stored: list[Message] = []
    created = False
    title = bundle_title(actor, sources[0].conversation) if mode == "merged" else ""
    for target in targets:
        rate_limit_check(actor)
        if mode == "merged":
            result = message_append(
                actor=actor,
                conversation_id=target,
                client_id=f"{client_id}/{target}",
                kind=MessageKind.BUNDLE,
                body=title,
                with_message=_attach(_bundle_items(sources)),
            )
            stored.append(result.message)
            created = created or result.created
            continue
        for n, source in enumerate(sources):
            extra = _attach(_copy_bundle(source)) if source.kind == MessageKind.BUNDLE else None
            result = message_append(
                actor=actor,
                conversation_id=target,
                client_id=f"{client_id}/{target}/{n}",
                kind=source.kind if source.kind != MessageKind.ANNOUNCEMENT else MessageKind.TEXT,
                body=source.body,
                attachment=source.attachment,
                document_id=source.document_id,
                forwarded_from=source.forwarded_from or (source.sender.display_name if source.sender else ""),
                with_message=extra,
            )
            stored.append(result.message)
            created = created or result.created
    return ForwardResult(stored, created)
