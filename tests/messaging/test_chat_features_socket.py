"""Issue 14's frames on the user socket (real Redis layer): reply, forward (one by one and
merged), 群公告, reactions, 置顶/免打扰 and delete-for-me — each live, and each across a
dropped connection: what was missed comes back through ``resume`` (messages, every seq
once, in order) or is re-read after the reconnect (per-member state) — and every new
frame refused to an outsider."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from messaging.chat import selectors, services
from messaging.models import HiddenMessage, Message, Reaction
from officehub.transactions import in_transaction
from tests.messaging.conftest import new_client_id
from tests.messaging.sockets import drain, expect, of_type, open_socket, resume

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _generous_rate(settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 100000
    settings.MESSAGE_BURST = 100000


@database_sync_to_async
def _send(user: Any, conversation: Any, body: str, **kwargs: Any) -> Any:
    return in_transaction(services.message_send)(
        actor=user, conversation_id=conversation.pk, client_id=new_client_id(), body=body, **kwargs
    ).message


@database_sync_to_async
def _sync(call: Any) -> Any:
    return call()


def _live(frames: list[dict[str, Any]], kind: str = "message") -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


async def test_a_reply_reaches_members_live_and_after_a_reconnect_once(personas: Any, group: Any) -> None:
    quoted = await _send(personas.head, group, "材料在共享盘")
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await head.disconnect()  # the head drops out
    await drafter.send_json_to(
        {"type": "send", "conversation_id": group.pk, "client_id": "rp-1", "body": "已找到", "reply_to": quoted.pk}
    )
    ack = await expect(drafter, of_type("ack"))
    assert ack["message"]["reply_to"]["snippet"] == "材料在共享盘" and ack["seq"] == 2
    # A resend of the same frame (a lost ack) stores and delivers nothing new.
    await drafter.send_json_to(
        {"type": "send", "conversation_id": group.pk, "client_id": "rp-1", "body": "已找到", "reply_to": quoted.pk}
    )
    assert (await expect(drafter, of_type("ack")))["duplicate"] is True
    head = await open_socket(personas.head)
    missed = await resume(head, {group.pk: 1})
    assert [(m["seq"], m["reply_to"]["id"]) for m in missed] == [(2, quoted.pk)]
    assert _live(await drain(head)) == []
    await drafter.disconnect()
    await head.disconnect()


async def test_forward_frames_store_each_message_once_and_resume_delivers_them(personas: Any, group: Any) -> None:
    a = await _send(personas.drafter, group, "一")
    b = await _send(personas.head, group, "二")
    target = await _sync(
        lambda: in_transaction(services.conversation_group_create)(
            actor=personas.head, title="转发目标", member_ids=[personas.staff.pk]
        )
    )
    staff = await open_socket(personas.staff)
    head = await open_socket(personas.head)
    frame = {
        "type": "forward",
        "ref": "f1",
        "client_id": "fw-s",
        "message_ids": [a.pk, b.pk],
        "conversation_ids": [target.pk],
        "mode": "single",
    }
    await head.send_json_to(frame)
    ack = await expect(head, of_type("forward.ack"))
    assert ack["ref"] == "f1" and ack["duplicate"] is False
    assert [(m["seq"], m["body"], m["forwarded_from"]) for m in ack["messages"]] == [(1, "一", "王芳"), (2, "二", "陈杰")]
    live = [f["message"]["seq"] for f in _live(await drain(staff))]
    assert live == [1, 2]
    await staff.disconnect()
    # The same frame again (the ack was lost): nothing stored, nothing delivered twice.
    await head.send_json_to(frame)
    again = await expect(head, of_type("forward.ack"))
    assert again["duplicate"] is True and [m["id"] for m in again["messages"]] == [m["id"] for m in ack["messages"]]
    # A merged forward while the staff member is offline...
    await head.send_json_to(
        {
            "type": "forward",
            "client_id": "fw-m",
            "message_ids": [a.pk, b.pk],
            "conversation_ids": [target.pk],
            "mode": "merged",
        }
    )
    merged = await expect(head, of_type("forward.ack"))
    assert merged["messages"][0]["kind"] == "bundle" and merged["messages"][0]["bundle"]["count"] == 2
    # ...comes back on resume, once, after the two already seen.
    staff = await open_socket(personas.staff)
    missed = await resume(staff, {target.pk: 2})
    assert [(m["seq"], m["kind"]) for m in missed] == [(3, "bundle")]
    assert missed[0]["bundle"]["preview"] == ["王芳：一", "陈杰：二"]
    assert await database_sync_to_async(Message.objects.filter(conversation=target).count)() == 3
    await staff.disconnect()
    await head.disconnect()


async def test_an_announcement_is_a_message_in_the_stream_and_its_read_pointer_is_live(personas: Any, group: Any) -> None:
    drafter = await open_socket(personas.drafter)  # the owner
    head = await open_socket(personas.head)
    await head.disconnect()
    await drafter.send_json_to(
        {"type": "announcement.set", "conversation_id": group.pk, "client_id": "an-1", "body": "周五交材料"}
    )
    ack = await expect(drafter, of_type("ack"))
    assert ack["message"]["kind"] == "announcement" and ack["seq"] == 1
    head = await open_socket(personas.head)
    missed = await resume(head, {group.pk: 0})
    assert [(m["seq"], m["kind"], m["body"]) for m in missed] == [(1, "announcement", "周五交材料")]
    # Re-read on entry: not seen yet.
    detail = await _sync(lambda: selectors.membership_of(personas.head, group.pk))
    assert (detail.announcement_read_version, detail.conversation.announcement_version) == (0, 1)
    await head.send_json_to({"type": "announcement.read", "conversation_id": group.pk, "version": 1})
    for socket in (drafter, head):  # the author and the reader's own devices
        frame = await expect(socket, of_type("announcement.read"))
        assert (frame["user_id"], frame["version"]) == (personas.head.pk, 1)
    # A plain member cannot set it.
    await head.send_json_to({"type": "announcement.set", "conversation_id": group.pk, "client_id": "an-2", "body": "我改"})
    assert (await expect(head, of_type("error")))["code"] == "announcement.not_manager"
    await drafter.disconnect()
    await head.disconnect()


async def test_reactions_are_live_idempotent_to_apply_and_survive_a_reconnect(personas: Any, group: Any) -> None:
    message = await _send(personas.drafter, group, "好消息")
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await head.send_json_to({"type": "react", "message_id": message.pk, "emoji": "👍"})
    frame = await expect(drafter, of_type("reaction"))
    assert (frame["seq"], frame["emoji"], frame["on"], frame["user_ids"]) == (1, "👍", True, [personas.head.pk])
    assert len(_live(await drain(head), "reaction")) == 1  # the reactor's own devices see it too
    await drafter.disconnect()  # the sender drops out; the head takes it back and adds another
    await head.send_json_to({"type": "react", "message_id": message.pk, "emoji": "👍"})
    await head.send_json_to({"type": "react", "message_id": message.pk, "emoji": "🎉"})
    frames = _live(await drain(head), "reaction")
    assert [(f["emoji"], f["on"], f["count"]) for f in frames] == [("👍", False, 0), ("🎉", True, 1)]
    drafter = await open_socket(personas.drafter)
    history = await _sync(
        lambda: selectors.history_payloads(
            user=personas.drafter,
            conversation_id=group.pk,
            messages=selectors.messages_before(conversation_id=group.pk, before_seq=None, limit=30),
        )
    )
    assert history[0]["reactions"] == [{"emoji": "🎉", "count": 1, "user_ids": [personas.head.pk]}]
    assert (await resume(drafter, {group.pk: 0}))[0]["reactions"] == history[0]["reactions"]
    await head.send_json_to({"type": "react", "message_id": message.pk, "emoji": "not-an-emoji"})
    assert (await expect(head, of_type("error")))["code"] == "reaction.invalid_emoji"
    await drafter.disconnect()
    await head.disconnect()


async def test_pin_and_mute_reach_every_device_of_the_member_only_and_persist(personas: Any, group: Any) -> None:
    phone = await open_socket(personas.head)
    desk = await open_socket(personas.head)
    drafter = await open_socket(personas.drafter)
    await phone.send_json_to({"type": "conversation.set", "conversation_id": group.pk, "pinned": True, "muted": True})
    for device in (phone, desk):
        frame = await expect(device, of_type("conversation.settings"))
        assert (frame["conversation_id"], frame["pinned"], frame["muted"]) == (group.pk, True, True)
    assert _live(await drain(drafter), "conversation.settings") == []
    await desk.disconnect()
    await phone.disconnect()
    # After a reconnect, the list (re-read on hello) still has it.
    rows = {r["id"]: r for r in await _sync(lambda: selectors.conversation_list(personas.head))}
    assert rows[group.pk]["pinned"] and rows[group.pk]["muted"]
    summary = await _sync(lambda: selectors.unread_summary(personas.head))
    assert summary["muted_conversation_ids"] == [group.pk]
    phone = await open_socket(personas.head)
    await phone.send_json_to({"type": "conversation.set", "conversation_id": group.pk, "muted": "yes"})
    assert (await expect(phone, of_type("error")))["code"] == "frame.invalid_field"
    await phone.disconnect()
    await drafter.disconnect()


async def test_delete_for_me_reaches_my_devices_and_resume_keeps_the_seq_without_content(personas: Any, group: Any) -> None:
    await _send(personas.drafter, group, "一")
    secret = await _send(personas.drafter, group, "删掉这条")
    await _send(personas.drafter, group, "三")
    phone = await open_socket(personas.head)
    desk = await open_socket(personas.head)
    other = await open_socket(personas.drafter2)
    await phone.send_json_to({"type": "hide", "message_ids": [secret.pk]})
    for device in (phone, desk):
        frame = await expect(device, of_type("hidden"))
        assert (frame["conversation_id"], frame["message_ids"]) == (group.pk, [secret.pk])
    assert _live(await drain(other), "hidden") == []
    await desk.disconnect()
    desk = await open_socket(personas.head)  # a reconnect: resume from the start
    mine = await resume(desk, {group.pk: 0})
    assert [(m["seq"], m["hidden"], m["body"]) for m in mine] == [(1, False, "一"), (2, True, ""), (3, False, "三")]
    theirs = await resume(other, {group.pk: 0})
    assert [(m["seq"], m["hidden"]) for m in theirs] == [(1, False), (2, False), (3, False)]
    for socket in (phone, desk, other):
        await socket.disconnect()


async def test_an_outsider_is_refused_every_new_frame_and_nothing_is_written(personas: Any, group: Any) -> None:
    message = await _send(personas.drafter, group, "内部")
    own = await _sync(
        lambda: in_transaction(services.conversation_direct_open)(actor=personas.outsider, peer_id=personas.staff.pk)
    )
    outsider = await open_socket(personas.outsider)
    frames = [
        {"type": "send", "conversation_id": own.pk, "client_id": "o-1", "body": "引用", "reply_to": message.pk},
        {"type": "forward", "client_id": "o-2", "message_ids": [message.pk], "conversation_ids": [own.pk]},
        {"type": "forward", "client_id": "o-3", "message_ids": [message.pk], "user_ids": [personas.staff.pk], "mode": "merged"},
        {"type": "react", "message_id": message.pk, "emoji": "👍"},
        {"type": "conversation.set", "conversation_id": group.pk, "pinned": True},
        {"type": "hide", "message_ids": [message.pk]},
        {"type": "announcement.set", "conversation_id": group.pk, "client_id": "o-4", "body": "x"},
        {"type": "announcement.read", "conversation_id": group.pk, "version": 0},
    ]
    codes = []
    for frame in frames:
        await outsider.send_json_to(frame)
        error = await expect(outsider, of_type("error"))
        codes.append(error["code"])
    assert codes == [
        "message.reply_unavailable",
        "forward.source_unavailable",
        "forward.source_unavailable",
        "not_found",
        "not_found",
        "not_found",
        "not_found",
        "not_found",
    ]
    # And forwarding into a conversation the sender is not in.
    mine = await _send(personas.outsider, own, "我的消息")
    await outsider.send_json_to({"type": "forward", "client_id": "o-5", "message_ids": [mine.pk], "conversation_ids": [group.pk]})
    assert (await expect(outsider, of_type("error")))["code"] == "forward.target_unavailable"
    counts = await _sync(
        lambda: (
            Message.objects.filter(conversation=group).count(),
            Message.objects.filter(conversation=own).count(),
            Reaction.objects.count(),
            HiddenMessage.objects.count(),
        )
    )
    assert counts == (1, 1, 0, 0)
    await outsider.disconnect()
