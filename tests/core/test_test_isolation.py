"""A test run never touches the Redis keys of an OfficeHub running on the same machine."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache

from tests.conftest import APP_REDIS_PREFIX, TEST_REDIS_PREFIX, reset_api_throttles
from tests.needs import missing


def _redis() -> Any:
    client_getter = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_getter is None:
        missing("Redis (OFFICEHUB_REDIS_URL is unset)", install="the Debian package redis-server (scripts/test.sh starts it)")
    return client_getter(write=True)


def test_tests_use_their_own_redis_prefix_for_the_cache_and_the_channel_layer() -> None:
    assert TEST_REDIS_PREFIX != APP_REDIS_PREFIX and TEST_REDIS_PREFIX.endswith("-test")
    assert cache.key_prefix == TEST_REDIS_PREFIX
    if "CONFIG" in settings.CHANNEL_LAYERS["default"]:
        assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] == TEST_REDIS_PREFIX


def test_resetting_throttles_leaves_a_running_apps_keys_alone() -> None:
    redis = _redis()
    app_key = f"{APP_REDIS_PREFIX}:1:throttle_user_{uuid.uuid4().hex}"
    test_key = cache.make_key(f"throttle_user_{uuid.uuid4().hex}")
    redis.set(app_key, b"[]", ex=60)
    cache.set(test_key.split(":", 2)[2], [], 60)
    try:
        reset_api_throttles()
        assert redis.exists(app_key) == 1, "the running app's throttle history was deleted"
        assert redis.exists(test_key) == 0, "the tests' own throttle history was kept"
    finally:
        redis.delete(app_key)


def test_writes_from_tests_land_under_the_test_prefix() -> None:
    redis = _redis()
    name = f"isolation-{uuid.uuid4().hex}"
    cache.set(name, 1, 60)
    try:
        assert redis.exists(cache.make_key(name)) == 1
        assert cache.make_key(name).startswith(f"{TEST_REDIS_PREFIX}:")
        assert not list(redis.scan_iter(match=f"{APP_REDIS_PREFIX}:*{name}"))
    finally:
        cache.delete(name)
