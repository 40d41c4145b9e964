"""Token-bucket rate limits shared by every process (Redis), one round trip per check.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each
action takes one. That admits what people and programs really do — a person typing fast,
a script posting a burst of 50 — while holding the long-run rate, and unlike a fixed
per-minute window it never lets twice the limit through across a window boundary. The
refusal says when the next token arrives (``retry_after``), so clients can wait exactly.

DRF's own throttles keep a list of every request time per user in the cache and rewrite
it on each request (O(requests per window)); ``BucketThrottle`` replaces them with the
same one-step bucket.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

# KEYS[1] bucket; ARGV: rate per second, burst, now (s), cost. Returns {allowed, retry_after_ms}.
_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the next token; 0 when allowed


_local_lock = threading.Lock()
_local: dict[str, tuple[float, float]] = {}
_script: Any = None


def _redis() -> Any | None:
    getter = getattr(getattr(cache, "_cache", None), "get_client", None)
    return getter(write=True) if getter is not None else None


def take(key: str, *, rate_per_second: float, burst: int) -> Decision:
    """Take one token from bucket ``key``; never raises for a cache outage (it allows)."""
    now = time.time()
    client = _redis()
    if client is None:
        return _take_local(key, rate_per_second, burst, now)
    global _script
    try:
        if _script is None:
            _script = client.register_script(_LUA)
        allowed, wait_ms = _script(keys=[f"{cache.key_prefix}:rl:{key}"], args=[rate_per_second, burst, now, 1],
                                   client=client)
    except Exception:  # noqa: BLE001 - a limiter outage must not take the service down
        return Decision(True, 0.0)
    return Decision(bool(allowed), 0.0 if allowed else int(wait_ms) / 1000)


def _take_local(key: str, rate: float, burst: int, now: float) -> Decision:
    """One process only (no Redis: a newcomer's first run)."""
    with _local_lock:
        tokens, at = _local.get(key, (float(burst), now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        if tokens >= 1:
            _local[key] = (tokens - 1, now)
            return Decision(True, 0.0)
        _local[key] = (tokens, now)
        return Decision(False, math.ceil((1 - tokens) / rate * 1000) / 1000)


def parse_rate(text: str) -> tuple[float, int]:
    """``"2000/min"`` or ``"2000/min burst 300"`` -> (tokens per second, burst)."""
    head, _, burst_text = text.partition(" burst ")
    count_text, _, period = head.partition("/")
    count = int(count_text)
    seconds = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}[period.strip()]
    burst = int(burst_text) if burst_text else count
    return count / seconds, max(1, burst)


class BucketThrottle(BaseThrottle):
    """DRF throttle over ``take``; the class's ``scope`` names a rate in DEFAULT_THROTTLE_RATES."""

    scope = "user"

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def ident_for(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = self.scope
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(scope)
        ident = self.ident_for(request)
        if rate is None or ident is None:
            return True
        rate_per_second, burst = parse_rate(rate)
        decision = take(f"{scope}:{ident}", rate_per_second=rate_per_second, burst=burst)
        self.retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return self.retry_after


class UserBucketThrottle(BucketThrottle):
    """Signed-in users, per user."""

    scope = "user"

    def ident_for(self, request: Request) -> str | None:
        user = request.user
        return str(user.pk) if user and user.is_authenticated else None


class AnonBucketThrottle(BucketThrottle):
    """Anonymous clients, per address."""

    scope = "anon"

    def ident_for(self, request: Request) -> str | None:
        user = request.user
        if user and user.is_authenticated:
            return None
        return self.get_ident(request)
