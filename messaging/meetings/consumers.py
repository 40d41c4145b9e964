"""The meeting socket ``/ws/meetings/<id>/``: WebRTC signaling, roster and host controls.

Authorisation happens once, in ``connect``, through ``room.participant_join``
(host or invitee, inside the window, not locked for newcomers, under capacity). A refused
socket is accepted only to be told why — one ``{"type": "error", "code", "message"}``
frame (``messaging.sockets.error_frame``) — and then closed (4401 anonymous, 4404 not found / not invited, 4403 otherwise),
so a page can show the reason instead of retrying blindly.

Client → server frames::

    {"type": "offer"|"answer", "to": <peer_id>, "sdp": "..."}
    {"type": "ice", "to": <peer_id>, "candidate": {...} | null}
    {"type": "media", "mic": bool, "camera": bool, "screen": bool}
    {"type": "hand", "raised": bool}
    {"type": "mute"|"remove", "peer": <peer_id>}          host only
    {"type": "lock", "locked": bool}                        host only
    {"type": "end"}                                         host only
    {"type": "ping"}   {"type": "leave"}

Server → client: ``welcome`` (own peer id, roster, ICE servers), ``peer_joined``,
``peer_left``, relayed ``offer``/``answer``/``ice`` (with ``from``), ``media``, ``hand``,
``muted``, ``removed``, ``replaced``, ``locked``, ``ended``, ``pong``, ``error``.

The socket lives only as long as its session (``SessionBoundMixin``): on logout, a
password change or a deactivation it frees its seat (peers get ``peer_left``), sends an
``auth.session_ended`` error frame and closes with 4401.

Offer/answer/ICE (checked by ``room.relay_frame``) go to the addressed peer's channel
only (``channel_layer.send``), never to the room group, and touch no database row: each
consumer keeps a peer id → channel map fed by the roster events every worker receives,
and falls back to the Participant table for a peer whose join event has not arrived
yet. Every other handler is an entry point: its service call runs in a worker thread in
its own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from messaging.meetings import room, selectors, services
from messaging.meetings.payloads import (
    AddressedEvent,
    EndedEvent,
    GoneFrame,
    HandEvent,
    LockedEvent,
    MediaEvent,
    MeetingFrame,
    PeerJoinedEvent,
    PeerLeftEvent,
    RelayEvent,
    WelcomeFrame,
)
from messaging.sockets import (
    CLOSE_SESSION_ENDED,
    CLOSE_UNAUTHENTICATED,
    LayerResyncEvent,
    SessionBoundMixin,
    error_frame,
)
from officehub import jsonsafe
from officehub.directory.models import User
from officehub.errors import ApplicationError
from officehub.realtime import meeting_group
from officehub.transactions import in_transaction

try:  # the Redis layer's pool refuses, rather than queues, beyond its size under a burst
    from redis.exceptions import ConnectionError as LayerBusy
except ImportError:  # pragma: no cover - in-memory layer only
    LayerBusy = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

CLOSE_RESYNC = 4503  # frames may be lost: reconnect and renegotiate
CLOSE_NOT_FOUND = 4404
CLOSE_REFUSED = 4403
CLOSE_GONE = 4000  # replaced / removed / ended / seat lost
MAX_FRAME_CHARS = 64 * 1024
# A browser trickles a few dozen ICE candidates per peer at most; far more than this per
# second is a broken or hostile client, and every frame to an unknown peer costs a query.
MAX_FRAMES_PER_SECOND = 200
RELAY_ATTEMPTS = 5

T = TypeVar("T")


def _refusal(message: str, code: str, **extra: Any) -> ApplicationError:
    """A socket-level refusal (no service involved) as the coded error every frame uses."""
    return ApplicationError(message, code=code, extra=extra)


@database_sync_to_async
@in_transaction
def _join(meeting_id: int, user: User, channel_name: str) -> room.JoinResult:
    return room.participant_join(meeting_id=meeting_id, user=user, channel_name=channel_name)


@database_sync_to_async
@in_transaction
def _leave(channel_name: str) -> bool:
    return room.participant_leave(channel_name=channel_name)


@database_sync_to_async
def _lookup_peer(meeting_id: int, peer_id: int) -> str | None:
    return selectors.peer_channel(meeting_id=meeting_id, peer_id=peer_id)


@database_sync_to_async
@in_transaction
def _heartbeat(channel_name: str) -> bool:
    return room.participant_heartbeat(channel_name=channel_name)


@database_sync_to_async
@in_transaction
def _call(function: Callable[..., T], **kwargs: Any) -> T:
    return function(**kwargs)


class MeetingConsumer(SessionBoundMixin, AsyncJsonWebsocketConsumer):
    # Relay frames are hot (ICE bursts) and touch no database row: re-check the session
    # at most once a second for them; the push and the periodic check cover the rest.
    frame_max_age = 1.0

    meeting_id: int
    user: User
    peer_id: int | None
    is_host: bool
    peers: dict[int, str]
    joined: bool

    async def connect(self) -> None:
        self.meeting_id = int(self.scope["url_route"]["kwargs"]["meeting_id"])
        self.peer_id, self.is_host, self.peers, self.joined = None, False, {}, False
        self.window_start, self.window_frames = time.monotonic(), 0
        self.group = meeting_group(self.meeting_id)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, _refusal("请先登录。", "auth.not_authenticated"))
            return
        self.user = user
        # Subscribe before taking the seat, so no roster event between the roster
        # snapshot and the subscription can be missed (duplicates are ignored below).
        # Likewise for the end of the session.
        await self.session_bind(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        try:
            result = await _join(self.meeting_id, user, self.channel_name)
        except ApplicationError as exc:
            await self.session_unbind()
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self._refuse(CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_REFUSED, exc)
            return
        self.joined = True
        self.peer_id, self.is_host, self.peers = result.participant.pk, result.is_host, dict(result.channels)
        meeting = result.meeting
        await self.accept()
        welcome: WelcomeFrame = {
            "type": "welcome",
            "peer_id": result.participant.pk,
            "me": result.me,
            "is_host": self.is_host,
            "meeting": {
                "id": meeting.pk,
                "title": meeting.title,
                "host_id": meeting.host_id,
                "host_name": meeting.host.display_name,
                "start_at": meeting.start_at.isoformat(),
                "end_at": meeting.end_at.isoformat(),
                "locked": meeting.locked,
            },
            "roster": result.roster,
            "ice_servers": settings.ICE_SERVERS,
            "capacity": settings.MEETING_CAPACITY,
        }
        await self._frame(welcome)

    async def _frame(self, frame: MeetingFrame) -> None:
        """Every frame this socket sends."""
        await self.send_json(frame)

    async def _refuse(self, close_code: int, exc: ApplicationError) -> None:
        await self.accept()
        await self._frame(error_frame(exc))
        await self.close(code=close_code)

    async def disconnect(self, code: int) -> None:
        await self.session_unbind()
        if not self.joined:
            return
        self.joined = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await _leave(self.channel_name)

    async def session_ended(self) -> None:
        """Logout, password change or deactivation: free the seat, say why, close."""
        await self.session_unbind()
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await _leave(self.channel_name)
        await self._frame(error_frame(_refusal("登录已失效，请重新登录。", "auth.session_ended")))
        await self.close(code=CLOSE_SESSION_ENDED)

    # ------------------------------------------------------------------ client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined:
            return
        if not await self.session_still_valid():
            return  # the session has ended: the seat is freed and the socket closing
        if self._over_rate():
            if self.window_frames == MAX_FRAMES_PER_SECOND + 1:  # say it once per second
                refusal = _refusal(
                    f"信令发送过于频繁：每秒最多 {MAX_FRAMES_PER_SECOND} 帧，多余的帧已丢弃。",
                    "meeting.rate_limited",
                    limit_per_second=MAX_FRAMES_PER_SECOND,
                )
                await self._frame(error_frame(refusal))
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._frame(error_frame(room.bad_frame("帧过大或不是文本。", max_chars=MAX_FRAME_CHARS)))
            return
        try:
            content = jsonsafe.loads(text_data)
        except ValueError:
            await self._frame(error_frame(room.bad_frame("帧不是有效的 JSON。")))
            return
        if not isinstance(content, dict):
            await self._frame(error_frame(room.bad_frame("帧必须是 JSON 对象。")))
            return
        await self.receive_json(content)

    def _over_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_frames = now, 0
        self.window_frames += 1
        return self.window_frames > MAX_FRAMES_PER_SECOND

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if not self.joined:
            return
        kind = content.get("type")
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                raise room.bad_frame("不支持的帧类型。", frame_type=str(kind)[:40])
            await handler(self, content)
        except ApplicationError as exc:
            frame = error_frame(exc)
            frame["extra"] = {**exc.extra, "ref_type": str(kind)[:40]}  # which frame failed
            await self._frame(frame)

    async def _relay(self, content: dict[str, Any]) -> None:
        assert self.peer_id is not None  # joined
        to, frame = room.relay_frame(content, sender=self.peer_id)
        channel = self.peers.get(to)
        if channel is None:
            # Not in our map: maybe its join event is still on the way. The table decides.
            channel = await _lookup_peer(self.meeting_id, to)
            if channel is None:
                raise _refusal("对方不在会议中，信令未送达。", "meeting.peer_not_in_room", to=to)
            self.peers[to] = channel
        event: RelayEvent = {"type": "meeting.relay", "frame": frame}
        await self._deliver(channel, to, event)

    async def _deliver(self, channel: str, to: int, event: RelayEvent) -> None:
        """Send to one peer's channel. A momentarily exhausted layer connection pool is
        retried with a short backoff; a peer whose channel is full (a dead or stalled
        socket) gets nothing more and the sender is told, instead of the sender's own
        socket being dropped by an exception."""
        for attempt in range(RELAY_ATTEMPTS):
            try:
                await self.channel_layer.send(channel, dict(event))
                return
            except ChannelFull:
                raise _refusal("对方连接拥塞，信令未送达。", "meeting.peer_unreachable", to=to) from None
            except LayerBusy:
                if attempt == RELAY_ATTEMPTS - 1:
                    logger.warning("meeting relay to %s failed: channel layer busy", channel)
                    raise ApplicationError(
                        "服务器繁忙，信令未送达，请重试。", code="meeting.relay_failed", status=503, extra={"to": to}
                    ) from None
                await asyncio.sleep(0.01 * 2**attempt)

    async def _media(self, content: dict[str, Any]) -> None:
        await _call(
            room.participant_set_media,
            channel_name=self.channel_name,
            mic=content.get("mic"),
            camera=content.get("camera"),
            screen=content.get("screen", False),
        )

    async def _hand(self, content: dict[str, Any]) -> None:
        await _call(room.participant_raise_hand, channel_name=self.channel_name, raised=content.get("raised"))

    async def _mute(self, content: dict[str, Any]) -> None:
        await _call(room.participant_mute, meeting_id=self.meeting_id, actor=self.user, peer_id=content.get("peer"))

    async def _remove(self, content: dict[str, Any]) -> None:
        await _call(room.participant_remove, meeting_id=self.meeting_id, actor=self.user, peer_id=content.get("peer"))

    async def _lock(self, content: dict[str, Any]) -> None:
        await _call(services.meeting_lock, meeting_id=self.meeting_id, actor=self.user, locked=content.get("locked"))

    async def _end(self, content: dict[str, Any]) -> None:
        await _call(services.meeting_end, meeting_id=self.meeting_id, actor=self.user)

    async def _ping(self, content: dict[str, Any]) -> None:
        if await _heartbeat(self.channel_name):
            await self._frame({"type": "pong"})
            return
        await self._gone(error_frame(_refusal("您已不在会议中。", "meeting.not_in_room")))

    async def _leave_frame(self, content: dict[str, Any]) -> None:
        await self.close(code=1000)

    HANDLERS: dict[str, Callable[[MeetingConsumer, dict[str, Any]], Awaitable[None]]] = {
        "offer": _relay,
        "answer": _relay,
        "ice": _relay,
        "media": _media,
        "hand": _hand,
        "mute": _mute,
        "remove": _remove,
        "lock": _lock,
        "end": _end,
        "ping": _ping,
        "leave": _leave_frame,
    }

    # ------------------------------------------------------------ channel-layer events

    async def _gone(self, frame: GoneFrame) -> None:
        """This socket lost its seat (replaced, removed, ended): say so and close."""
        self.joined = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self._frame(frame)
        await self.close(code=CLOSE_GONE)

    async def layer_resync(self, event: LayerResyncEvent) -> None:
        """Signaling frames may have been lost (Redis reconnect, a slow socket): offer,
        answer and ICE cannot be replayed, so the page reconnects and renegotiates (its
        rejoin replaces this seat)."""
        await self._frame({"type": "resync"})
        await self.close(code=CLOSE_RESYNC)

    async def meeting_peer_joined(self, event: PeerJoinedEvent) -> None:
        peer = event["peer"]
        if not self.joined or peer["peer_id"] == self.peer_id:
            return
        self.peers[peer["peer_id"]] = event["channel"]
        # Sent even when the welcome snapshot already had this peer: the page dedupes by
        # peer id, and the newest roster entry wins.
        await self._frame({"type": "peer_joined", "peer": peer})

    async def meeting_peer_left(self, event: PeerLeftEvent) -> None:
        if not self.joined or event["peer_id"] == self.peer_id:
            return
        self.peers.pop(event["peer_id"], None)
        await self._frame(
            {"type": "peer_left", "peer_id": event["peer_id"], "user_id": event["user_id"], "reason": event["reason"]}
        )

    async def meeting_media(self, event: MediaEvent) -> None:
        if self.joined:
            await self._frame(
                {
                    "type": "media",
                    "peer_id": event["peer_id"],
                    "mic": event["mic"],
                    "camera": event["camera"],
                    "screen": event["screen"],
                }
            )

    async def meeting_hand(self, event: HandEvent) -> None:
        if self.joined:
            await self._frame({"type": "hand", "peer_id": event["peer_id"], "raised": event["raised"]})

    async def meeting_locked(self, event: LockedEvent) -> None:
        if self.joined:
            await self._frame({"type": "locked", "locked": event["locked"]})

    async def meeting_ended(self, event: EndedEvent) -> None:
        if self.joined:
            await self._gone({"type": "ended", "meeting_id": event["meeting_id"]})

    def _addressed_to_me(self, event: AddressedEvent) -> bool:
        return self.joined and event["peer_id"] == self.peer_id

    async def meeting_muted(self, event: AddressedEvent) -> None:
        if self._addressed_to_me(event):
            await self._frame({"type": "muted", "by": event["by"]})

    async def meeting_removed(self, event: AddressedEvent) -> None:
        if self._addressed_to_me(event):
            await self._gone({"type": "removed", "by": event["by"]})

    async def meeting_replaced(self, event: AddressedEvent) -> None:
        if self._addressed_to_me(event):
            await self._gone({"type": "replaced"})

    async def meeting_relay(self, event: RelayEvent) -> None:
        if self.joined:
            await self._frame(event["frame"])
