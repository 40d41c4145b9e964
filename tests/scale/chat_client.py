"""The reference chat client's delivery rules (messaging/static/messaging/chat.js), over a
real socket: reconnect with backoff, resume from the last seq held without a gap, re-send
unacknowledged messages with the same client_id, hold early frames, resume on ``resync``
and on gaps that do not fill, retry rate-limited sends after ``retry_after``.

``delivered`` is what the page would show, in order; ``raw_duplicates`` counts frames
the rules dropped as already held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

GAP_WAIT_SECONDS = 0.5

_sends: set[asyncio.Future[None]] = set()


@dataclass
class ChatClient:
    name: str
    ws_url: str
    origin: str
    session_key: str
    conversation_id: int
    seen: int = 0
    delivered: list[int] = field(default_factory=list)
    bodies: dict[int, str] = field(default_factory=dict)
    early: dict[int, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    resyncs: int = 0
    raw_duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    hello_seconds: list[float] = field(default_factory=list)
    _socket: ClientConnection | None = None
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False
    _gap_timer: asyncio.TimerHandle | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        await asyncio.wait_for(self._connected.wait(), 30)

    async def stop(self) -> None:
        self._stopping = True
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                started = time.monotonic()
                async with connect(
                    self.ws_url,
                    origin=self.origin,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"sessionid={self.session_key}"},
                    open_timeout=10,
                    ping_interval=None,
                    max_size=2**24,
                ) as socket:
                    self._socket = socket
                    async for text in socket:
                        frame = json.loads(text)
                        if frame["type"] == "hello":
                            self.hello_seconds.append(time.monotonic() - started)
                            self.connects += 1
                            delay = 0.2
                            await self._on_hello()
                        else:
                            await self._on_frame(frame)
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException):
                pass
            self._connected.clear()
            self._socket = None
            if not self._stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._socket is not None:
            with contextlib.suppress(websockets.exceptions.WebSocketException):
                await self._socket.send(json.dumps(frame))

    async def _on_hello(self) -> None:
        await self._send({"type": "resume", "conversations": {str(self.conversation_id): self.seen}})
        for frame in list(self.pending.values()):
            await self._send(frame)  # same client_id: the server dedups
        self._connected.set()

    async def send_message(self, body: str) -> str:
        client_id = uuid.uuid4().hex
        frame = {"type": "send", "conversation_id": self.conversation_id, "client_id": client_id, "body": body}
        self.pending[client_id] = frame
        await self._send(frame)
        return client_id

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "message":
            self._receive(frame["message"])
        elif kind == "resume.batch":
            for message in frame["messages"]:
                self._receive(message)
            if frame["has_more"]:
                await self._send({"type": "resume", "conversations": {str(self.conversation_id): self.seen}})
        elif kind == "ack":
            self.pending.pop(frame["client_id"], None)
            self.acked[frame["client_id"]] = frame["seq"]
            self._receive(frame["message"])
        elif kind == "resync":
            self.resyncs += 1
            await self._send({"type": "resume", "conversations": {str(self.conversation_id): self.seen}})
        elif kind == "error":
            if frame.get("code") == "message.rate_limited" and frame.get("client_id") in self.pending:
                wait = float(frame.get("extra", {}).get("retry_after", 1))
                retry = self.pending[frame["client_id"]]
                asyncio.get_running_loop().call_later(wait, lambda: asyncio.ensure_future(self._send(retry)))
            else:
                self.errors.append(frame)

    def _receive(self, message: dict[str, Any]) -> None:
        if message["conversation_id"] != self.conversation_id:
            return
        seq = message["seq"]
        if seq <= self.seen or seq in self.early:
            self.raw_duplicates += 1
            return
        if seq > self.seen + 1:
            self.early[seq] = message
            if self._gap_timer is None:
                self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT_SECONDS, self._gap_check)
            return
        self._deliver(message)
        while self.seen + 1 in self.early:
            self._deliver(self.early.pop(self.seen + 1))

    def _deliver(self, message: dict[str, Any]) -> None:
        self.seen = message["seq"]
        self.delivered.append(message["seq"])
        self.bodies[message["seq"]] = message.get("body", "")

    def _gap_check(self) -> None:
        self._gap_timer = None
        if self.early:
            resume = asyncio.ensure_future(
                self._send({"type": "resume", "conversations": {str(self.conversation_id): self.seen}})
            )
            _sends.add(resume)  # the loop keeps only weak references to tasks
            resume.add_done_callback(_sends.discard)
            self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT_SECONDS * 2, self._gap_check)

    async def wait_for_seq(self, seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.seen >= seq and not self.pending:
                return True
            await asyncio.sleep(0.05)
        return False
