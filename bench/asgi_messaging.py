"""Bench-only ASGI app: OfficeHub as deployed, plus a bare Channels fan-out echo at
``/bench/echo/`` used as the baseline by bench/messaging.py. Never routed in production."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

from channels.generic.websocket import AsyncWebsocketConsumer

from officehub.asgi import application as officehub_application

ECHO_GROUP = "bench-echo"


class EchoFanoutConsumer(AsyncWebsocketConsumer):
    """The least a Channels fan-out can do: no auth, no database, no JSON — each text
    frame is group_sent to every member of one group (``?join=1`` sockets join the
    default group, ``?group=<name>`` a named one)."""

    joined = False
    group = ECHO_GROUP

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.group = f"{ECHO_GROUP}-{query['group'][0]}" if "group" in query else ECHO_GROUP
        self.joined = "join" in query or "group" in query
        if self.joined:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(self.group, {"type": "echo.frame", "text": text_data or ""})

    async def echo_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


echo_application = EchoFanoutConsumer.as_asgi()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # /ws/bench/echo/ when served behind nginx (which sends only /ws/ to Daphne).
    if scope["type"] == "websocket" and scope["path"].startswith(("/bench/echo/", "/ws/bench/echo/")):
        await echo_application(scope, receive, send)
    else:
        await officehub_application(scope, receive, send)
