"""The channel layer OfficeHub runs on: Redis pub/sub, one subscription connection per process.

Why not ``channels_redis.core.RedisChannelLayer`` (lists + one sorted set per group):
- a socket joins one group per conversation, and each ``group_add`` is a Redis round trip
  on a pooled connection, so a user in 100 conversations exhausted the pool (500 on
  connect) and one in 1,000 took seconds;
- group membership lives in Redis, so the channels of a process killed with ``kill -9``
  stay in every group until ``group_expiry`` (24 h);
- a group send to 500 members is 500 list pushes inside Redis.

With pub/sub a group is a Redis channel that each *process* subscribes to once, however
many of its sockets belong to it; membership is a dict in the process, so it dies with the
process, and a group send is one ``PUBLISH`` that Redis copies to each subscribed process.
Pub/sub delivery is at most once, which the design already assumes (DESIGN §8): the
database is the source of truth and clients resume by ``seq``. What this module adds to
``channels_redis.pubsub``:

- ``group_add_many`` / ``group_discard_many``: one ``SUBSCRIBE``/``UNSUBSCRIBE`` command
  for all of a socket's conversations, awaited until Redis confirms, so a socket joined
  before ``hello`` really receives what is published after it;
- a bounded, explicit, health-checked publish pool with retry and backoff, so stale pooled
  connections after a Redis restart or ``CLIENT KILL`` are replaced, never surfaced;
- a receive loop that survives a lost subscription connection: it reconnects with backoff,
  re-subscribes everything, and tells every local channel ``layer.resync`` (messages
  published while it was away are gone: consumers ask their clients to resume);
- bounded per-channel queues: a consumer that falls behind gets its backlog replaced by
  one ``layer.resync`` instead of growing without limit;
- cleanup that cannot be skipped: when a consumer's receive is cancelled (it closed, or
  its handler crashed), the channel leaves every group it was in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _consistent_hash, _wrap_close, create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RESYNC: dict[str, Any] = {"type": "layer.resync"}
SUBSCRIBE_CHUNK = 500
CONFIRM_TIMEOUT_SECONDS = 10.0
RECONNECT_BACKOFF_MAX_SECONDS = 5.0
_RECOVERABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def process_name() -> str:
    """How this process names itself to Redis (CLIENT LIST) and PostgreSQL
    (application_name), so an operator — or a test — can tell whose connections are whose."""
    return f"officehub-{os.getpid()}"


def redis_pool(
    url: str,
    *,
    max_connections: int,
    health_check_interval: float = 15.0,
    socket_timeout: float | None = 10.0,
    retries: int = 3,
) -> aioredis.BlockingConnectionPool:
    """A bounded asyncio pool: waits (up to 5 s) for a free connection instead of raising
    MaxConnectionsError, pings connections idle for ``health_check_interval`` seconds before
    reuse, and retries a command once more on a fresh connection when a pooled one turns
    out dead (Redis restarted, CLIENT KILL)."""
    return aioredis.BlockingConnectionPool.from_url(
        url,
        client_name=process_name(),
        max_connections=max_connections,
        timeout=5,
        health_check_interval=health_check_interval,
        socket_timeout=socket_timeout,
        socket_connect_timeout=5,
        socket_keepalive=True,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )


class _Shard(RedisSingleShardConnection):
    """One Redis host: a publish pool and one subscription connection (per event loop)."""

    _redis: aioredis.Redis | None  # None until _ensure_redis (channels_redis sets it so)

    def __init__(self, host: dict[str, Any], channel_layer: OfficeHubLoopLayer) -> None:
        super().__init__(host, channel_layer)
        self.address: str | None = host.get("address")
        self.max_connections: int = int(host.get("max_connections", 20))
        self.health_check_interval: float = float(host.get("health_check_interval", 15))
        # Subscribed channel -> future resolved when Redis confirms the subscription.
        self._confirmations: dict[str, asyncio.Future[None]] = {}

    # -- connections -----------------------------------------------------------------

    def _ensure_redis(self) -> aioredis.Redis:
        if self._redis is None:
            if self.address is None:  # Sentinel or host/port entries: channels_redis builds it
                pool = create_pool({k: v for k, v in self.host.items() if k not in ("max_connections", "health_check_interval")})
            else:
                pool = redis_pool(self.address, max_connections=self.max_connections,
                                  health_check_interval=self.health_check_interval)
            self._redis = aioredis.Redis(connection_pool=pool)
            self._pubsub = self._new_pubsub()
        return self._redis

    def _new_pubsub(self) -> Any:
        # Its own connection, outside the pool's retry: this module, not redis-py, decides
        # what a lost subscription means (re-subscribe everything, then resync).
        if self.address is None:
            return self._ensure_redis().pubsub()
        connection = aioredis.Redis.from_url(
            self.address,
            client_name=process_name(),
            socket_connect_timeout=5,
            socket_keepalive=True,
            health_check_interval=self.health_check_interval,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 0),
        )
        return connection.pubsub()

    async def publish(self, channel: str, message: bytes) -> None:
        # No lock: the pool bounds concurrency, and publishes do not touch the subscription.
        await self._ensure_redis().publish(channel, message)

    # -- subscriptions -----------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        await self.subscribe_many([channel])

    async def subscribe_many(self, channels: Iterable[str]) -> None:
        """Subscribe to every channel not yet subscribed, in as few commands as possible,
        and return once Redis has confirmed them all."""
        channels = list(dict.fromkeys(channels))
        waiting: list[asyncio.Future[None]] = []
        async with self._lock:
            new = [c for c in channels if c not in self._subscribed_to]
            if new:
                self._ensure_redis()
                self._ensure_receiver()
                loop = asyncio.get_running_loop()
                for start in range(0, len(new), SUBSCRIBE_CHUNK):
                    chunk = new[start:start + SUBSCRIBE_CHUNK]
                    for channel in chunk:
                        self._confirmations[channel] = loop.create_future()
                    await self._pubsub.subscribe(*chunk)
                    self._subscribed_to.update(chunk)
            waiting = [f for c in channels if (f := self._confirmations.get(c)) is not None and not f.done()]
        if waiting:
            await asyncio.wait_for(asyncio.gather(*waiting), CONFIRM_TIMEOUT_SECONDS)

    async def unsubscribe(self, channel: str) -> None:
        await self.unsubscribe_many([channel])

    async def unsubscribe_many(self, channels: Iterable[str]) -> None:
        async with self._lock:
            gone = [c for c in dict.fromkeys(channels) if c in self._subscribed_to]
            if not gone:
                return
            self._subscribed_to.difference_update(gone)
            for channel in gone:
                future = self._confirmations.pop(channel, None)
                if future is not None and not future.done():
                    future.cancel()
            if self._pubsub is None:
                return
            try:
                for start in range(0, len(gone), SUBSCRIBE_CHUNK):
                    await self._pubsub.unsubscribe(*gone[start:start + SUBSCRIBE_CHUNK])
            except _RECOVERABLE:
                # The connection is gone: the receive loop re-subscribes only what is
                # still in _subscribed_to, so the unsubscription happens anyway.
                logger.info("channel layer: unsubscribe during a Redis outage (dropped with the connection)")

    async def flush(self) -> None:
        pubsub = self._pubsub
        await super().flush()
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # noqa: BLE001 - closing at shutdown; nothing to recover
                logger.debug("closing the pubsub connection failed", exc_info=True)
        for future in self._confirmations.values():
            if not future.done():
                future.cancel()
        self._confirmations.clear()

    # -- the receive loop -----------------------------------------------------------

    async def _do_receiving(self) -> None:
        backoff = 0.05
        while True:
            try:
                if self._pubsub is not None and self._subscribed_to:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
                    self._dispatch(message)
                    backoff = 0.05
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except _RECOVERABLE as exc:
                logger.warning("channel layer: lost the Redis subscription (%s); reconnecting", exc)
                await self._recover(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_SECONDS)
            except Exception:
                logger.exception("channel layer: unexpected error in the receive loop")
                await asyncio.sleep(1)

    def _dispatch(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        kind = message.get("type")
        if isinstance(kind, bytes):
            kind = kind.decode()
        if kind in ("subscribe", "unsubscribe"):
            name = message["channel"]
            name = name.decode() if isinstance(name, bytes) else name
            future = self._confirmations.get(name)
            if kind == "subscribe" and future is not None and not future.done():
                future.set_result(None)
            return
        if kind == "message":
            self._receive_message(message)

    async def _recover(self, backoff: float) -> None:
        """New subscription connection, every channel re-subscribed, then resync everyone."""
        while True:
            await asyncio.sleep(backoff * (0.5 + random.random()))  # jitter only
            async with self._lock:
                old, self._pubsub = self._pubsub, None
                if old is not None:
                    try:
                        await old.aclose()
                    except Exception:  # noqa: BLE001 - the old connection is dead anyway
                        logger.debug("closing a dead pubsub connection failed", exc_info=True)
                try:
                    self._pubsub = self._new_pubsub()
                    channels = sorted(self._subscribed_to)
                    for start in range(0, len(channels), SUBSCRIBE_CHUNK):
                        await self._pubsub.subscribe(*channels[start:start + SUBSCRIBE_CHUNK])
                    if not channels:
                        await self._pubsub.ping()
                except _RECOVERABLE as exc:
                    logger.warning("channel layer: Redis still unreachable (%s); retrying", exc)
                    backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_SECONDS)
                    continue
            logger.warning("channel layer: Redis subscription restored (%d channels)", len(self._subscribed_to))
            self.channel_layer.resync_all()
            return

    def _receive_message(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        data = message["data"]
        if name in layer.channels:
            layer.deliver(name, data)
        elif name in layer.groups:
            for channel_name in list(layer.groups[name]):
                layer.deliver(channel_name, data)


class OfficeHubLoopLayer(RedisPubSubLoopLayer):
    """The per-event-loop half of the layer (see the module docstring)."""

    def __init__(self, hosts: Any = None, prefix: str = "asgi", capacity: int = 1000, **kwargs: Any) -> None:
        super().__init__(hosts=hosts, prefix=prefix, **kwargs)
        self.capacity = capacity
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]
        # channel -> the group channels it is in, so a dead consumer can be removed from all.
        self.memberships: defaultdict[str, set[str]] = defaultdict(set)
        self._resync_frame: bytes | None = None

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = asyncio.Queue(maxsize=self.capacity)
        await self._get_shard(channel).subscribe(channel)

    def deliver(self, channel: str, data: bytes) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            return
        try:
            queue.put_nowait(data)
        except asyncio.QueueFull:
            # The consumer is too slow: its backlog is worthless once it must resync anyway.
            logger.warning("channel layer: %s fell %d messages behind; resync", channel, queue.qsize())
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(self._resync())

    def _resync(self) -> bytes:
        if self._resync_frame is None:
            self._resync_frame = self.channel_layer.serialize(RESYNC)
        return self._resync_frame

    def resync_all(self) -> None:
        """Tell every local consumer that messages may have been lost."""
        for channel in list(self.channels):
            self.deliver(channel, self._resync())

    async def receive(self, channel: str) -> Any:
        try:
            return await super().receive(channel)
        except (TimeoutError, asyncio.CancelledError, GeneratorExit):
            # The consumer is gone (closed, crashed, or its process is shutting down):
            # take it out of every group here, whether or not its disconnect ran.
            await self._forget(channel)
            raise

    async def _forget(self, channel: str) -> None:
        groups = self.memberships.pop(channel, set())
        if groups:
            try:
                await self._discard_group_channels(groups, channel)
            except BaseException:  # never mask the cancellation being raised
                logger.exception("channel layer: cleaning up %s failed", channel)

    # -- groups -----------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        await self.group_add_many([group], channel)

    async def group_add_many(self, groups: Iterable[str], channel: str) -> None:
        if channel not in self.channels:
            raise RuntimeError("group_add needs a channel of this process (self.channel_name)")
        by_shard: dict[int, list[str]] = defaultdict(list)
        for group in groups:
            group_channel = self._get_group_channel_name(group)
            self.groups.setdefault(group_channel, set()).add(channel)
            self.memberships[channel].add(group_channel)
            by_shard[_consistent_hash(group_channel, len(self._shards))].append(group_channel)
        await asyncio.gather(*(self._shards[i].subscribe_many(names) for i, names in by_shard.items()))

    async def group_discard(self, group: str, channel: str) -> None:
        await self.group_discard_many([group], channel)

    async def group_discard_many(self, groups: Iterable[str], channel: str) -> None:
        group_channels = {self._get_group_channel_name(group) for group in groups}
        self.memberships.get(channel, set()).difference_update(group_channels)
        await self._discard_group_channels(group_channels, channel)

    async def _discard_group_channels(self, group_channels: Iterable[str], channel: str) -> None:
        by_shard: dict[int, list[str]] = defaultdict(list)
        for group_channel in group_channels:
            members = self.groups.get(group_channel)
            if members is None or channel not in members:
                continue
            members.discard(channel)
            if not members:
                del self.groups[group_channel]
                by_shard[_consistent_hash(group_channel, len(self._shards))].append(group_channel)
        await asyncio.gather(*(self._shards[i].unsubscribe_many(names) for i, names in by_shard.items()))

    def stats(self) -> dict[str, int]:
        return {
            "channels": len(self.channels),
            "groups": len(self.groups),
            "subscriptions": sum(len(shard._subscribed_to) for shard in self._shards),
        }


class OfficeHubChannelLayer(RedisPubSubChannelLayer):
    """``CHANNEL_LAYERS`` backend: one ``OfficeHubLoopLayer`` per event loop."""

    def _get_layer(self) -> OfficeHubLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = OfficeHubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer

    async def group_add_many(self, groups: Iterable[str], channel: str) -> None:
        await self._get_layer().group_add_many(groups, channel)

    async def group_discard_many(self, groups: Iterable[str], channel: str) -> None:
        await self._get_layer().group_discard_many(groups, channel)


async def close_layer_connections(layer: Any) -> None:
    """Close this loop's Redis connections (tests and shutdown)."""
    inner = getattr(layer, "_layers", {}).pop(asyncio.get_running_loop(), None)
    if inner is not None:
        await inner.flush()


