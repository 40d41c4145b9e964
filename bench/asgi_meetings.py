"""Bench-only ASGI app: OfficeHub as deployed, plus a bare signaling relay at
``/bench/relay/<room>/?peer=<id>`` used as the baseline by bench/meetings.py. Never routed
in production.

The bare relay does the least a Channels relay can do: no authentication, no database,
no validation — peers learn each other's channel names through the room group, and an
offer/answer/ICE frame is ``channel_layer.send`` to the addressed peer's channel.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import ConnectionError as RedisConnectionError

from officehub.asgi import application as officehub_application


class BareRelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.room = self.scope["path"].rstrip("/").rsplit("/", 1)[-1]
        self.group = f"bench-relay.{self.room}"
        self.peer_id = int(parse_qs(self.scope.get("query_string", b"").decode()).get("peer", ["0"])[0])
        self.peers: dict[int, str] = {}
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "welcome", "peer_id": self.peer_id, "roster": []}))
        hello = {"type": "bare.hello", "peer": self.peer_id, "channel": self.channel_name}
        await self.channel_layer.group_send(self.group, hello)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = json.loads(text_data or "{}")
        channel = self.peers.get(frame.get("to"))
        if channel is None:
            await self.send(text_data=json.dumps({"type": "error", "code": "peer_not_in_room"}))
            return
        frame["from"] = self.peer_id
        del frame["to"]
        # The same short retry as OfficeHub's consumer when the layer's connection pool
        # is momentarily exhausted, so a burst does not kill sockets on one side only.
        for attempt in range(5):
            try:
                await self.channel_layer.send(channel, {"type": "bare.relay", "frame": frame})
                return
            except RedisConnectionError:
                await asyncio.sleep(0.01 * 2**attempt)
        await self.send(text_data=json.dumps({"type": "error", "code": "relay_failed"}))

    async def bare_hello(self, event: dict[str, Any]) -> None:
        if event["peer"] == self.peer_id:
            return
        self.peers[event["peer"]] = event["channel"]
        await self.channel_layer.send(event["channel"], {"type": "bare.here", "peer": self.peer_id, "channel": self.channel_name})
        await self.send(text_data=json.dumps({"type": "peer_joined", "peer": {"peer_id": event["peer"]}}))

    async def bare_here(self, event: dict[str, Any]) -> None:
        self.peers[event["peer"]] = event["channel"]
        await self.send(text_data=json.dumps({"type": "peer_joined", "peer": {"peer_id": event["peer"]}}))

    async def bare_relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["frame"]))


relay_application = BareRelayConsumer.as_asgi()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket" and scope["path"].startswith("/bench/relay/"):
        await relay_application(scope, receive, send)
    else:
        await officehub_application(scope, receive, send)
