"""表情回应: one member's emoji on one message, as a toggle. Runs inside the entry point's
transaction."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from messaging.chat.emoji import EMOJI
from messaging.chat.payloads import ReactionEvent
from messaging.chat.selectors import access_message
from messaging.errors import InvalidInput, InvalidTransition, RateLimited
from messaging.models import Message, Reaction
from officehub import ratelimit
from officehub.directory.models import User
from officehub.realtime import conversation_group, publish_on_commit
from officehub.transactions import require_transaction


def reaction_toggle(*, actor: User, message_id: int, emoji: Any) -> ReactionEvent:
    """Add the actor's ``emoji`` to a message, or take it away if it is there. The
    conversation gets ``reaction`` with everyone who now has that emoji on the message.

    The message row is locked so that toggles of one message apply one after the other
    and each event's ``user_ids`` is the committed truth (a client sets it, never adds).
    Raises not_found, reaction.invalid_emoji, reaction.message_recalled,
    message.rate_limited (the chat rate, counted apart from sends)."""
    require_transaction()
    if not isinstance(emoji, str) or emoji not in EMOJI:
        raise InvalidInput(_("不支持的表情。"), code="reaction.invalid_emoji")
    visible = access_message(actor, message_id)
    limit = settings.MESSAGE_RATE_PER_MINUTE
    decision = ratelimit.take(f"reaction:{actor.pk}", rate_per_second=limit / 60, burst=settings.MESSAGE_BURST)
    if not decision.allowed:
        raise RateLimited(limit, decision.retry_after)
    message = Message.objects.select_for_update(of=("self",)).get(pk=visible.pk)
    if message.recalled_at is not None:
        raise InvalidTransition(_("该消息已撤回。"), code="reaction.message_recalled")
    deleted, _rows = Reaction.objects.filter(message=message, user=actor, emoji=emoji).delete()
    on = not deleted
    if on:
        Reaction.objects.create(message=message, user=actor, emoji=emoji)
    user_ids = sorted(Reaction.objects.filter(message=message, emoji=emoji).values_list("user_id", flat=True))
    event: ReactionEvent = {
        "type": "chat.reaction",
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "seq": message.seq,
        "emoji": emoji,
        "user_id": actor.pk,
        "on": on,
        "count": len(user_ids),
        "user_ids": user_ids,
    }
    publish_on_commit(conversation_group(message.conversation_id), dict(event))
    return event
