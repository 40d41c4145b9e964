"""A hostile frame on the user socket is refused with a coded error; the socket lives on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.messaging.sockets import expect, of_type, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

DEEP = "[" * 1000 + "]" * 1000


async def test_deeply_nested_or_nul_frames_are_invalid_json_and_the_socket_keeps_working(personas: Any, group: Any) -> None:
    socket = await open_socket(personas.drafter)
    nested = "[" * 100 + "]" * 100
    nested_send = f'{{"type": "send", "conversation_id": {group.pk}, "client_id": "n-1", "body": "x", "extra": {nested}}}'
    nul_send = f'{{"type": "send", "conversation_id": {group.pk}, "client_id": "n-2", "body": "a\\u0000b"}}'
    for text in (DEEP, nested_send, nul_send):
        await socket.send_to(text_data=text)
        assert (await expect(socket, of_type("error")))["code"] == "frame.invalid_json"
    await socket.send_json_to({"type": "ping"})
    assert (await expect(socket, lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
    await socket.disconnect()
