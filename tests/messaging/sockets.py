"""Helpers for consumer tests: connect a user socket, wait for frames, drain."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client


@database_sync_to_async
def login_session(user: Any) -> Any:
    """A real session of ``user``, as the session middleware would put it in the scope
    (the socket re-checks it on every frame)."""
    client = Client()
    client.force_login(user)
    return import_module(settings.SESSION_ENGINE).SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)


async def open_socket(user: Any) -> WebsocketCommunicator:
    from messaging.chat.consumers import UserSocketConsumer

    communicator = WebsocketCommunicator(UserSocketConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    communicator.scope["session"] = await login_session(user)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello" and hello["user_id"] == user.pk
    return communicator


async def expect(communicator: WebsocketCommunicator, match: Callable[[dict], bool], *, timeout: float = 5) -> dict:
    """Read frames until one matches (others are skipped); fail after ``timeout``."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if match(frame):
            return frame


def of_type(kind: str) -> Callable[[dict], bool]:
    return lambda frame: frame.get("type") == kind


async def drain(communicator: WebsocketCommunicator, *, settle: float = 0.3) -> list[dict]:
    """Every frame that arrives until the socket has been quiet for ``settle`` seconds
    (receive_nothing does not cancel the application on timeout, unlike receive)."""
    frames = []
    while not await communicator.receive_nothing(timeout=settle, interval=0.02):
        frames.append(await communicator.receive_json_from())
    return frames


async def resume(communicator: WebsocketCommunicator, positions: dict[int, int]) -> list[dict]:
    """Resume until no conversation has more; returns the messages received, in order."""
    messages: list[dict] = []
    positions = dict(positions)
    while True:
        await communicator.send_json_to({"type": "resume", "conversations": {str(k): v for k, v in positions.items()}})
        more = False
        while True:
            frame = await communicator.receive_json_from(timeout=5)
            if frame["type"] == "resume.done":
                break
            if frame["type"] == "resume.batch":
                messages.extend(frame["messages"])
                if frame["messages"]:
                    positions[frame["conversation_id"]] = frame["messages"][-1]["seq"]
                more = more or frame["has_more"]
        if not more:
            return messages
