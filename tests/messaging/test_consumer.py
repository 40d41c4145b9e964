"""The user socket on the real Redis channel layer: delivery, resume, receipts across
devices, DING, recall, typing, presence, 待办 notifications — and refusals."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction

from messaging.chat import services
from messaging.models import Membership
from officehub.transactions import in_transaction
from tests.messaging.conftest import new_client_id
from tests.messaging.sockets import drain, expect, of_type, open_socket, resume

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _generous_rate(settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 100000
    settings.MESSAGE_BURST = 100000


@database_sync_to_async
def _send(user: Any, conversation: Any, body: str) -> Any:
    return in_transaction(services.message_send)(
        actor=user, conversation_id=conversation.pk, client_id=new_client_id(), body=body
    ).message


async def test_send_is_acked_with_seq_and_fanned_out_to_members(personas: Any, group: Any) -> None:
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await drafter.send_json_to(
        {"type": "send", "ref": 7, "conversation_id": group.pk, "client_id": "c-1", "body": "<b>下午开会</b>"}
    )
    ack = await expect(drafter, of_type("ack"))
    assert (ack["ref"], ack["seq"], ack["duplicate"], ack["client_id"]) == (7, 1, False, "c-1")
    frame = await expect(head, of_type("message"))
    assert frame["message"]["seq"] == 1 and frame["message"]["body"] == "<b>下午开会</b>"  # stored as text, escaped by the page
    assert frame["message"]["sender_name"] == "王芳"
    # A resend (e.g. the ack was lost) gets the same seq and is not delivered twice.
    await drafter.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "c-1", "body": "<b>下午开会</b>"})
    again = await expect(drafter, of_type("ack"))
    assert (again["seq"], again["duplicate"]) == (1, True)
    assert [f for f in await drain(head) if f["type"] == "message"] == []
    await drafter.disconnect()
    await head.disconnect()


async def test_reconnect_resume_gets_every_missed_message_once_in_order(personas: Any, group: Any) -> None:
    head = await open_socket(personas.head)
    for i in range(3):
        await _send(personas.drafter, group, f"早{i}")
    seen = [f["message"]["seq"] for f in await drain(head) if f["type"] == "message"]
    assert seen == [1, 2, 3]
    await head.disconnect()  # the connection dies mid-conversation
    for i in range(5):
        await _send(personas.drafter, group, f"断线期间{i}")
    head = await open_socket(personas.head)
    missed = await resume(head, {group.pk: seen[-1]})
    assert [m["seq"] for m in missed] == [4, 5, 6, 7, 8]
    assert [m["body"] for m in missed] == [f"断线期间{i}" for i in range(5)]
    await _send(personas.drafter, group, "回来了")
    live = [f["message"]["seq"] for f in await drain(head) if f["type"] == "message"]
    assert live == [9]
    await head.disconnect()


async def test_a_socket_that_falls_behind_is_told_to_resync_and_resume_recovers_everything(
    personas: Any, group: Any, settings: Any
) -> None:
    # A layer whose sockets queue only 5 frames: a backlog beyond that is replaced by one
    # "resync" frame (officehub/layers.py), never grown without bound or dropped silently.
    layers = dict(settings.CHANNEL_LAYERS)
    default = dict(layers["default"])
    default["CONFIG"] = {**default["CONFIG"], "capacity": 5, "prefix": default["CONFIG"]["prefix"] + "-tiny"}
    settings.CHANNEL_LAYERS = {"default": default}
    head = await open_socket(personas.head)

    def burst() -> None:
        for i in range(20):
            in_transaction(services.message_send)(
                actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body=f"#{i + 1}"
            )
        connection.close()

    # Send while the consumer cannot read: the thread is joined on the event loop's thread.
    sender = threading.Thread(target=burst)
    sender.start()
    sender.join()
    frames = await drain(head, settle=0.5)
    live = [f["message"]["seq"] for f in frames if f["type"] == "message"]
    assert any(f["type"] == "resync" for f in frames), "the socket should have been told to resync"
    assert len(live) < 20 and live == sorted(set(live))
    # The client's rule (chat.js): on resync, resume from the last seq held without a gap.
    held = 0
    for seq in live:
        if seq != held + 1:
            break
        held = seq
    recovered = await resume(head, {group.pk: held})
    assert [m["seq"] for m in recovered] == list(range(held + 1, 21))  # nothing lost, nothing twice, in order
    assert [m["body"] for m in recovered] == [f"#{s}" for s in range(held + 1, 21)]
    await head.disconnect()


async def test_resume_pages_through_a_long_gap(personas: Any, group: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("messaging.chat.selectors.RESUME_BATCH", 10)

    @database_sync_to_async
    def many() -> None:
        for i in range(25):
            in_transaction(services.message_send)(
                actor=personas.drafter, conversation_id=group.pk, client_id=new_client_id(), body=str(i)
            )

    await many()
    head = await open_socket(personas.head)
    missed = await resume(head, {group.pk: 0})
    assert [m["seq"] for m in missed] == list(range(1, 26))
    await head.disconnect()


async def test_unread_counts_agree_on_two_devices_of_one_user(personas: Any, group: Any) -> None:
    phone = await open_socket(personas.head)
    desk = await open_socket(personas.head)
    await _send(personas.drafter, group, "一")
    await _send(personas.drafter, group, "二")
    for device in (phone, desk):
        assert [f["message"]["seq"] for f in await drain(device) if f["type"] == "message"] == [1, 2]
    await phone.send_json_to({"type": "read", "conversation_id": group.pk, "seq": 2})
    for device in (phone, desk):
        frame = await expect(device, of_type("read.self"))
        assert (frame["conversation_id"], frame["last_read_seq"]) == (group.pk, 2)
    membership = await database_sync_to_async(Membership.objects.get)(conversation=group, user=personas.head)
    assert membership.last_read_seq == 2
    await phone.disconnect()
    await desk.disconnect()


async def test_sender_sees_reads_live(personas: Any, group: Any) -> None:
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await drafter.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "r-1", "body": "请阅"})
    await expect(drafter, of_type("ack"))
    await head.send_json_to({"type": "read", "conversation_id": group.pk, "seq": 1})
    frame = await expect(drafter, of_type("read"))
    assert (frame["user_id"], frame["from_seq"], frame["to_seq"]) == (personas.head.pk, 0, 1)
    await drafter.disconnect()
    await head.disconnect()


async def test_ding_reaches_recipient_and_confirmation_reaches_sender(personas: Any, group: Any) -> None:
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await drafter.send_json_to(
        {
            "type": "ding",
            "conversation_id": group.pk,
            "client_id": "d-1",
            "body": "十点开会，请确认",
            "recipient_ids": [personas.head.pk],
        }
    )
    ack = await expect(drafter, of_type("ack"))
    ding_id = ack["message"]["ding"]["id"]
    notify = await expect(head, lambda f: f["type"] == "notify" and f["event"] == "ding")
    assert "十点开会" in notify["title"]
    await head.send_json_to({"type": "confirm", "ding_id": ding_id})
    update = await expect(drafter, of_type("ding.update"))
    assert (update["ding_id"], update["confirmed_ids"], update["total"]) == (ding_id, [personas.head.pk], 1)
    await head.send_json_to({"type": "confirm", "ding_id": ding_id})
    error = await expect(head, of_type("error"))
    assert error["code"] == "ding.already_confirmed"
    await drafter.disconnect()
    await head.disconnect()


async def test_recall_and_typing_reach_the_other_members(personas: Any, group: Any) -> None:
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    await drafter.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "x-1", "body": "发错了"})
    ack = await expect(drafter, of_type("ack"))
    await drafter.send_json_to({"type": "typing", "conversation_id": group.pk})
    typing = await expect(head, of_type("typing"))
    assert (typing["user_id"], typing["name"]) == (personas.drafter.pk, "王芳")
    await drafter.send_json_to({"type": "recall", "message_id": ack["message_id"]})
    recalled = await expect(head, of_type("recalled"))
    assert (recalled["message_id"], recalled["seq"]) == (ack["message_id"], 1)
    assert [f for f in await drain(drafter) if f["type"] == "typing"] == []  # not echoed to the typist
    await drafter.disconnect()
    await head.disconnect()


async def test_presence_is_announced_to_direct_peers(personas: Any) -> None:
    await database_sync_to_async(in_transaction(services.conversation_direct_open))(
        actor=personas.drafter, peer_id=personas.head.pk
    )
    drafter = await open_socket(personas.drafter)
    head = await open_socket(personas.head)
    online = await expect(drafter, of_type("presence"))
    assert online["online"] == {str(personas.head.pk): True}
    await drafter.send_json_to({"type": "presence", "user_ids": [personas.head.pk, personas.outsider.pk]})
    reply = await expect(
        drafter,
        lambda f: f["type"] == "presence" and len(f["online"]) >= 1 and "ref" not in f and str(personas.head.pk) in f["online"],
    )
    assert reply["online"][str(personas.head.pk)] is True
    assert str(personas.outsider.pk) not in reply["online"]  # no shared conversation: not disclosed
    await head.disconnect()
    offline = await expect(drafter, lambda f: f["type"] == "presence" and f["online"].get(str(personas.head.pk)) is False)
    assert offline
    await drafter.disconnect()


async def test_workbench_notifications_arrive_on_the_same_socket(personas: Any) -> None:
    from officehub.workbench.models import TodoKind
    from officehub.workbench.services import todo_open

    socket = await open_socket(personas.reviewer)

    @database_sync_to_async
    def open_todo() -> None:
        with transaction.atomic():
            todo_open(
                user=personas.reviewer,
                kind=TodoKind.DOCUMENT,
                target=personas.drafter,
                step="review",
                title="请核稿：关于开展安全检查的通知",
                url="/documents/1/",
            )

    await open_todo()
    frame = await expect(socket, of_type("notify"))
    assert (frame["event"], frame["title"], frame["url"]) == ("todo.new", "请核稿：关于开展安全检查的通知", "/documents/1/")
    await socket.disconnect()


async def test_rate_limit_is_answered_with_an_error_frame(personas: Any, group: Any, settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 2
    settings.MESSAGE_BURST = 2
    socket = await open_socket(personas.drafter2)
    frames = []
    for i in range(3):
        await socket.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": f"rl-{i}", "body": "刷屏"})
        frames.append(await expect(socket, lambda f: f["type"] in ("ack", "error")))
    assert [f["type"] for f in frames] == ["ack", "ack", "error"]
    assert frames[2]["code"] == "message.rate_limited" and frames[2]["client_id"] == "rl-2"
    assert 0 < frames[2]["extra"]["retry_after"] <= 30
    assert "每分钟" in frames[2]["message"]
    await socket.disconnect()


async def test_outsider_is_refused_on_every_socket_path(personas: Any, group: Any) -> None:
    message = await _send(personas.drafter, group, "内部事项")
    ding = await database_sync_to_async(
        lambda: in_transaction(services.ding_send)(
            actor=personas.drafter,
            conversation_id=group.pk,
            client_id=new_client_id(),
            body="急",
            recipient_ids=[personas.head.pk],
        ).message.ding
    )()
    outsider = await open_socket(personas.outsider)
    attempts = [
        {"type": "send", "conversation_id": group.pk, "client_id": "o-1", "body": "我也要说"},
        {"type": "ding", "conversation_id": group.pk, "client_id": "o-2", "body": "急", "recipient_ids": [personas.head.pk]},
        {"type": "read", "conversation_id": group.pk, "seq": 1},
        {"type": "recall", "message_id": message.pk},
        {"type": "typing", "conversation_id": group.pk},
        {"type": "confirm", "ding_id": ding.pk},
        {"type": "ding.cancel", "ding_id": ding.pk},
        {"type": "resume", "conversations": {str(group.pk): 0}},
    ]
    for attempt in attempts:
        await outsider.send_json_to(attempt)
        error = await expect(outsider, of_type("error"))
        assert error["code"] == "not_found", attempt
    assert [f for f in await drain(outsider) if f["type"] in ("message", "resume.batch")] == []
    await _send(personas.drafter, group, "还是内部事项")
    assert [f for f in await drain(outsider) if f["type"] == "message"] == []
    await outsider.disconnect()


async def test_bad_frames_get_coded_errors_and_the_socket_stays_open(personas: Any, group: Any) -> None:
    socket = await open_socket(personas.drafter)
    await socket.send_to(text_data="not json")
    assert (await expect(socket, of_type("error")))["code"] == "frame.invalid_json"
    await socket.send_to(text_data="x" * (70 * 1024))
    assert (await expect(socket, of_type("error")))["code"] == "frame.too_large"
    await socket.send_json_to({"type": "explode"})
    assert (await expect(socket, of_type("error")))["code"] == "frame.unknown_type"
    await socket.send_json_to({"type": "send", "conversation_id": "12", "client_id": "b", "body": "x"})
    assert (await expect(socket, of_type("error")))["code"] == "frame.invalid_field"
    await socket.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "b-1", "body": "x" * 4001})
    assert (await expect(socket, of_type("error")))["code"] == "message.too_long"
    await socket.send_json_to({"type": "ping"})
    assert (await expect(socket, lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
    await socket.disconnect()


async def test_anonymous_socket_is_closed_with_4401() -> None:
    from django.contrib.auth.models import AnonymousUser

    from messaging.chat.consumers import UserSocketConsumer

    communicator = WebsocketCommunicator(UserSocketConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = AnonymousUser()
    _connected, _ = await communicator.connect()
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


@pytest.fixture
def session_cookie(personas: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(personas.head)
    return client.cookies["sessionid"].value


async def test_full_stack_accepts_session_and_refuses_foreign_origin(session_cookie: str) -> None:
    from officehub.asgi import application

    cookie = (b"cookie", f"sessionid={session_cookie}".encode())
    good = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://testserver"), (b"host", b"testserver"), cookie]
    )
    connected, _ = await good.connect()
    assert connected
    assert (await good.receive_json_from(timeout=5))["type"] == "hello"
    await good.disconnect()
    foreign = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://evil.example"), (b"host", b"testserver"), cookie]
    )
    connected, _ = await foreign.connect()
    assert not connected
    anonymous = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
    await anonymous.connect()
    assert (await anonymous.receive_output(timeout=5))["code"] == 4401
    await anonymous.disconnect()


async def test_an_idle_socket_survives_the_layers_blocking_receive(personas: Any, group: Any) -> None:
    # channels_redis blocks 5 s per receive; with redis-py's default 5 s read timeout the
    # idle consumer died ("Timeout reading", close 1011). Settings give the read more time.
    import asyncio

    head = await open_socket(personas.head)
    await asyncio.sleep(6)
    await _send(personas.drafter, group, "还在吗")
    frame = await expect(head, of_type("message"))
    assert frame["message"]["body"] == "还在吗"
    await head.disconnect()
