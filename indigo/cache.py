"""A Redis cache that degrades to the database when Redis is down (issue 7, Faults).

Everything the portal caches can be rebuilt from the database (the calendar, the registry), so an unreachable
Redis must cost a page nothing but the cache: a connection error, a timeout or any other Redis error is a miss
for a read and a no-op for a write. Redis is given short socket timeouts, and after a failure the backend does
not try again for ``DOWN_RECHECK_SECONDS``, so a dead or black-holed Redis costs milliseconds, not a timeout per
call.

What degrades while Redis is down, and why that is acceptable:

- ``add`` answers True (as if stored): nothing that must hold relies on it (the staff release form's
  double-submit token is a database row, placement.ReleaseSubmission).
- ``incr``/``decr`` raise ValueError, Django's answer for a missing key: a counter kept in the cache (the claim
  attempts per parent) starts again. No security limit of the portal lives only in the cache: the OTP and login
  limits count database rows (accounts/services/otp.py) and sessions live in the database.
- An invalidation (``delete``, a version ``set``) made during the outage is lost. So that no entry written
  before the outage is served after it, the first operation after an outage in which a write was lost deletes
  every entry of this cache (its key prefix only: the Celery broker's keys in the same Redis database are left
  alone) before it reads anything. An outage that lost only reads (a timeout at peak load) drops nothing, so a
  hiccup never sends the whole load to the database. Another process's lost write is bounded by the entries'
  own expiry (the registry's ``SAFETY_TIMEOUT``).

The process logs one warning when Redis becomes unreachable (then at most one a minute while it stays down)
and one line when it answers again.
"""

import logging
import threading
import time
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger("indigo.cache")

# Refused, reset or timed out, and also a Redis that answers but cannot serve (out of memory, a read-only replica
# after a failover, something else listening on the port): for a cache of copies, all the same.
UNREACHABLE = (RedisError,)

# Redis answers a healthy GET or SET in well under a millisecond; these only bound what a dead one costs.
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
DEFAULT_DOWN_RECHECK_SECONDS = 1.0
WARNING_INTERVAL_SECONDS = 60.0
_FLUSH_BATCH = 500


def _glob_escape(text: str) -> str:
    return "".join(f"[{char}]" if char in "*?[]\\" else char for char in text)


def _where(servers: list[str]) -> str:
    """host:port of each server, without the password a URL may carry."""
    return ",".join(urlsplit(server).netloc.rpartition("@")[2] or server for server in servers)


class _Outage:
    """What every thread's copy of one cache (Django keeps one backend object per thread) knows about Redis."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_since: float | None = None  # monotonic; None while Redis answers
        self.retry_at = 0.0  # no attempt before this monotonic moment
        self.warned_at = -WARNING_INTERVAL_SECONDS
        self.stale = False  # writes or invalidations were lost: drop every entry before the next use


_outages: dict[tuple[str, str], _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(servers: list[str], key_prefix: str) -> _Outage:
    key = (",".join(servers), key_prefix)
    with _outages_lock:
        return _outages.setdefault(key, _Outage())


class _ReusedClient(RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` around the pool for every operation (a fifth of a cached
    registry hit); one per pool does the same work, since the pool does the connecting."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class TolerantRedisCache(RedisCache):
    """Django's RedisCache for which an unreachable Redis is a miss (reads) or a no-op (writes)."""

    def __init__(self, server, params):
        options = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        self.down_recheck_seconds = float(options.pop("DOWN_RECHECK_SECONDS", DEFAULT_DOWN_RECHECK_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _ReusedClient
        self._outage = _outage_for(self._servers, self.key_prefix)

    # --- the outage state ------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while this process holds Redis for down (for a caller that must fail closed without it)."""
        return self._outage.down_since is None or time.monotonic() >= self._outage.retry_at

    def _failed(self, exc: Exception, *, lost_write: bool) -> None:
        outage, now = self._outage, time.monotonic()
        with outage.lock:
            first = outage.down_since is None
            if first:
                outage.down_since = now
            outage.retry_at = now + self.down_recheck_seconds
            # Only a lost write or invalidation can leave an entry stale; a failed read (a timeout at peak load)
            # must not make the recovery drop every entry and send the whole load to the database.
            outage.stale = outage.stale or lost_write
            warn = first or now - outage.warned_at >= WARNING_INTERVAL_SECONDS
            if warn:
                outage.warned_at = now
        if warn:
            logger.warning(
                "cache unreachable at %s (%s: %s): reads miss and writes are skipped until it answers; "
                "counters kept in the cache start again",
                _where(self._servers),
                exc.__class__.__name__,
                exc,
            )

    def _ready(self) -> bool:
        """Whether to talk to Redis now; after an outage, first drop the entries it may have left stale."""
        outage = self._outage
        if outage.down_since is not None and time.monotonic() < outage.retry_at:
            return False
        if not outage.stale:
            return True
        with outage.lock:
            if not outage.stale:
                return True
            failure, dropped = None, 0
            try:
                dropped = self._drop_all_entries()
            except UNREACHABLE as exc:
                failure = exc
            else:
                outage.stale = False
        if failure is None:
            self._recovered(dropped=dropped)
            return True
        self._failed(failure, lost_write=True)
        return False

    def _drop_all_entries(self) -> int:
        """Delete this cache's keys (``<prefix>:<version>:<key>``), never another user's of the same database."""
        client = self._cache.get_client(None, write=True)
        pattern = f"{_glob_escape(self.key_prefix)}:*"
        dropped, batch = 0, []
        for key in client.scan_iter(match=pattern, count=_FLUSH_BATCH):
            batch.append(key)
            if len(batch) >= _FLUSH_BATCH:
                dropped += client.unlink(*batch)
                batch = []
        if batch:
            dropped += client.unlink(*batch)
        return dropped

    def attempt(self, operation, fallback, *, write: bool = False):
        """`operation()`, or `fallback` while Redis is down (for callers that talk to the Redis client directly).
        `write`: the operation stores or invalidates an entry, so losing it may leave another entry stale."""
        if not self._ready():
            if write:
                with self._outage.lock:
                    self._outage.stale = True
            return fallback
        try:
            result = operation()
        except UNREACHABLE as exc:
            self._failed(exc, lost_write=write)
            return fallback
        if self._outage.down_since is not None:  # answered again after failures that lost no write
            self._recovered(dropped=0)
        return result

    def _recovered(self, *, dropped: int) -> None:
        outage = self._outage
        with outage.lock:
            if outage.down_since is None:
                return
            down_for = time.monotonic() - outage.down_since
            outage.down_since = None
        logger.info(
            "cache reachable again at %s after %.1f s; dropped %d entries that may have gone stale",
            _where(self._servers),
            down_for,
            dropped,
        )

    def ping(self) -> None:
        """Ask Redis itself, whatever the outage state (for /readyz); raises when it does not answer."""
        try:
            self._cache.get_client(None, write=True).ping()
        except UNREACHABLE as exc:
            self._failed(exc, lost_write=False)
            raise
        with self._outage.lock:
            self._outage.retry_at = 0.0  # answered: the next operation may use it (after dropping stale entries)

    # --- Django's cache API ---------------------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.attempt(lambda: RedisCache.add(self, key, value, timeout, version), True, write=True)

    def get(self, key, default=None, version=None):
        return self.attempt(lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.attempt(lambda: RedisCache.set(self, key, value, timeout, version), None, write=True)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.attempt(lambda: RedisCache.touch(self, key, timeout, version), False, write=True)

    def delete(self, key, version=None):
        return self.attempt(lambda: RedisCache.delete(self, key, version), False, write=True)

    def get_many(self, keys, version=None):
        return self.attempt(lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key, version=None):
        return self.attempt(lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key, delta=1, version=None):
        missing = object()
        value = self.attempt(lambda: RedisCache.incr(self, key, delta, version), missing, write=True)
        if value is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable).")
        return value

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.attempt(lambda: RedisCache.set_many(self, data, timeout, version), list(data), write=True)

    def delete_many(self, keys, version=None):
        return self.attempt(lambda: RedisCache.delete_many(self, keys, version), None, write=True)

    def clear(self):
        """Drop this cache's entries only: Django's RedisCache would FLUSHDB, and with it the broker's queues."""
        return self.attempt(lambda: self._drop_all_entries() >= 0, False, write=True)
