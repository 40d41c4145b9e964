"""群公告: one text per group, set by its owner or admins, with a read pointer per member
(``Membership.announcement_read_version``, like the message read pointer). Every function
runs inside the entry point's transaction.

A change is also a message of kind ``announcement`` in the conversation's seq stream, so
it reaches every member live, and after a reconnect through ``resume``, like any message;
the current text and the member's pointer are re-read with the conversation
(``GET conversations/<id>/``) on entry, which is when a client shows a text it has not
seen yet."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.chat.payloads import AnnouncementReadEvent
from messaging.chat.selectors import membership_of
from messaging.chat.services import (
    MANAGER_ROLES,
    SendResult,
    clean_body,
    clean_client_id,
    existing_send,
    message_append,
    rate_limit_check,
)
from messaging.errors import InvalidInput, PermissionDeniedError
from messaging.models import Conversation, ConversationKind, Membership, MessageKind
from officehub.audit.services import audit
from officehub.directory.models import User
from officehub.realtime import publish_on_commit, user_group
from officehub.transactions import require_transaction


def announcement_set(*, actor: User, conversation_id: int, client_id: Any, body: Any) -> SendResult:
    """Set (or, with an empty body, clear) a group's 群公告: owner or admins only. The
    version grows by one, every member's pointer is then behind it (so each client shows
    it on the next entry), and an ``announcement`` message carries the text to everyone.
    Idempotent on ``client_id`` like a send.
    Raises not_found, announcement.not_group, announcement.not_manager, message.too_long,
    message.invalid_client_id, message.rate_limited."""
    require_transaction()
    client_id = clean_client_id(client_id)
    membership = membership_of(actor, conversation_id)
    existing = existing_send(actor, client_id, conversation_id)
    if existing is not None:
        return SendResult(existing, False)
    if membership.conversation.kind == ConversationKind.DIRECT:
        raise InvalidInput(_("单聊没有群公告。"), code="announcement.not_group")
    if membership.role not in MANAGER_ROLES:
        raise PermissionDeniedError(_("只有群主或管理员可以发布群公告。"), code="announcement.not_manager")
    text = clean_body(body, required=False)
    rate_limit_check(actor)
    # The conversation row lock (also taken by message_append) orders concurrent changes.
    conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
    conversation.announcement = text
    conversation.announcement_version += 1
    conversation.announcement_by = actor
    conversation.announcement_at = timezone.now()
    conversation.save(update_fields=["announcement", "announcement_version", "announcement_by", "announcement_at"])
    # The author has read what they wrote.
    Membership.objects.filter(pk=membership.pk).update(announcement_read_version=conversation.announcement_version)
    audit(
        actor=actor,
        action="conversation.announcement_set",
        target=conversation,
        data={"version": conversation.announcement_version, "cleared": not text},
    )
    return message_append(
        actor=actor,
        conversation_id=conversation_id,
        client_id=client_id,
        kind=MessageKind.ANNOUNCEMENT,
        body=text,
        membership=membership,
    )


def announcement_mark_read(*, actor: User, conversation_id: int, version: Any) -> Membership:
    """The actor has seen the 群公告 up to ``version`` (clamped to the current one; never
    moves back). Their devices and the announcement's author get ``announcement.read``.
    Raises not_found, frame.invalid_field."""
    require_transaction()
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidInput(_("version 必须是非负整数。"), code="frame.invalid_field", extra={"field": "version"})
    membership = membership_of(actor, conversation_id, lock=True)
    conversation = membership.conversation
    version = min(version, conversation.announcement_version)
    if version <= membership.announcement_read_version:
        return membership
    membership.announcement_read_version = version
    membership.save(update_fields=["announcement_read_version"])
    event: AnnouncementReadEvent = {
        "type": "chat.announcement_read",
        "conversation_id": conversation_id,
        "user_id": actor.pk,
        "version": version,
    }
    for user_id in sorted({actor.pk, conversation.announcement_by_id or actor.pk}):
        publish_on_commit(user_group(user_id), dict(event))
    return membership
