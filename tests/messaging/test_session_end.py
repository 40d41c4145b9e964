"""The user socket ends with its session: logout, password change, deactivation — and a
directory change that takes a conversation away makes it leave that conversation.

Sockets go through the real ASGI stack (origin check, session cookie, routing) on the
real Redis layer; the session-ending actions go through the real pages (the site's
logout, the Django admin's user and password forms). Personas: wangfang (drafter) and
lijun (drafter2) of 秘书处, chenjie (head of 秘书处, admin of its department group),
admin (the directory administrator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.test import Client

from messaging.chat import jobs, services
from messaging.models import Conversation, Membership, Message
from officehub.directory.models import Department, Role, User
from officehub.transactions import in_transaction
from tests.admin_forms import admin_user_change, admin_user_set_password
from tests.messaging.conftest import new_client_id
from tests.messaging.sockets import drain, expect, of_type

pytestmark = [pytest.mark.django_db(transaction=True)]

Connect = Callable[[Client], Awaitable[WebsocketCommunicator]]


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


login = database_sync_to_async(_login)


@pytest.fixture(autouse=True)
def _generous_rate(settings: Any) -> None:
    settings.MESSAGE_RATE_PER_MINUTE = 100000


@pytest.fixture
async def user_ws(transactional_db: None) -> AsyncIterator[Connect]:
    """``await user_ws(client)``: the user socket of that browser session, after hello."""
    from officehub.asgi import application

    channel_layers.backends.clear()  # the Redis layer is bound to the loop that first used it
    opened: list[WebsocketCommunicator] = []

    async def connect(client: Client) -> WebsocketCommunicator:
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookie.encode())]
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        opened.append(communicator)
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello", hello
        return communicator

    yield connect
    for communicator in opened:
        await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
    channel_layers.backends.clear()


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    """Skip frames until the server closes the socket; its close code."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000))


async def still_open(communicator: WebsocketCommunicator) -> bool:
    await communicator.send_json_to({"type": "ping", "ref": "alive?"})
    frame = await expect(communicator, lambda f: f.get("ref") == "alive?")
    return frame["type"] == "pong"


@database_sync_to_async
def _send(user: Any, conversation: Any, body: str) -> Message:
    return in_transaction(services.message_send)(
        actor=user, conversation_id=conversation.pk, client_id=new_client_id(), body=body
    ).message


# ---------------------------------------------------------------------- the push


async def test_logout_closes_the_sockets_of_that_session_and_no_other(user_ws: Connect, personas: Any, group: Any) -> None:
    laptop, phone = await login(personas.drafter), await login(personas.drafter)
    on_laptop, on_phone = await user_ws(laptop), await user_ws(phone)
    response = await database_sync_to_async(laptop.post)("/logout/")
    assert response.status_code == 302
    # No client frame needed: the logout's push ends the socket.
    assert await closed_with(on_laptop) == 4401
    # The phone is another session of the same user: it keeps working.
    assert await still_open(on_phone)
    await on_phone.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "p-1", "body": "手机上还在线"})
    assert (await expect(on_phone, of_type("ack")))["seq"] == 1


async def test_admin_logout_ends_that_session_too(user_ws: Connect, personas: Any) -> None:
    browser = await login(personas.admin)
    socket = await user_ws(browser)
    response = await database_sync_to_async(browser.post)("/admin/logout/")
    assert response.status_code == 302
    assert await closed_with(socket) == 4401


async def test_password_change_by_the_administrator_closes_every_socket_of_the_user(user_ws: Connect, personas: Any) -> None:
    laptop, phone, admin = await login(personas.drafter), await login(personas.drafter), await login(personas.admin)
    on_laptop, on_phone = await user_ws(laptop), await user_ws(phone)
    colleague = await user_ws(await login(personas.drafter2))
    response = await database_sync_to_async(admin_user_set_password)(admin, personas.drafter, "Xin-Mima#2026-wf")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert await closed_with(on_laptop) == 4401
    assert await closed_with(on_phone) == 4401
    assert await still_open(colleague)
    # (The administrator's own session lives on under a new key: Django's password view
    # cycles it, so a socket of the old key closes too and the page reconnects.)


async def test_deactivation_closes_the_sockets_and_empties_the_department_groups(user_ws: Connect, personas: Any) -> None:
    await database_sync_to_async(jobs.department_groups_sync_all)()
    admin = await login(personas.admin)
    socket = await user_ws(await login(personas.drafter))
    response = await database_sync_to_async(admin_user_change)(admin, personas.drafter, is_active=False)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert await closed_with(socket) == 4401
    groups = await database_sync_to_async(
        lambda: list(Membership.objects.filter(user=personas.drafter, conversation__kind="department"))
    )()
    assert groups == []


# ------------------------------------------------------------ directory changes


async def test_moving_to_another_department_leaves_the_old_group_at_once(user_ws: Connect, personas: Any) -> None:
    await database_sync_to_async(jobs.department_groups_sync_all)()

    @database_sync_to_async
    def places() -> tuple[Conversation, Department, Conversation]:
        secretariat = Conversation.objects.get(kind="department", department=personas.drafter2.department)
        comprehensive = Department.objects.get(parent=personas.drafter2.department.parent, name="综合处")
        return secretariat, comprehensive, Conversation.objects.get(kind="department", department=comprehensive)

    secretariat, comprehensive, comprehensive_group = await places()
    admin = await login(personas.admin)
    socket = await user_ws(await login(personas.drafter2))
    response = await database_sync_to_async(admin_user_change)(admin, personas.drafter2, department=comprehensive)
    assert response.status_code == 302, response.content.decode()[:2000]
    await expect(socket, lambda f: f["type"] == "conversation.left" and f["conversation_id"] == secretariat.pk)
    await expect(socket, lambda f: f["type"] == "conversation.joined" and f["conversation_id"] == comprehensive_group.pk)
    # The old group's messages no longer reach the socket, and its frames are refused.
    await _send(personas.head, secretariat, "秘书处内部通知")
    await socket.send_json_to({"type": "send", "conversation_id": secretariat.pk, "client_id": "m-1", "body": "我还在吗"})
    await socket.send_json_to({"type": "typing", "conversation_id": secretariat.pk})
    frames = await drain(socket)
    assert [f for f in frames if f["type"] == "message"] == []
    assert [(f["code"], f.get("conversation_id")) for f in frames if f["type"] == "error"] == [
        ("not_found", secretariat.pk),
        ("not_found", secretariat.pk),
    ]
    assert await still_open(socket)  # the session itself is fine


async def test_losing_the_department_head_role_takes_the_group_admin_rights_at_once(user_ws: Connect, personas: Any) -> None:
    """Roles grant no conversation here (department groups follow departments); what the
    head role grants is admin rights in the department group, e.g. @所有人."""
    await database_sync_to_async(jobs.department_groups_sync_all)()
    secretariat = await database_sync_to_async(Conversation.objects.get)(kind="department", department=personas.head.department)
    admin = await login(personas.admin)
    socket = await user_ws(await login(personas.head))
    remaining = [
        r for r in await database_sync_to_async(lambda: sorted(personas.head.role_codes()))() if r != Role.DEPARTMENT_HEAD
    ]
    response = await database_sync_to_async(admin_user_change)(admin, personas.head, roles=remaining)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert await database_sync_to_async(lambda: sorted(User.objects.get(pk=personas.head.pk).role_codes()))() == remaining
    await socket.send_json_to(
        {"type": "send", "conversation_id": secretariat.pk, "client_id": "h-1", "body": "全体注意", "mention_all": True}
    )
    refused = await expect(socket, lambda f: f["type"] in ("ack", "error"))
    assert refused["type"] == "error" and refused["code"] == "message.mention_all_forbidden"


# ------------------------------------------------------------ the checks that cannot be missed


async def test_a_frame_after_a_lost_push_is_refused_and_the_socket_closed(user_ws: Connect, personas: Any, group: Any) -> None:
    browser = await login(personas.drafter)
    socket = await user_ws(browser)
    # The session ends without any push (e.g. the layer dropped it, or a session store purge).
    await database_sync_to_async(Session.objects.filter(session_key=browser.session.session_key).delete)()
    await socket.send_json_to({"type": "send", "conversation_id": group.pk, "client_id": "late-1", "body": "还能发吗"})
    assert await closed_with(socket) == 4401
    assert not await database_sync_to_async(Message.objects.filter(client_id="late-1").exists)()


async def test_a_password_changed_outside_the_admin_ends_the_socket_at_its_next_frame(user_ws: Connect, personas: Any) -> None:
    socket = await user_ws(await login(personas.drafter))

    @database_sync_to_async
    def change_password() -> None:  # e.g. manage.py changepassword: no push at all
        user = User.objects.get(pk=personas.drafter.pk)
        user.set_password("Xin-Mima#2026-wf")
        user.save(update_fields=["password"])

    await change_password()
    await socket.send_json_to({"type": "ping"})
    assert await closed_with(socket) == 4401


async def test_a_silent_socket_is_closed_by_the_periodic_check(user_ws: Connect, personas: Any, settings: Any) -> None:
    settings.SOCKET_REVALIDATE_SECONDS = 0.5
    socket = await user_ws(await login(personas.drafter))
    await database_sync_to_async(User.objects.filter(pk=personas.drafter.pk).update)(is_active=False)  # no push
    assert await closed_with(socket, timeout=5) == 4401  # without the client sending anything


async def test_a_lost_conversation_left_is_caught_by_the_periodic_check(
    user_ws: Connect, personas: Any, group: Any, settings: Any
) -> None:
    settings.SOCKET_REVALIDATE_SECONDS = 0.5
    socket = await user_ws(await login(personas.head))
    await database_sync_to_async(Membership.objects.filter(conversation=group, user=personas.head).delete)()  # no event
    await expect(socket, lambda f: f["type"] == "conversation.left" and f["conversation_id"] == group.pk)
    await _send(personas.drafter, group, "之后的消息")
    assert [f for f in await drain(socket) if f["type"] == "message"] == []
