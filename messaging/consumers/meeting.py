"""The meeting socket ``/ws/meetings/<id>/``: WebRTC signaling, roster and host controls.

Authorisation happens once, in ``connect``, through ``meetings_services.participant_join``
(host or invitee, inside the window, not locked for newcomers, under capacity). A refused
socket is accepted only to be told why — one ``{"type": "error", "code", "message"}``
frame — and then closed (4401 anonymous, 4404 not found / not invited, 4403 otherwise),
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

Offer/answer/ICE go to the addressed peer's channel only (``channel_layer.send``), never
to the room group, and touch no database row: each consumer keeps a peer id → channel
map fed by the roster events every worker receives, and falls back to the Participant
table for a peer whose join event has not arrived yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from messaging import meetings_selectors as selectors
from messaging import meetings_services as services
from messaging.consumers.session import CLOSE_SESSION_ENDED, SessionBoundMixin
from officehub import jsonsafe
from officehub.errors import ApplicationError
from officehub.realtime import meeting_group

try:  # the Redis layer's pool refuses, rather than queues, beyond its size under a burst
    from redis.exceptions import ConnectionError as LayerBusy
except ImportError:  # pragma: no cover - in-memory layer only
    LayerBusy = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_RESYNC = 4503  # frames may be lost: reconnect and renegotiate
CLOSE_NOT_FOUND = 4404
CLOSE_REFUSED = 4403
CLOSE_GONE = 4000  # replaced / removed / ended / seat lost
MAX_FRAME_CHARS = 64 * 1024
MAX_SDP_CHARS = 48 * 1024
MAX_CANDIDATE_CHARS = 2 * 1024
RELAY_TYPES = ("offer", "answer", "ice")
# A browser trickles a few dozen ICE candidates per peer at most; far more than this per
# second is a broken or hostile client, and every frame to an unknown peer costs a query.
MAX_FRAMES_PER_SECOND = 200
CANDIDATE_KEYS = {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
RELAY_ATTEMPTS = 5


def _error(code: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "extra": extra or {}}


def _bad_frame(message: str, **extra: Any) -> ApplicationError:
    return ApplicationError(message, code="meeting.bad_frame", extra=extra)


def _peer_field(content: dict[str, Any], name: str) -> int:
    value = content.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _bad_frame(f"字段 {name} 必须是参会连接编号。", field=name)
    return value


@database_sync_to_async
def _join(meeting_id: int, user: Any, channel_name: str) -> services.JoinResult:
    return services.participant_join(meeting_id=meeting_id, user=user, channel_name=channel_name)


@database_sync_to_async
def _leave(channel_name: str) -> bool:
    return services.participant_leave(channel_name=channel_name)


@database_sync_to_async
def _lookup_peer(meeting_id: int, peer_id: int) -> str | None:
    return selectors.peer_channel(meeting_id=meeting_id, peer_id=peer_id)


@database_sync_to_async
def _heartbeat(channel_name: str) -> bool:
    return services.participant_heartbeat(channel_name=channel_name)


@database_sync_to_async
def _call(function: Any, **kwargs: Any) -> Any:
    return function(**kwargs)


class MeetingConsumer(SessionBoundMixin, AsyncJsonWebsocketConsumer):
    # Relay frames are hot (ICE bursts) and touch no database row: re-check the session
    # at most once a second for them; the push and the periodic check cover the rest.
    frame_max_age = 1.0

    meeting_id: int
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
            await self._refuse(CLOSE_UNAUTHENTICATED, _error("auth.not_authenticated", "请先登录。"))
            return
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
            close = CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_REFUSED
            await self._refuse(close, _error(exc.code, exc.message, exc.extra))
            return
        self.joined = True
        self.peer_id, self.is_host, self.peers = result.participant.pk, result.is_host, dict(result.channels)
        meeting = result.meeting
        await self.accept()
        await self.send_json(
            {
                "type": "welcome",
                "peer_id": self.peer_id,
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
        )

    async def _refuse(self, close_code: int, frame: dict[str, Any]) -> None:
        await self.accept()
        await self.send_json(frame)
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
        await self.send_json(_error("auth.session_ended", "登录已失效，请重新登录。"))
        await self.close(code=CLOSE_SESSION_ENDED)

    # ------------------------------------------------------------------ client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined:
            return
        if not await self.session_still_valid():
            return  # the session has ended: the seat is freed and the socket closing
        if self._over_rate():
            if self.window_frames == MAX_FRAMES_PER_SECOND + 1:  # say it once per second
                await self.send_json(
                    _error(
                        "meeting.rate_limited",
                        f"信令发送过于频繁：每秒最多 {MAX_FRAMES_PER_SECOND} 帧，多余的帧已丢弃。",
                        {"limit_per_second": MAX_FRAMES_PER_SECOND},
                    )
                )
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.send_json(_error("meeting.bad_frame", "帧过大或不是文本。", {"max_chars": MAX_FRAME_CHARS}))
            return
        try:
            content = jsonsafe.loads(text_data)
        except ValueError:
            await self.send_json(_error("meeting.bad_frame", "帧不是有效的 JSON。"))
            return
        if not isinstance(content, dict):
            await self.send_json(_error("meeting.bad_frame", "帧必须是 JSON 对象。"))
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
                raise _bad_frame("不支持的帧类型。", frame_type=str(kind)[:40])
            await handler(self, content)
        except ApplicationError as exc:
            await self.send_json(_error(exc.code, exc.message, {**exc.extra, "ref_type": str(kind)[:40]}))

    async def _relay(self, content: dict[str, Any]) -> None:
        kind = content["type"]
        to = _peer_field(content, "to")
        frame: dict[str, Any] = {"type": kind, "from": self.peer_id}
        if kind in ("offer", "answer"):
            sdp = content.get("sdp")
            if not isinstance(sdp, str) or not sdp or len(sdp) > MAX_SDP_CHARS:
                raise _bad_frame("sdp 必须是非空文本。", field="sdp")
            frame["sdp"] = sdp
        else:
            candidate = content.get("candidate")
            if candidate is not None and (
                not isinstance(candidate, dict)
                or not set(candidate) <= CANDIDATE_KEYS
                or len(json.dumps(candidate)) > MAX_CANDIDATE_CHARS
            ):
                raise _bad_frame("candidate 格式不正确。", field="candidate")
            frame["candidate"] = candidate
        if to == self.peer_id:
            raise _bad_frame("不能向自己发送信令。", field="to")
        channel = self.peers.get(to)
        if channel is None:
            # Not in our map: maybe its join event is still on the way. The table decides.
            channel = await _lookup_peer(self.meeting_id, to)
            if channel is None:
                raise ApplicationError("对方不在会议中，信令未送达。", code="meeting.peer_not_in_room", extra={"to": to})
            self.peers[to] = channel
        await self._deliver(channel, to, {"type": "meeting.relay", "frame": frame})

    async def _deliver(self, channel: str, to: int, message: dict[str, Any]) -> None:
        """Send to one peer's channel. A momentarily exhausted layer connection pool is
        retried with a short backoff; a peer whose channel is full (a dead or stalled
        socket) gets nothing more and the sender is told, instead of the sender's own
        socket being dropped by an exception."""
        for attempt in range(RELAY_ATTEMPTS):
            try:
                await self.channel_layer.send(channel, message)
                return
            except ChannelFull:
                raise ApplicationError(
                    "对方连接拥塞，信令未送达。", code="meeting.peer_unreachable", extra={"to": to}
                ) from None
            except LayerBusy:
                if attempt == RELAY_ATTEMPTS - 1:
                    logger.warning("meeting relay to %s failed: channel layer busy", channel)
                    raise ApplicationError(
                        "服务器繁忙，信令未送达，请重试。", code="meeting.relay_failed", status=503, extra={"to": to}
                    ) from None
                await asyncio.sleep(0.01 * 2**attempt)

    async def _media(self, content: dict[str, Any]) -> None:
        await _call(
            services.participant_set_media,
            channel_name=self.channel_name,
            mic=content.get("mic"),
            camera=content.get("camera"),
            screen=content.get("screen", False),
        )

    async def _hand(self, content: dict[str, Any]) -> None:
        await _call(services.participant_raise_hand, channel_name=self.channel_name, raised=content.get("raised"))

    async def _mute(self, content: dict[str, Any]) -> None:
        await _call(
            services.participant_mute, meeting_id=self.meeting_id, actor=self.scope["user"], peer_id=content.get("peer")
        )

    async def _remove(self, content: dict[str, Any]) -> None:
        await _call(
            services.participant_remove, meeting_id=self.meeting_id, actor=self.scope["user"], peer_id=content.get("peer")
        )

    async def _lock(self, content: dict[str, Any]) -> None:
        await _call(services.meeting_lock, meeting_id=self.meeting_id, actor=self.scope["user"], locked=content.get("locked"))

    async def _end(self, content: dict[str, Any]) -> None:
        await _call(services.meeting_end, meeting_id=self.meeting_id, actor=self.scope["user"])

    async def _ping(self, content: dict[str, Any]) -> None:
        if await _heartbeat(self.channel_name):
            await self.send_json({"type": "pong"})
            return
        await self._gone({"type": "error", "code": "meeting.not_in_room", "message": "您已不在会议中。", "extra": {}})

    async def _leave_frame(self, content: dict[str, Any]) -> None:
        await self.close(code=1000)

    HANDLERS: dict[str, Any] = {
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

    async def _gone(self, frame: dict[str, Any]) -> None:
        """This socket lost its seat (replaced, removed, ended): say so and close."""
        self.joined = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.send_json(frame)
        await self.close(code=CLOSE_GONE)

    async def layer_resync(self, event: dict[str, Any]) -> None:
        """Signaling frames may have been lost (Redis reconnect, a slow socket): offer,
        answer and ICE cannot be replayed, so the page reconnects and renegotiates (its
        rejoin replaces this seat)."""
        await self.send_json({"type": "resync"})
        await self.close(code=CLOSE_RESYNC)

    async def meeting_peer_joined(self, event: dict[str, Any]) -> None:
        peer = event["peer"]
        if not self.joined or peer["peer_id"] == self.peer_id:
            return
        self.peers[peer["peer_id"]] = event["channel"]
        # Sent even when the welcome snapshot already had this peer: the page dedupes by
        # peer id, and the newest roster entry wins.
        await self.send_json({"type": "peer_joined", "peer": peer})

    async def meeting_peer_left(self, event: dict[str, Any]) -> None:
        if not self.joined or event["peer_id"] == self.peer_id:
            return
        self.peers.pop(event["peer_id"], None)
        await self.send_json(
            {"type": "peer_left", "peer_id": event["peer_id"], "user_id": event["user_id"], "reason": event["reason"]}
        )

    async def meeting_media(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self.send_json({**event, "type": "media"})

    async def meeting_hand(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self.send_json({**event, "type": "hand"})

    async def meeting_locked(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self.send_json({"type": "locked", "locked": event["locked"]})

    async def meeting_ended(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self._gone({"type": "ended", "meeting_id": event["meeting_id"]})

    async def meeting_muted(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self.send_json({"type": "muted", "by": event["by"]})

    async def meeting_removed(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self._gone({"type": "removed", "by": event["by"]})

    async def meeting_replaced(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self._gone({"type": "replaced"})

    async def meeting_relay(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self.send_json(event["frame"])
