"""The caches on Redis (``CACHE_URL``): Django's own Redis backend, which a Redis that is away does not break.

Both caches hold what can be computed again (related-works lists, rendered calendar feeds), so while Redis does
not answer a page is computed without them, as on a cold cache, instead of failing: a read is a miss, a write is
skipped, and a warning is logged at most once a minute per process.  Connecting and each command give up after
``SOCKET_SECONDS``, and after a failure the process leaves Redis alone for ``RETRY_SECONDS`` (reads miss and
writes are skipped at once; deletions are still tried), so a Redis that hangs costs one request that long every
few seconds, not every cache call of every request.

A deletion skipped while Redis was unreachable (a related-works list a change made stale) is not made up for: if
Redis comes back with its data (a network break rather than a restart), such a list may be served until it
expires (``RELATED_CACHE_SECONDS``).  Feeds are keyed by versions in the database and never go stale.
"""

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.away import StayAway

logger = logging.getLogger(__name__)

#: Seconds to connect to Redis and to wait for each command's answer.
SOCKET_SECONDS = 2
#: After a command failed, this process leaves Redis alone this long (reads are misses, writes skipped at once),
#: then tries again.  A Redis that hangs otherwise cost every cache call SOCKET_SECONDS: a book page makes several,
#: so it took 12 s and a node's sync workers were all waiting (attack round 21).  Deletions are still tried
#: (they forget stale lists).
RETRY_SECONDS = 5
_AWAY = (RedisConnectionError, RedisTimeoutError)
#: This process's view of the cache's Redis.
away = StayAway(RETRY_SECONDS, logger)


def _skipping() -> bool:
    return away.skipping()


def _away(exc: Exception) -> None:
    away.failed("cache unavailable, working without it: %s: %s", exc.__class__.__name__, exc)


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.get("OPTIONS", {})
        params = {**params, "OPTIONS": {"socket_connect_timeout": SOCKET_SECONDS, "socket_timeout": SOCKET_SECONDS,
                                        **options}}
        super().__init__(server, params)

    def get(self, key, default=None, version=None):
        if _skipping():
            return default
        try:
            return super().get(key, default, version)
        except _AWAY as exc:
            _away(exc)
            return default

    def get_many(self, keys, version=None):
        if _skipping():
            return {}
        try:
            return super().get_many(keys, version)
        except _AWAY as exc:
            _away(exc)
            return {}

    def has_key(self, key, version=None):
        if _skipping():
            return False
        try:
            return super().has_key(key, version)
        except _AWAY as exc:
            _away(exc)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if _skipping():
            return False
        try:
            return super().add(key, value, timeout, version)
        except _AWAY as exc:
            _away(exc)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if _skipping():
            return None
        try:
            return super().set(key, value, timeout, version)
        except _AWAY as exc:
            _away(exc)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        if _skipping():
            return list(data)
        try:
            return super().set_many(data, timeout, version)
        except _AWAY as exc:
            _away(exc)
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        if _skipping():
            return False
        try:
            return super().touch(key, timeout, version)
        except _AWAY as exc:
            _away(exc)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except _AWAY as exc:
            _away(exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except _AWAY as exc:
            _away(exc)
