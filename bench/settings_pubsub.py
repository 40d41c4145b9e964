"""Bench-only settings: OfficeHub's settings with the Redis pub/sub channel layer, to
measure group fan-out done once per process instead of once per member
(``bench/messaging.py --layer pubsub``). Not used by any deployment."""

from officehub.settings import *  # noqa: F403
from officehub.settings import CHANNEL_LAYERS, REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        },
    }
}
