"""What the two sockets (``/ws/``, ``/ws/meetings/<id>/``) share: they end with the
session that opened them, and they answer a refused frame with the API's error body.

Sockets end with the session that opened them (officehub.accounts.sessions). A socket
is authenticated once, at its handshake. ``SessionBoundMixin`` keeps that true for its
whole life, in three ways, so that no single lost message keeps it open:

- it joins ``auth.<user id>`` and handles ``auth.revoke``: a logout names its session (by
  digest) and ends it at once; a password change or deactivation makes every socket of
  the user re-check its session;
- it re-checks the session before handling a client frame (at most once per
  ``frame_max_age`` seconds), so a socket whose push was lost cannot act;
- it re-checks every ``SOCKET_REVALIDATE_SECONDS`` on its own, so a socket that only
  listens stops receiving too.

The check (``session_is_current``) reads the session store and the user row: the
session exists and has not expired, the user is active, the password is unchanged.
When it fails the consumer's ``session_ended`` closes the socket with 4401, and every
frame still queued for it (client or channel layer) is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Literal, NotRequired, TypedDict, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError

from officehub import edges
from officehub.accounts.sessions import AuthRevokeEvent, session_digest, session_is_current
from officehub.errors import ApplicationError
from officehub.realtime import auth_group

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_SESSION_ENDED = 4401


class ErrorFrame(TypedDict):
    """A refused frame or handshake: the API's ``{code, message, extra}`` with the fields
    of the client frame that failed (``ref``, ``client_id``, ``conversation_id`` …)."""

    type: Literal["error"]
    code: str
    message: str
    extra: dict[str, Any]
    ref: NotRequired[Any]
    client_id: NotRequired[Any]
    conversation_id: NotRequired[Any]
    message_id: NotRequired[Any]
    ding_id: NotRequired[Any]


def error_frame(exc: ApplicationError | ValidationError, **fields: Any) -> ErrorFrame:
    """The one way a socket says no (``officehub.edges.error_frame``, typed)."""
    return cast(ErrorFrame, edges.error_frame(exc, **fields))


class LayerResyncEvent(TypedDict):
    """From the channel layer itself (officehub/layers.py): frames may have been lost."""

    type: Literal["layer.resync"]


class ResyncFrame(TypedDict):
    type: Literal["resync"]


def _session_is_current_sync(session_key: str | None, user_id: int) -> bool:
    return session_is_current(session_key=session_key, user_id=user_id)


# Any worker thread: a self-contained read, nothing to keep in order with other calls.
_session_is_current = database_sync_to_async(_session_is_current_sync, thread_sensitive=False)


class SessionBoundMixin:
    """Mix into an ``AsyncJsonWebsocketConsumer`` before it; call ``session_bind`` once
    the user is known, ``session_unbind`` in ``disconnect``, ``session_still_valid``
    before handling a client frame; implement ``session_ended`` (close with 4401) and
    optionally ``session_revalidated`` (periodic reconciliation, e.g. memberships)."""

    # Provided by the consumer this is mixed into.
    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str

    # How stale a successful check may be before a client frame triggers a new one.
    frame_max_age: float = 0.0

    _session_key: str | None = None
    _session_digest: str = ""
    _session_user_id: int | None = None
    _session_checked_at: float = 0.0
    _session_over: bool = False
    _session_task: asyncio.Future[Any] | None = None

    async def session_bind(self, user_id: int) -> None:
        session = self.scope.get("session")
        self._session_key = getattr(session, "session_key", None)
        self._session_digest = session_digest(self._session_key) if self._session_key else ""
        self._session_user_id = user_id
        self._session_checked_at = time.monotonic()  # the handshake has just checked it
        await self.channel_layer.group_add(auth_group(user_id), self.channel_name)
        self._session_task = asyncio.ensure_future(self._session_watch())

    async def session_unbind(self) -> None:
        if self._session_task is not None and self._session_task is not asyncio.current_task():
            self._session_task.cancel()
        self._session_task = None
        if self._session_user_id is not None:
            await self.channel_layer.group_discard(auth_group(self._session_user_id), self.channel_name)

    async def session_still_valid(self) -> bool:
        """True when the session still authenticates the user (checked at most once per
        ``frame_max_age``); otherwise the socket is being ended and the frame must be
        dropped."""
        if self._session_over:
            return False
        if self._session_user_id is None:
            return True  # not bound: an anonymous socket that is being refused anyway
        if time.monotonic() - self._session_checked_at < self.frame_max_age:
            return True
        return await self._session_check()

    async def _session_check(self) -> bool:
        assert self._session_user_id is not None
        if self._session_over:
            return False
        if not await _session_is_current(self._session_key, self._session_user_id):
            await self._session_end()
            return False
        self._session_checked_at = time.monotonic()
        return True

    async def _session_end(self) -> None:
        if self._session_over:
            return
        self._session_over = True
        await self.session_ended()

    async def _session_watch(self) -> None:
        interval = float(settings.SOCKET_REVALIDATE_SECONDS)
        # The first check lands somewhere in the interval, so sockets opened together
        # (a server restart) do not all check at once.
        await asyncio.sleep(interval * random.uniform(0.5, 1.0))  # load spreading, not security
        while not self._session_over:
            try:
                if await self._session_check():
                    await self.session_revalidated()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup must not stop the watch for good
                logger.warning("socket session re-check failed; retrying", exc_info=True)
            await asyncio.sleep(interval)

    async def auth_revoke(self, event: AuthRevokeEvent) -> None:
        """Channel-layer event from officehub.accounts.sessions."""
        named = event.get("session") or ""
        if named:
            if named == self._session_digest:
                await self._session_end()  # this very session logged out
            return  # another session of the user logged out: not ours
        await self._session_check()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Once the session has ended, nothing more is handled or forwarded: not the
        # client's frames, not the events still queued in the channel. Only the
        # disconnect that follows the close still runs, to clean up.
        if self._session_over and message.get("type") != "websocket.disconnect":
            return
        await super().dispatch(message)  # type: ignore[misc]

    async def session_ended(self) -> None:
        raise NotImplementedError

    async def session_revalidated(self) -> None:
        """Hook run after each periodic check that passed."""
