"""Meeting fixtures: scheduling helper and sockets through the real ASGI stack.

Sockets go through ``officehub.asgi.application`` (origin check, session auth, routing)
with a real session cookie, on the real Redis channel layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from messaging.meetings import services
from officehub.transactions import in_transaction


@pytest.hookimpl(trylast=True)  # after pytest-django's own database-kind ordering
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Run browser tests last. Playwright's sync API keeps an event loop running in the
    main thread for as long as the session-scoped ``chromium`` fixture lives, and
    pytest-asyncio cannot start a test loop inside it ("Runner.run() cannot be called
    from a running event loop"), so every async test must run before the first browser
    test. Conftest hooks are global: this orders the whole session (stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def schedule(personas: Any) -> Callable[..., Any]:
    """Schedule a meeting hosted by the 秘书处 head (chenjie) unless told otherwise;
    by default it starts in a minute, so it is inside its join window now."""

    def make(
        *,
        host: Any = None,
        invitees: tuple[Any, ...] = (),
        observers: tuple[Any, ...] = (),
        start_in: timedelta = timedelta(minutes=1),
        duration: timedelta = timedelta(hours=1),
        title: str = "周工作例会",
        agenda: str = "",
    ) -> Any:
        now = timezone.now()
        return in_transaction(services.meeting_schedule)(
            actor=host or personas.head,
            title=title,
            agenda=agenda,
            start_at=now + start_in,
            end_at=now + start_in + duration,
            user_ids=[u.pk for u in invitees],
            observer_ids=[u.pk for u in observers],
        )

    return make


def _session_cookie(user: Any, client: Client | None = None) -> bytes:
    """The session cookie of ``client`` (a new browser logged in as ``user`` if None)."""
    if client is None:
        client = Client()
        client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


class Socket:
    """A meeting socket for one user, with small helpers for reading frames."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, frame: dict[str, Any]) -> None:
        await self.communicator.send_json_to(frame)

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def recv_type(self, kind: str, timeout: float = 3) -> dict[str, Any]:
        """Read frames until one of this type (others before it are skipped)."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind:
                return frame

    async def silent(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self, timeout: float = 3) -> int:
        output = await self.communicator.receive_output(timeout=timeout)
        assert output["type"] == "websocket.close", output
        return int(output.get("code", 1000))

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
async def ws(transactional_db: None) -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    """``await ws(user, meeting_id)`` -> Socket (accepted; read welcome or error next).
    Pass user=None for an anonymous socket, ``client=`` to use that browser's session.
    Sockets still open at the end are closed."""
    from officehub.asgi import application

    # The Redis layer keeps locks and buffers bound to the event loop that first used
    # it; each test runs in a fresh loop, so each test gets a fresh layer instance.
    channel_layers.backends.clear()
    opened: list[Socket] = []

    async def connect(user: Any, meeting_id: int, *, client: Client | None = None) -> Socket:
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if user is not None:
            headers.append((b"cookie", await database_sync_to_async(_session_cookie)(user, client)))
        communicator = WebsocketCommunicator(application, f"/ws/meetings/{meeting_id}/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        socket = Socket(communicator)
        opened.append(socket)
        return socket

    yield connect
    for socket in opened:
        await socket.close()
    # The worker thread's database connection would keep the test database busy.
    await database_sync_to_async(connections.close_all)()
    channel_layers.backends.clear()
