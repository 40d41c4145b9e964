"""Online presence: which users have at least one live socket.

Each socket is a member of a Redis sorted set per user, scored with its expiry time and
refreshed by the client's ping; a process that dies leaves entries that simply expire.
Without Redis (a newcomer's single-process run) an in-process dict does the same.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from django.conf import settings

TTL_SECONDS = 90
_local: dict[int, dict[str, float]] = {}
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _prefix() -> str:
    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    config: dict[str, Any] = layer.get("CONFIG", {})
    return f"{config.get('prefix', 'officehub')}:presence:"


def _client() -> Any | None:
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        import redis.asyncio as aioredis

        from officehub.layers import redis_pool

        client = aioredis.Redis(connection_pool=redis_pool(url, max_connections=10))
        _clients[loop] = client
    return client


async def touch(user_id: int, channel_name: str) -> bool:
    """Mark this socket live; True when it is the user's only live socket (came online)."""
    now = time.time()
    client = _client()
    if client is None:
        sockets = _local.setdefault(user_id, {})
        for name, expiry in list(sockets.items()):
            if expiry < now:
                del sockets[name]
        first = not sockets or list(sockets) == [channel_name]
        sockets[channel_name] = now + TTL_SECONDS
        return first
    key = _prefix() + str(user_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {channel_name: now + TTL_SECONDS})
        pipe.zcard(key)
        pipe.expire(key, TTL_SECONDS)
        _, _, count, _ = await pipe.execute()
    return int(count) == 1


async def leave(user_id: int, channel_name: str) -> bool:
    """Forget this socket; True when the user has no live socket left (went offline)."""
    now = time.time()
    client = _client()
    if client is None:
        sockets = _local.get(user_id, {})
        sockets.pop(channel_name, None)
        return not any(expiry >= now for expiry in sockets.values())
    key = _prefix() + str(user_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.zrem(key, channel_name)
        pipe.zcount(key, now, "+inf")
        _, remaining = await pipe.execute()
    return int(remaining) == 0


async def online(user_ids: list[int]) -> dict[int, bool]:
    now = time.time()
    client = _client()
    if client is None:
        return {uid: any(exp >= now for exp in _local.get(uid, {}).values()) for uid in user_ids}
    async with client.pipeline(transaction=False) as pipe:
        for uid in user_ids:
            pipe.zcount(_prefix() + str(uid), now, "+inf")
        counts = await pipe.execute()
    return {uid: int(count) > 0 for uid, count in zip(user_ids, counts, strict=True)}
