"""The served topology holds: processes die, Redis drops connections, users sit in a
thousand conversations — and every client still ends with every message exactly once,
in order. Real nginx, two Daphne, gunicorn, Redis and PostgreSQL (``manage.py serve``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection

from messaging.chat import services
from messaging.models import Conversation, ConversationKind, MemberRole, Membership, Message
from officehub.transactions import in_transaction
from tests.scale.chat_client import ChatClient
from tests.scale.conftest import Served, make_users, session_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def group_of(users: list[Any], title: str = "规模测试群") -> Conversation:
    conversation = Conversation.objects.create(kind=ConversationKind.GROUP, title=title, owner=users[0])
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=u, role=MemberRole.OWNER if i == 0 else MemberRole.MEMBER)
         for i, u in enumerate(users)]
    )
    return conversation


def send_from_thread(user: Any, conversation_id: int, body: str) -> None:
    try:
        in_transaction(services.message_send)(actor=user, conversation_id=conversation_id, client_id=uuid.uuid4().hex, body=body)
    finally:
        connection.close()


def assert_everything_once_in_order(clients: list[ChatClient], total: int) -> None:
    for client in clients:
        assert client.delivered == list(range(1, total + 1)), (
            f"{client.name}: lost {sorted(set(range(1, total + 1)) - set(client.delivered))[:10]}, "
            f"delivered {len(client.delivered)} of {total}"
        )
        assert client.errors == []


def test_clients_lose_nothing_when_a_socket_process_is_killed(served: Served) -> None:
    users = make_users(6, "k9")
    conversation = group_of(users)
    keys = [session_for(user) for user in users]
    victim = served.pids()["daphne-1"]
    total = 150

    async def scenario() -> list[ChatClient]:
        clients = [ChatClient(f"u{i}", served.ws_url, served.url, key, conversation.pk) for i, key in enumerate(keys)]
        for client in clients:
            await client.start()
        for index in range(total):
            # Every client sends in turn, so senders sit on both socket processes.
            await clients[index % len(clients)].send_message(f"#{index}")
            if index == total // 3:
                os.kill(victim, signal.SIGKILL)
            await asyncio.sleep(0.03)
        settled = [await client.wait_for_seq(total, 60) for client in clients]
        for client in clients:
            await client.stop()
        assert all(settled), [(c.name, c.seen, len(c.pending)) for c in clients]
        return clients

    clients = asyncio.run(scenario())
    assert_everything_once_in_order(clients, total)
    # The kill was felt: some clients reconnected (to the survivor or the restarted
    # process) while others, on the other process, never dropped.
    reconnected = [c.name for c in clients if c.connects > 1]
    assert 0 < len(reconnected) < len(clients), [(c.name, c.connects) for c in clients]
    # Re-sent unacknowledged messages were deduplicated by client_id: one row each.
    assert Message.objects.filter(conversation=conversation).count() == total
    assert served.pids()["daphne-1"] != victim  # the supervisor restarted it


def test_a_user_in_a_thousand_conversations_connects_and_hears_the_last(served: Served) -> None:
    user, colleague = make_users(2, "k1k")
    conversations = Conversation.objects.bulk_create(
        [Conversation(kind=ConversationKind.GROUP, title=f"群{i}", owner=user) for i in range(1000)]
    )
    Membership.objects.bulk_create(
        [Membership(conversation=c, user=user, role=MemberRole.OWNER) for c in conversations]
        + [Membership(conversation=conversations[-1], user=colleague)]
    )
    key = session_for(user)
    last = conversations[-1].pk

    async def scenario() -> ChatClient:
        client = ChatClient("many", served.ws_url, served.url, key, last)
        await client.start()
        await asyncio.to_thread(send_from_thread, colleague, last, "最后一个群的消息")
        received = await client.wait_for_seq(1, 10)
        await client.stop()
        assert received
        return client

    client = asyncio.run(scenario())
    assert client.delivered == [1] and client.bodies[1] == "最后一个群的消息"
    print(f"\n1,000 conversations: hello after {client.hello_seconds[0] * 1000:.0f} ms")


def test_killing_every_redis_connection_of_a_process_is_survived(served: Served) -> None:
    users = make_users(4, "rk")
    conversation = group_of(users)
    keys = [session_for(user) for user in users]
    pids = served.pids()
    targets = [f"officehub-{pids['daphne-1']}", f"officehub-{pids['daphne-2']}"]
    client_redis = redis.Redis.from_url(settings.REDIS_URL)
    log_marks = {name: len(served.logs(name)) for name in ("daphne-1", "daphne-2")}
    seconds = 60
    killed = 0

    async def scenario() -> tuple[list[ChatClient], int]:
        nonlocal killed
        clients = [ChatClient(f"u{i}", served.ws_url, served.url, key, conversation.pk) for i, key in enumerate(keys)]
        for client in clients:
            await client.start()
        sent = 0
        started = time.monotonic()
        next_kill = started + 3
        round_index = 0
        while time.monotonic() - started < seconds:
            await clients[sent % len(clients)].send_message(f"#{sent}")
            sent += 1
            if time.monotonic() >= next_kill:
                name = targets[round_index % 2]
                for entry in client_redis.client_list():
                    if entry.get("name") == name:
                        client_redis.client_kill_filter(_id=entry["id"])
                        killed += 1
                round_index += 1
                next_kill += 5
            await asyncio.sleep(0.2)
        settled = [await client.wait_for_seq(sent, 60) for client in clients]
        for client in clients:
            await client.stop()
        assert all(settled), [(c.name, c.seen, len(c.pending)) for c in clients]
        return clients, sent

    clients, sent = asyncio.run(scenario())
    assert killed >= 10
    assert_everything_once_in_order(clients, sent)
    for name, mark in log_marks.items():
        log = served.logs(name)[mark:]
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]


def test_each_process_keeps_its_database_connections_within_its_pool(served: Served) -> None:
    users = make_users(3, "pl")
    conversation = group_of(users)
    keys = [session_for(user) for user in users]

    async def scenario() -> None:
        clients = [ChatClient(f"u{i}", served.ws_url, served.url, key, conversation.pk) for i, key in enumerate(keys)]
        for client in clients:
            await client.start()
        for index in range(60):
            await clients[index % 3].send_message(f"#{index}")
        assert all([await client.wait_for_seq(60, 30) for client in clients])
        for client in clients:
            await client.stop()

    asyncio.run(scenario())
    pids = served.pids()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1"
        )
        counts = dict(cursor.fetchall())
    for name in ("daphne-1", "daphne-2"):
        used = counts.get(f"officehub-{pids[name]}", 0)
        assert 0 < used <= 6, counts  # OFFICEHUB_DB_POOL_MAX in the fixture
