"""A hostile frame on the signaling socket is refused with a coded error; the socket lives on."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def room(personas: Any, schedule: Any) -> Any:
    return schedule(invitees=(personas.drafter,))


async def test_deeply_nested_frame_is_a_bad_frame_and_the_socket_keeps_working(ws: Any, personas: Any, room: Any) -> None:
    socket = await ws(personas.head, room.pk)
    assert (await socket.recv())["type"] == "welcome"
    for text in (DEEP, '{"type": "ping", "x": ' + "{" * 200 + "}" * 200 + "}", '{"type": "ping", "x": "\\u0000"}'):
        await socket.communicator.send_to(text_data=text)
        error = await socket.recv()
        assert (error["type"], error["code"]) == ("error", "meeting.bad_frame")
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}
