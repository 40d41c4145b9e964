"""Bench-only ASGI app: OfficeHub as deployed, plus a bare Channels fan-out echo at
``/bench/echo/`` used as the baseline by bench/messaging.py. Never routed in production."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

from channels.generic.websocket import AsyncWebsocketConsumer

from officehub.asgi import application as officehub_application

ECHO_GROUP = "bench-echo"


class EchoFanoutConsumer(AsyncWebsocketConsumer):
    """The least a Channels fan-out can do: no auth, no database, no JSON — each text
    frame is group_sent to every member of one group (``?join=1`` sockets)."""

    joined = False

    async def connect(self) -> None:
        self.joined = b"join=1" in self.scope.get("query_string", b"")
        if self.joined:
            await self.channel_layer.group_add(ECHO_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(ECHO_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(ECHO_GROUP, {"type": "echo.frame", "text": text_data or ""})

    async def echo_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


echo_application = EchoFanoutConsumer.as_asgi()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket" and scope["path"].startswith("/bench/echo/"):
        await echo_application(scope, receive, send)
    else:
        await officehub_application(scope, receive, send)
