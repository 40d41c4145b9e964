"""The user socket ``/ws/``: chat frames and live 待办 notifications for one signed-in user.

Protocol: docs/websocket-protocol.md. The consumer authorises in ``connect`` (session
user; anonymous sockets are closed with 4401; foreign origins never get here, see
officehub/asgi.py), joins ``user.<id>`` and one ``conversation.<id>`` group per membership,
and turns client frames into calls of the same services the HTTP API uses. Each handler
is an entry point: its service call runs in a worker thread in its own transaction.
Errors come back as ``{"type": "error", "code", "message", "extra", "ref"}`` frames
(``messaging.sockets.error_frame``) and never close the socket.

It lives only as long as its session (``SessionBoundMixin``): logout, a password change
or a deactivation closes it with 4401; a lost membership (e.g. a directory change) makes
it leave that conversation.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError

from messaging.chat import announcements, dings, forwarding, presence, reactions, selectors, services
from messaging.chat.payloads import (
    AckFrame,
    AnnouncementReadEvent,
    ChatFrame,
    ConversationSettingsEvent,
    DingUpdateEvent,
    ForwardAckFrame,
    HelloFrame,
    HiddenEvent,
    MembershipEvent,
    MembershipFrame,
    MessageEvent,
    NotifyEvent,
    PongFrame,
    PresenceEvent,
    PresenceFrame,
    ReactionEvent,
    ReadEvent,
    ReadSelfEvent,
    RecalledEvent,
    ResumeBatchFrame,
    ResumeDoneFrame,
    TypingEvent,
    message_payload,
)
from messaging.errors import ApplicationError, InvalidInput, NotFound
from messaging.models import ConversationKind, Membership
from messaging.sockets import (
    CLOSE_SESSION_ENDED,
    CLOSE_UNAUTHENTICATED,
    LayerResyncEvent,
    SessionBoundMixin,
    error_frame,
)
from officehub import jsonsafe
from officehub.directory.models import User
from officehub.realtime import conversation_group, join_groups, leave_groups, user_group
from officehub.transactions import in_transaction

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
MAX_RESUME_CONVERSATIONS = 1000
MAX_PRESENCE_QUERY = 200
TYPING_MIN_INTERVAL = 2.0
ReplyFrame = AckFrame | ForwardAckFrame | ResumeBatchFrame | ResumeDoneFrame | PresenceFrame | PongFrame
# The fields of a client frame that an error frame repeats, so the client can tell which
# of its frames failed.
ECHOED_FIELDS = ("client_id", "conversation_id", "message_id", "ding_id")


def _int_field(content: dict[str, Any], name: str) -> int:
    value = content.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"字段 {name} 必须是非负整数。", code="frame.invalid_field", extra={"field": name})
    return value


# ----------------------------------------------------------------- sync parts (worker thread)

# Every call is a self-contained transaction with no thread-local state carried between
# calls, so it runs on any worker thread (with a pooled connection) instead of queueing
# behind the process's one thread-sensitive executor. Sends too: the sequence comes from
# the database (the conversation row lock), and two sends committing on two threads — or
# two processes — may publish in either order; clients order by seq, hold a frame that
# arrives early and ask ``resume`` only for a gap that does not fill (chat.js).
db_call = functools.partial(database_sync_to_async, thread_sensitive=False)


def _ack(result: services.SendResult) -> AckFrame:
    message = result.message
    return {
        "type": "ack",
        "client_id": message.client_id,
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "seq": message.seq,
        "duplicate": not result.created,
        # Fresh from the send path, the payload is the one just fanned out (no queries).
        "message": result.payload or message_payload(message),
    }


@db_call
@in_transaction
def _send(user: User, content: dict[str, Any]) -> AckFrame:
    result = services.message_send(
        actor=user,
        conversation_id=_int_field(content, "conversation_id"),
        client_id=content.get("client_id"),
        body=content.get("body"),
        mentions=content.get("mentions"),
        mention_all=content.get("mention_all", False),
        document_id=content.get("document_id"),
        reply_to=content.get("reply_to"),
    )
    return _ack(result)


@db_call
@in_transaction
def _forward(user: User, content: dict[str, Any]) -> ForwardAckFrame:
    result = forwarding.messages_forward(
        actor=user,
        client_id=content.get("client_id"),
        message_ids=content.get("message_ids"),
        conversation_ids=content.get("conversation_ids"),
        user_ids=content.get("user_ids"),
        mode=content.get("mode", "single"),
    )
    messages = selectors.messages_for_payload([m.pk for m in result.messages])
    return {
        "type": "forward.ack",
        "client_id": str(content.get("client_id")),
        "duplicate": not result.created,
        "messages": [message_payload(m) for m in messages],
    }


@db_call
@in_transaction
def _react(user: User, content: dict[str, Any]) -> None:
    reactions.reaction_toggle(actor=user, message_id=_int_field(content, "message_id"), emoji=content.get("emoji"))


@db_call
@in_transaction
def _conversation_set(user: User, content: dict[str, Any]) -> None:
    services.conversation_settings_set(
        actor=user,
        conversation_id=_int_field(content, "conversation_id"),
        pinned=content.get("pinned"),
        muted=content.get("muted"),
    )


@db_call
@in_transaction
def _hide(user: User, content: dict[str, Any]) -> None:
    services.messages_hide(actor=user, message_ids=content.get("message_ids"))


@db_call
@in_transaction
def _announcement_set(user: User, content: dict[str, Any]) -> AckFrame:
    result = announcements.announcement_set(
        actor=user,
        conversation_id=_int_field(content, "conversation_id"),
        client_id=content.get("client_id"),
        body=content.get("body"),
    )
    return _ack(result)


@db_call
@in_transaction
def _announcement_read(user: User, content: dict[str, Any]) -> None:
    announcements.announcement_mark_read(
        actor=user, conversation_id=_int_field(content, "conversation_id"), version=_int_field(content, "version")
    )


@db_call
@in_transaction
def _ding(user: User, content: dict[str, Any]) -> AckFrame:
    result = services.ding_send(
        actor=user,
        conversation_id=_int_field(content, "conversation_id"),
        client_id=content.get("client_id"),
        body=content.get("body"),
        recipient_ids=content.get("recipient_ids"),
    )
    return _ack(result)


@db_call
@in_transaction
def _read(user: User, content: dict[str, Any]) -> None:
    services.conversation_mark_read(
        actor=user, conversation_id=_int_field(content, "conversation_id"), seq=_int_field(content, "seq")
    )


@db_call
@in_transaction
def _recall(user: User, content: dict[str, Any]) -> None:
    services.message_recall(actor=user, message_id=_int_field(content, "message_id"))


@db_call
@in_transaction
def _confirm(user: User, content: dict[str, Any]) -> None:
    dings.ding_confirm(actor=user, ding_id=_int_field(content, "ding_id"))


@db_call
@in_transaction
def _ding_cancel(user: User, content: dict[str, Any]) -> None:
    dings.ding_cancel(actor=user, ding_id=_int_field(content, "ding_id"))


@db_call
def _resume(user: User, wanted: dict[int, int]) -> tuple[list[ResumeBatchFrame], list[int]]:
    """Batches of missed messages for the conversations the user belongs to, and the ids
    that are not theirs (answered as not_found, like a missing conversation)."""
    # conversation id -> history floor (a group hiding its history from new members).
    allowed = {
        conversation_id: 0 if history_visible else joined_seq
        for conversation_id, joined_seq, history_visible in Membership.objects.filter(
            user_id=user.pk, conversation_id__in=list(wanted)
        ).values_list("conversation_id", "joined_seq", "conversation__history_visible")
    }
    batches: list[ResumeBatchFrame] = []
    for conversation_id in sorted(allowed):
        after_seq = max(wanted[conversation_id], allowed[conversation_id])
        messages, has_more = selectors.resume_payloads(user=user, conversation_id=conversation_id, after_seq=after_seq)
        if messages or has_more:
            batches.append(
                {"type": "resume.batch", "conversation_id": conversation_id, "messages": messages, "has_more": has_more}
            )
    return batches, sorted(set(wanted) - set(allowed))


@db_call
def _memberships(user_id: int) -> list[tuple[int, str]]:
    return selectors.conversation_ids_of(user_id)


@db_call
def _is_member(user_id: int, conversation_id: int) -> bool:
    return Membership.objects.filter(user_id=user_id, conversation_id=conversation_id).exists()


@db_call
def _direct_peers_sharing(user_id: int, user_ids: list[int]) -> set[int]:
    return selectors.users_sharing(user_id, user_ids)


# ----------------------------------------------------------------- the consumer


class UserSocketConsumer(SessionBoundMixin, AsyncJsonWebsocketConsumer):
    """One per browser tab (or device): everything realtime for one user."""

    # Every client frame re-checks the session (one indexed query): a send already costs
    # several, and no frame after a logout may be served.
    frame_max_age = 0.0

    user: User | None = None
    user_id: int | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept then close, so the browser sees a code it can act on (log in again)
            # rather than a bare handshake failure.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.user_id = user.pk
        self.conversation_ids: set[int] = set()
        self.direct_ids: set[int] = set()
        self.typing_sent: dict[int, float] = {}
        await self.session_bind(user.pk)
        for conversation_id, kind in await _memberships(user.pk):
            self._remember(conversation_id, kind)
        # All groups in one confirmed subscription (a user may be in a thousand).
        await join_groups(
            self.channel_layer,
            [user_group(user.pk), *(conversation_group(cid) for cid in sorted(self.conversation_ids))],
            self.channel_name,
        )
        await self.accept()
        # Joined every group before hello: anything committed from now on reaches this
        # socket live, and anything earlier is fetched by the client's resume.
        hello: HelloFrame = {"type": "hello", "user_id": user.pk, "conversations": sorted(self.conversation_ids)}
        await self._frame(hello)
        if await presence.touch(user.pk, self.channel_name):
            await self._announce_presence(True, user_id=user.pk)

    async def _frame(self, frame: ChatFrame) -> None:
        """Every frame this socket sends (but ``message``, which arrives encoded)."""
        await self.send_json(frame)

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Leave every group and the presence set (once: disconnect, or the session's end)."""
        user_id = self.user_id
        if user_id is None:
            return
        self.user_id = None
        await self.session_unbind()
        # Also done by the layer if this handler never runs (officehub/layers.py).
        await leave_groups(
            self.channel_layer,
            [user_group(user_id), *(conversation_group(cid) for cid in self.conversation_ids)],
            self.channel_name,
        )
        if await presence.leave(user_id, self.channel_name):
            await self._announce_presence(False, user_id=user_id)

    async def session_ended(self) -> None:
        await self._release()
        await self.close(code=CLOSE_SESSION_ENDED)

    async def session_revalidated(self) -> None:
        """Periodic backstop for lost ``chat.joined``/``chat.left`` events: the socket's
        groups follow the memberships in the database."""
        if self.user_id is None:
            return
        current = dict(await _memberships(self.user_id))
        for conversation_id in sorted(self.conversation_ids - current.keys()):
            await self._leave(conversation_id)
        for conversation_id in sorted(current.keys() - self.conversation_ids):
            await self._join(conversation_id, current[conversation_id])
            joined: MembershipFrame = {"type": "conversation.joined", "conversation_id": conversation_id}
            await self._frame(joined)

    def _remember(self, conversation_id: int, kind: str) -> None:
        self.conversation_ids.add(conversation_id)
        if kind == ConversationKind.DIRECT:
            self.direct_ids.add(conversation_id)

    async def _join(self, conversation_id: int, kind: str) -> None:
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        self._remember(conversation_id, kind)

    async def _leave(self, conversation_id: int) -> None:
        await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)
        self.conversation_ids.discard(conversation_id)
        self.direct_ids.discard(conversation_id)
        left: MembershipFrame = {"type": "conversation.left", "conversation_id": conversation_id}
        await self._frame(left)

    async def _announce_presence(self, online: bool, *, user_id: int) -> None:
        # Only to direct conversations: announcing to big groups would cost one frame per
        # member per connect; group members query presence instead.
        event: PresenceEvent = {"type": "chat.presence", "user_id": user_id, "online": online}
        for conversation_id in self.direct_ids:
            await self.channel_layer.group_send(conversation_group(conversation_id), dict(event))

    # -- client frames ----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not await self.session_still_valid():
            return  # the session has ended: the socket is closing with 4401
        if text_data is None:
            await self._refuse(InvalidInput("只接受 JSON 文本帧。", code="frame.binary_unsupported"))
            return
        if len(text_data.encode("utf-8")) > MAX_FRAME_BYTES:
            await self._refuse(InvalidInput(f"帧过大：最大 {MAX_FRAME_BYTES // 1024} KB。", code="frame.too_large"))
            return
        try:
            content = jsonsafe.loads(text_data)
        except ValueError:
            await self._refuse(InvalidInput("帧不是有效的 JSON。", code="frame.invalid_json"))
            return
        if not isinstance(content, dict):
            await self._refuse(InvalidInput("帧必须是 JSON 对象。", code="frame.invalid_json"))
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        ref = content.get("ref")
        if handler is None:
            await self._refuse(InvalidInput(f"未知的帧类型：{str(kind)[:40]}", code="frame.unknown_type"), ref=ref)
            return
        if self.user is None:
            return  # an anonymous socket, being closed with 4401: nothing to serve
        try:
            await handler(self, self.user, content)
        except ApplicationError as exc:
            echoed = {key: content[key] for key in ECHOED_FIELDS if key in content}
            await self._refuse(exc, ref=ref, **echoed)
        except ValidationError as exc:
            await self._refuse(exc, ref=ref)

    async def _refuse(self, exc: ApplicationError | ValidationError, *, ref: Any = None, **fields: Any) -> None:
        frame = error_frame(exc, **fields)
        if ref is not None:
            frame["ref"] = ref
        await self._frame(frame)

    async def _reply(self, frame: ReplyFrame, content: dict[str, Any]) -> None:
        """A reply to a client frame carries that frame's ``ref`` (when it had one)."""
        if "ref" in content:
            frame["ref"] = content["ref"]
        await self._frame(frame)

    async def on_send(self, user: User, content: dict[str, Any]) -> None:
        await self._reply(await _send(user, content), content)

    async def on_ding(self, user: User, content: dict[str, Any]) -> None:
        await self._reply(await _ding(user, content), content)

    async def on_forward(self, user: User, content: dict[str, Any]) -> None:
        await self._reply(await _forward(user, content), content)

    async def on_react(self, user: User, content: dict[str, Any]) -> None:
        await _react(user, content)

    async def on_conversation_set(self, user: User, content: dict[str, Any]) -> None:
        await _conversation_set(user, content)

    async def on_hide(self, user: User, content: dict[str, Any]) -> None:
        await _hide(user, content)

    async def on_announcement_set(self, user: User, content: dict[str, Any]) -> None:
        await self._reply(await _announcement_set(user, content), content)

    async def on_announcement_read(self, user: User, content: dict[str, Any]) -> None:
        await _announcement_read(user, content)

    async def on_read(self, user: User, content: dict[str, Any]) -> None:
        await _read(user, content)

    async def on_recall(self, user: User, content: dict[str, Any]) -> None:
        await _recall(user, content)

    async def on_confirm(self, user: User, content: dict[str, Any]) -> None:
        await _confirm(user, content)

    async def on_ding_cancel(self, user: User, content: dict[str, Any]) -> None:
        await _ding_cancel(user, content)

    async def on_typing(self, user: User, content: dict[str, Any]) -> None:
        conversation_id = _int_field(content, "conversation_id")
        if conversation_id not in self.conversation_ids:
            raise NotFound()
        now = time.monotonic()
        if now - self.typing_sent.get(conversation_id, 0.0) < TYPING_MIN_INTERVAL:
            return
        self.typing_sent[conversation_id] = now
        event: TypingEvent = {
            "type": "chat.typing",
            "conversation_id": conversation_id,
            "user_id": user.pk,
            "name": user.display_name,
        }
        await self.channel_layer.group_send(conversation_group(conversation_id), dict(event))

    async def on_resume(self, user: User, content: dict[str, Any]) -> None:
        raw = content.get("conversations")
        if not isinstance(raw, dict) or len(raw) > MAX_RESUME_CONVERSATIONS:
            raise InvalidInput("resume 需要 conversations：{会话编号: 最后收到的 seq}。", code="frame.invalid_field")
        wanted: dict[int, int] = {}
        for key, value in raw.items():
            try:
                conversation_id = int(key)
            except (TypeError, ValueError):
                raise InvalidInput("会话编号无效。", code="frame.invalid_field") from None
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput("seq 必须是非负整数。", code="frame.invalid_field")
            wanted[conversation_id] = value
        batches, refused = await _resume(user, wanted)
        for conversation_id in refused:
            await self._refuse(NotFound(), ref=content.get("ref"), conversation_id=conversation_id)
        for batch in batches:
            await self._reply(batch, content)
        done: ResumeDoneFrame = {"type": "resume.done"}
        await self._reply(done, content)

    async def on_presence(self, user: User, content: dict[str, Any]) -> None:
        ids = content.get("user_ids")
        if (
            not isinstance(ids, list)
            or len(ids) > MAX_PRESENCE_QUERY
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise InvalidInput(f"user_ids 须为最多 {MAX_PRESENCE_QUERY} 个用户编号。", code="frame.invalid_field")
        # Presence only of people the user shares a conversation with.
        visible = await _direct_peers_sharing(user.pk, ids)
        states = await presence.online(sorted(visible))
        frame: PresenceFrame = {"type": "presence", "online": {str(k): v for k, v in states.items()}}
        await self._reply(frame, content)

    async def on_ping(self, user: User, content: dict[str, Any]) -> None:
        await presence.touch(user.pk, self.channel_name)
        pong: PongFrame = {"type": "pong"}
        await self._reply(pong, content)

    HANDLERS: dict[str, Callable[[UserSocketConsumer, User, dict[str, Any]], Awaitable[None]]] = {
        "send": on_send,
        "ding": on_ding,
        "read": on_read,
        "recall": on_recall,
        "confirm": on_confirm,
        "ding.cancel": on_ding_cancel,
        "typing": on_typing,
        "resume": on_resume,
        "presence": on_presence,
        "ping": on_ping,
        "forward": on_forward,
        "react": on_react,
        "conversation.set": on_conversation_set,
        "hide": on_hide,
        "announcement.set": on_announcement_set,
        "announcement.read": on_announcement_read,
    }

    # -- channel-layer events -----------------------------------------------------------

    async def chat_message(self, event: MessageEvent) -> None:
        await self.send(text_data=event["text"])  # already the encoded MessageFrame

    async def chat_read(self, event: ReadEvent) -> None:
        await self._frame(
            {
                "type": "read",
                "conversation_id": event["conversation_id"],
                "user_id": event["user_id"],
                "from_seq": event["from_seq"],
                "to_seq": event["to_seq"],
            }
        )

    async def chat_read_self(self, event: ReadSelfEvent) -> None:
        await self._frame(
            {"type": "read.self", "conversation_id": event["conversation_id"], "last_read_seq": event["last_read_seq"]}
        )

    async def chat_recalled(self, event: RecalledEvent) -> None:
        await self._frame(
            {
                "type": "recalled",
                "conversation_id": event["conversation_id"],
                "message_id": event["message_id"],
                "seq": event["seq"],
                "recalled_by": event["recalled_by"],
            }
        )

    async def chat_ding_update(self, event: DingUpdateEvent) -> None:
        await self._frame(
            {
                "type": "ding.update",
                "ding_id": event["ding_id"],
                "message_id": event["message_id"],
                "conversation_id": event["conversation_id"],
                "confirmed_ids": event["confirmed_ids"],
                "total": event["total"],
                "cancelled": event["cancelled"],
            }
        )

    async def chat_reaction(self, event: ReactionEvent) -> None:
        await self._frame(
            {
                "type": "reaction",
                "conversation_id": event["conversation_id"],
                "message_id": event["message_id"],
                "seq": event["seq"],
                "emoji": event["emoji"],
                "user_id": event["user_id"],
                "on": event["on"],
                "count": event["count"],
                "user_ids": event["user_ids"],
            }
        )

    async def chat_settings(self, event: ConversationSettingsEvent) -> None:
        await self._frame(
            {
                "type": "conversation.settings",
                "conversation_id": event["conversation_id"],
                "pinned": event["pinned"],
                "pinned_at": event["pinned_at"],
                "muted": event["muted"],
            }
        )

    async def chat_hidden(self, event: HiddenEvent) -> None:
        await self._frame({"type": "hidden", "conversation_id": event["conversation_id"], "message_ids": event["message_ids"]})

    async def chat_announcement_read(self, event: AnnouncementReadEvent) -> None:
        await self._frame(
            {
                "type": "announcement.read",
                "conversation_id": event["conversation_id"],
                "user_id": event["user_id"],
                "version": event["version"],
            }
        )

    async def chat_typing(self, event: TypingEvent) -> None:
        if event["user_id"] != self.user_id:
            await self._frame(
                {
                    "type": "typing",
                    "conversation_id": event["conversation_id"],
                    "user_id": event["user_id"],
                    "name": event["name"],
                }
            )

    async def chat_presence(self, event: PresenceEvent) -> None:
        if event["user_id"] != self.user_id:
            await self._frame({"type": "presence", "online": {str(event["user_id"]): event["online"]}})

    async def chat_joined(self, event: MembershipEvent) -> None:
        conversation_id = event["conversation_id"]
        # Re-check: the event is a hint, the database decides.
        if self.user_id is not None and await _is_member(self.user_id, conversation_id):
            kinds = dict(await _memberships(self.user_id))
            await self._join(conversation_id, kinds.get(conversation_id, ""))
            await self._frame({"type": "conversation.joined", "conversation_id": conversation_id})

    async def chat_left(self, event: MembershipEvent) -> None:
        conversation_id = event["conversation_id"]
        if self.user_id is not None and await _is_member(self.user_id, conversation_id):
            return  # re-added since
        await self._leave(conversation_id)

    async def layer_resync(self, event: LayerResyncEvent) -> None:
        """The layer may have lost frames (Redis reconnect, this socket fell behind): the
        client resumes from its last seq per conversation, as after a reconnect."""
        await self._frame({"type": "resync"})

    async def notify(self, event: NotifyEvent) -> None:
        """待办 and DING notifications published by officehub.workbench.services."""
        # The event is the frame, renamed: its keys are the notify frame's (payloads.py).
        await self._frame(cast(NotifyEvent, {**event, "type": "notify"}))
