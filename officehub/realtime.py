"""The one door from services to Channels: publish after commit, to a named group.

Group names are built here and nowhere else, so producers (services) and consumers
(messaging) cannot drift apart. The database stays the source of truth: a push that the
layer drops is recovered by the client's resume, never by resending from here.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def meeting_group(meeting_id: int) -> str:
    return f"meeting.{meeting_id}"


def publish_now(group: str, payload: dict[str, Any]) -> None:
    """Send to a channel-layer group; a layer outage is logged, not raised.

    Callers have already committed the state this announces, and clients re-read it on
    reconnect, so failing the caller here would only lose the work that did succeed.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, payload)
    except Exception:  # noqa: BLE001 - any layer failure must not undo committed work
        logger.warning("channel layer publish to %s failed", group, exc_info=True)


def publish_on_commit(group: str, payload: dict[str, Any]) -> None:
    """Register a push that happens only if and when the current transaction commits."""
    transaction.on_commit(lambda: publish_now(group, payload))
