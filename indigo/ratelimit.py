"""A fixed-window counter in the shared cache: how many times a key was hit in the current window.

One round trip on Redis (SET NX with the expiry, then INCR, pipelined: Django's add + incr would take three); the
other cache backends are local, so add + incr cost nothing there. This module alone knows the Redis details.

The counter is an optimisation of protection, never a condition of service: when the cache cannot count, the hit
is let through (`count` is None) and the process logs it at most once a window, so an outage of Redis never takes
a feature down with it.
"""

import datetime as dt
import logging
import math
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

_warned_at: dict[str, float] = {}  # per prefix: when this process last said that the cache cannot count


@dataclass(frozen=True)
class WindowHit:
    count: int | None  # this hit's number in its window; None when the cache could not count it
    retry_after: int  # seconds until the window ends

    def over(self, limit: int) -> bool:
        return self.count is not None and self.count > limit


def _incr(key: str, timeout: int) -> int | None:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(key)

        def count() -> int:
            pipeline = cache._cache.get_client(redis_key, write=True).pipeline(transaction=False)
            pipeline.set(redis_key, 0, ex=timeout, nx=True)
            pipeline.incr(redis_key)
            return pipeline.execute()[1]

        # indigo.cache.TolerantRedisCache keeps the outage state (it skips a Redis known to be down and logs the
        # outage once): count through it. A plain RedisCache raises, which the caller logs.
        attempt = getattr(cache, "attempt", None)
        return attempt(count, None) if attempt is not None else count()
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this hit opens a new counter
        cache.add(key, 1, timeout)
        return 1


def window_hit(*, prefix: str, key: str, window: int, at: dt.datetime) -> WindowHit:
    """Count one hit of `key` in the `window`-second window that holds `at`."""
    moment = at.timestamp()
    index = int(moment // window)
    retry_after = max(1, math.ceil((index + 1) * window - moment))
    try:
        count = _incr(f"{prefix}:{key}:{index}", window + 5)
    except Exception:  # any cache failure: Redis down, a timeout, an unwritable file cache
        if moment - _warned_at.get(prefix, 0.0) >= window:
            _warned_at[prefix] = moment
            logger.warning("%s: not limited, the cache is unreachable", prefix, exc_info=True)
        count = None
    return WindowHit(count=count, retry_after=retry_after)
