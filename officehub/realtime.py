"""The one door from services to Channels: publish after commit, to a named group.

Group names are built here and nowhere else, so producers (services) and consumers
(messaging) cannot drift apart. The database stays the source of truth: a push that the
layer drops is recovered by the client's resume, never by resending from here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0

_publisher_lock = threading.Lock()
_publisher: tuple[int, asyncio.AbstractEventLoop] | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop per process for publishing from synchronous code.

    ``async_to_sync`` outside a server starts a fresh loop per call, and the Redis layer
    keeps one connection pool per loop, so every push paid for a new connection (about
    5 ms). A loop that lives in its own daemon thread reuses its pool. Keyed by pid so a
    forked child starts its own.
    """
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid() or _publisher[1].is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="officehub-publisher", daemon=True).start()
            _publisher = (os.getpid(), loop)
        return _publisher[1]


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def auth_group(user_id: int) -> str:
    """Every socket of a user, whatever its purpose (chat or meeting), listens here for
    the end of its session (``auth.revoke``, see officehub.accounts.sessions)."""
    return f"auth.{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def meeting_group(meeting_id: int) -> str:
    return f"meeting.{meeting_id}"


def publish_now(group: str, payload: Mapping[str, object]) -> None:
    """Send to a channel-layer group; a layer outage is logged, not raised.

    Callers have already committed the state this announces, and clients re-read it on
    reconnect, so failing the caller here would only lose the work that did succeed.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the server's loop and are not thread-safe: send there.
            async_to_sync(layer.group_send)(group, dict(payload))
        else:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, dict(payload)), _publisher_loop())
            future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - any layer failure must not undo committed work
        logger.warning("channel layer publish to %s failed", group, exc_info=True)


async def join_groups(layer: Any, groups: list[str], channel: str) -> None:
    """Add ``channel`` to every group at once: one confirmed SUBSCRIBE on OfficeHub's layer
    (officehub/layers.py), one call per group on layers without ``group_add_many``."""
    add_many = getattr(layer, "group_add_many", None)
    if add_many is not None:
        await add_many(groups, channel)
    else:
        for group in groups:
            await layer.group_add(group, channel)


async def leave_groups(layer: Any, groups: list[str], channel: str) -> None:
    discard_many = getattr(layer, "group_discard_many", None)
    if discard_many is not None:
        await discard_many(groups, channel)
    else:
        for group in groups:
            await layer.group_discard(group, channel)


def publish_on_commit(group: str, payload: Mapping[str, object]) -> None:
    """Register a push that happens only if and when the current transaction commits.

    ``payload`` is a channel-layer event: a ``TypedDict`` with a ``Literal`` ``type``."""
    transaction.on_commit(lambda: publish_now(group, payload))
