"""Listen on the real channel layer from a test: what did the services publish, after commit?

The layer is Redis pub/sub (officehub/layers.py): a frame reaches only subscribers that
are listening when it is published, so the inbox subscribes in a background event loop
and keeps listening until closed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer


class LayerInbox:
    def __init__(self, *groups: str) -> None:
        self._frames: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="layer-inbox", daemon=True)
        self._thread.start()
        self._layer = get_channel_layer()
        self._task: asyncio.Future[None] | None = None
        self.channel = self._run(self._subscribe(groups))

    def _run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _subscribe(self, groups: tuple[str, ...]) -> str:
        channel = await self._layer.new_channel("inbox.")
        for group in groups:
            await self._layer.group_add(group, channel)
        self._task = asyncio.ensure_future(self._pump(channel))
        return channel

    async def _pump(self, channel: str) -> None:
        while True:
            frame = await self._layer.receive(channel)
            with self._lock:
                self._frames.append(frame)

    def read(self, settle: float = 0.4) -> list[dict[str, Any]]:
        """Everything received so far, after ``settle`` quiet seconds; then forget it."""
        time.sleep(settle)
        with self._lock:
            frames, self._frames = self._frames, []
        return frames

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for index, frame in enumerate(self._frames):
                    if predicate(frame):
                        return self._frames.pop(index)
            time.sleep(0.02)
        raise AssertionError(f"no matching frame within {timeout} s; got {self._frames!r}")

    def close(self) -> None:
        async def stop() -> None:
            if self._task is not None:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
            inner = getattr(self._layer, "_layers", {}).pop(asyncio.get_running_loop(), None)
            if inner is not None:
                await inner.flush()

        try:
            self._run(stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
