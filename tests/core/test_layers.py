"""The channel layer (officehub/layers.py) on the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from officehub.layers import RESYNC, OfficeHubChannelLayer, process_name

pytestmark = pytest.mark.asyncio


def new_layer(**config: object) -> OfficeHubChannelLayer:
    base = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    base["prefix"] = f"{base['prefix']}-layer-{uuid.uuid4().hex[:6]}"
    base.update(config)
    return OfficeHubChannelLayer(**base)


def redis_url() -> str:
    assert settings.REDIS_URL, "these tests need Redis (OFFICEHUB_REDIS_URL)"
    return settings.REDIS_URL


async def numsub(layer: OfficeHubChannelLayer, group: str) -> int:
    client = aioredis.Redis.from_url(redis_url())
    try:
        name = layer._get_layer()._get_group_channel_name(group)
        return int(dict(await client.pubsub_numsub(name))[name.encode()])
    finally:
        await client.aclose()


async def test_a_thousand_groups_are_joined_in_one_go_and_each_delivers() -> None:
    layer = new_layer()
    channel = await layer.new_channel()
    groups = [f"conversation.{i}" for i in range(1000)]
    await layer.group_add_many(groups, channel)
    assert await numsub(layer, groups[-1]) == 1  # confirmed by Redis before returning
    await layer.group_send(groups[-1], {"type": "chat.message", "text": "最后一个"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["text"] == "最后一个"
    await layer.flush()


async def test_a_consumer_that_stops_receiving_leaves_every_group() -> None:
    layer = new_layer()
    channel = await layer.new_channel()
    await layer.group_add_many(["a", "b", "c"], channel)
    receiver = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.05)
    receiver.cancel()  # what Channels does when a consumer closes or its handler crashes
    with pytest.raises(asyncio.CancelledError):
        await receiver
    inner = layer._get_layer()
    assert inner.groups == {} and channel not in inner.memberships
    assert [await numsub(layer, g) for g in ("a", "b", "c")] == [0, 0, 0]
    await layer.flush()


async def test_a_socket_that_falls_behind_gets_one_resync_instead_of_a_backlog() -> None:
    layer = new_layer(capacity=3)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    for i in range(10):
        await layer.group_send("g", {"type": "chat.message", "n": i})
    await asyncio.sleep(0.3)
    frames = []
    while True:
        try:
            frames.append(await asyncio.wait_for(layer.receive(channel), 0.3))
        except TimeoutError:
            break
    assert RESYNC in frames and len(frames) <= 3
    await layer.flush()


async def test_a_killed_subscription_is_restored_and_every_local_channel_told_to_resync() -> None:
    layer = new_layer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    admin = aioredis.Redis.from_url(redis_url())
    killed = 0
    for entry in await admin.client_list():
        if entry.get("name") == process_name() and int(entry.get("sub", 0)) > 0:  # the subscription
            await admin.client_kill_filter(_id=entry["id"])
            killed += 1
    await admin.aclose()
    assert killed >= 1
    assert await asyncio.wait_for(layer.receive(channel), 10) == RESYNC
    # Subscribed again: a message sent now arrives.
    for _ in range(50):
        if await numsub(layer, "g") == 1:
            break
        await asyncio.sleep(0.1)
    await layer.group_send("g", {"type": "chat.message", "text": "恢复"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["text"] == "恢复"
    await layer.flush()
