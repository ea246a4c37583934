"""Rate-limit counters that nothing evicts.

A full Django file cache deletes a third of its entries at random, and a database cache deletes the first
keys in key order: either way an attacker who fills the cache with fresh keys (one search from each of many
addresses) wipes everyone's counters and starts a new quota.  These counters live in a store of their own
where an entry leaves only when its window has passed:

- ``RATELIMIT_URL=sqlite:///path`` (default ``CACHE_DIR/ratelimits.sqlite3``): one small SQLite file shared
  by every process on the machine, written with an atomic upsert (so counting is exact, unlike the file
  cache's unlocked ``incr``) and kept in WAL mode away from the main database's write lock;
- ``RATELIMIT_URL=redis://host:6379/n``: Redis ``INCRBY`` with an expiry, for several app servers.

A limit of ``limit`` per ``window`` seconds is counted in ``buckets`` equal slices of the window; the count is
the sum of the slices still inside the window (one slice: a fixed window; 24 slices of a day: a rolling day
to the hour).

While the store does not answer (a Redis that is away or hangs) each route decides (docs/deploy.md, section 9):
reading routes pass ``fail_open=True`` — searches go on unlimited and a warning is logged at most once a minute
per process, and after a failure the process leaves the store alone for ``AWAY_SECONDS`` (a Redis that hangs
costs a search its timeout now and then, not every search) — while logins, writes and the rest raise, which
answers 503 with Retry-After (a password guesser must never find the limit gone).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.away import StayAway

logger = logging.getLogger(__name__)

#: Expired rows are deleted at most this often by each process (the upsert never needs them).
PRUNE_EVERY_SECONDS = 60
#: After the store failed, routes that fail open leave it alone this long (they pass at once), then try again.
AWAY_SECONDS = 5
#: This process's view of the store, for the routes that fail open.
away = StayAway(AWAY_SECONDS, logger)


def _store_errors() -> tuple[type[BaseException], ...]:
    """The exceptions of a store that does not answer (not of a programming error)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError, sqlite3.OperationalError)


@dataclass(frozen=True)
class Limit:
    """``limit`` events per ``window`` seconds, counted in ``buckets`` slices."""

    limit: int
    window: int
    buckets: int = 1

    @property
    def slice(self) -> int:
        return max(1, math.ceil(self.window / self.buckets))


class SQLiteCounters:
    def __init__(self, path: str) -> None:
        self.path = path
        self.pruned_at = 0.0
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS counts (key TEXT NOT NULL, slice INTEGER NOT NULL, n INTEGER NOT NULL,"
            " expires INTEGER NOT NULL, PRIMARY KEY (key, slice)) WITHOUT ROWID;"
            "CREATE INDEX IF NOT EXISTS counts_expires ON counts (expires);"
        )

    def add(self, key: str, current: int, first: int, ttl: int, cap: int | None,
            amount: int = 1) -> tuple[bool, dict[int, int]]:
        """Adds ``amount`` to slice ``current`` of ``key`` — unless ``cap`` is given and the slices ≥ ``first``
        already hold that many; returns whether it was added and those slices' counts afterwards.  The slice is
        kept for ``ttl`` seconds."""
        now = int(time.time())
        self.db.execute("BEGIN IMMEDIATE")  # the read and the upsert see and write the same counts
        try:
            rows = self.db.execute("SELECT slice, n FROM counts WHERE key = ? AND slice >= ?", (key, first)).fetchall()
            counts = dict(rows)
            added = cap is None or sum(counts.values()) < cap
            if added:
                self.db.execute(
                    "INSERT INTO counts (key, slice, n, expires) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (key, slice) DO UPDATE SET n = n + excluded.n",
                    (key, current, amount, now + ttl),
                )
                counts[current] = counts.get(current, 0) + amount
            if now - self.pruned_at >= PRUNE_EVERY_SECONDS:
                self.pruned_at = now
                self.db.execute("DELETE FROM counts WHERE expires < ?", (now,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return added, counts

    def refund(self, key: str, current: int) -> None:
        """Takes one back from slice ``current`` of ``key`` (never below 0)."""
        self.db.execute("UPDATE counts SET n = n - 1 WHERE key = ? AND slice = ? AND n > 0", (key, current))

    def clear(self) -> None:
        self.db.execute("DELETE FROM counts")

    def close(self) -> None:
        self.db.close()

    def size(self) -> int:
        return self.db.execute("SELECT count(*) FROM counts").fetchone()[0]


class RedisCounters:
    def __init__(self, url: str) -> None:
        import redis

        # A Redis that hangs fails the request after these seconds (503, shuyuan/api.py) instead of holding it.
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    def add(self, key: str, current: int, first: int, ttl: int, cap: int | None,
            amount: int = 1) -> tuple[bool, dict[int, int]]:
        slices = list(range(first, current + 1))
        pipe = self.redis.pipeline(transaction=True)
        pipe.incrby(f"rl:{key}:{current}", amount)
        pipe.expire(f"rl:{key}:{current}", ttl)
        pipe.mget([f"rl:{key}:{s}" for s in slices])
        counts = {s: int(n) for s, n in zip(slices, pipe.execute()[-1], strict=True) if n is not None}
        added = cap is None or sum(counts.values()) <= cap
        if not added:  # over the cap: take it back (INCRBY then DECRBY keeps concurrent takers exact)
            self.redis.decrby(f"rl:{key}:{current}", amount)
            counts[current] -= amount
        return added, counts

    def refund(self, key: str, current: int) -> None:
        # DECR only a count above 0 (a slice that expired meanwhile stays gone).
        self.redis.eval("local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
                        "if n > 0 then return redis.call('DECR', KEYS[1]) end return 0", 1, f"rl:{key}:{current}")

    def clear(self) -> None:
        for key in self.redis.scan_iter("rl:*"):
            self.redis.delete(key)

    def close(self) -> None:
        self.redis.close()

    def size(self) -> int:
        return sum(1 for _ in self.redis.scan_iter("rl:*"))


_stores: dict[str, SQLiteCounters | RedisCounters] = {}
_stores_lock = threading.Lock()


def store() -> SQLiteCounters | RedisCounters:
    """The counters at ``settings.RATELIMIT_URL``, one connection per process (a lock guards its use)."""
    url = settings.RATELIMIT_URL
    with _stores_lock:
        if url not in _stores:
            parts = urlsplit(url)
            if parts.scheme == "sqlite":
                _stores[url] = SQLiteCounters(parts.path)
            elif parts.scheme in ("redis", "rediss", "unix"):
                _stores[url] = RedisCounters(url)
            else:
                raise ImproperlyConfigured(f"RATELIMIT_URL must be sqlite:///path or redis://…, not {url!r}")
        return _stores[url]


def close_stores() -> None:
    """Closes every open store (tests give each test a store of its own)."""
    with _stores_lock:
        for opened in _stores.values():
            opened.close()
        _stores.clear()


_use_lock = threading.Lock()


def _add(key: str, limit: Limit, cap: int | None, now: float, amount: int = 1) -> tuple[bool, dict[int, int]]:
    size = limit.slice
    current = int(now // size)
    with _use_lock:  # a gthread worker's threads share the connection
        return store().add(key, current, current - limit.buckets + 1, limit.buckets * size + 5, cap, amount)


def _seconds_until_room(counts: dict[int, int], limit: Limit, now: float) -> int:
    """Seconds until enough of the oldest slices have left the window for one more event to fit."""
    total = sum(counts.values())
    for s in sorted(counts):
        total -= counts[s]
        if total < limit.limit:
            return max(1, math.ceil((s + limit.buckets) * limit.slice - now))
    return 1  # pragma: no cover - the last slice always brings the total to 0


def hit(key: str, limit: Limit, *, now: float | None = None, cost: int = 1, fail_open: bool = False) -> int:
    """Counts one event for ``key`` (``cost`` events: a request that does the work of several): 0 when the
    count is within ``limit``, else the seconds until another would be.  A refused event is counted too, so
    hammering does not find the gap (for requests).  With ``fail_open`` a store that does not answer lets the
    event pass (0, a warning logged) instead of raising."""
    if cost < 1:
        raise ValueError(f"cost must be at least 1, not {cost}")
    now = time.time() if now is None else now
    if fail_open:
        if away.skipping():
            return 0
        try:
            _, counts = _add(key, limit, None, now, cost)
        except _store_errors() as exc:
            away.failed("rate-limit store unavailable, %s not limited meanwhile: %s: %s", key.split(":", 1)[0],
                        exc.__class__.__name__, exc)
            return 0
    else:
        _, counts = _add(key, limit, None, now, cost)
    return 0 if sum(counts.values()) <= limit.limit else _seconds_until_room(counts, limit, now)


def take(key: str, limit: Limit, *, now: float | None = None) -> int:
    """Counts one event for ``key`` only if it is within ``limit`` (then 0); a refused event is not counted
    and the answer is the seconds until one would be (for things made, such as papers)."""
    now = time.time() if now is None else now
    added, counts = _add(key, limit, limit.limit, now)
    return 0 if added else _seconds_until_room(counts, limit, now)


def refund(key: str, limit: Limit, *, now: float) -> None:
    """Gives back one event ``take`` granted at ``now`` (the act was refused after all: it costs nothing)."""
    with _use_lock:
        store().refund(key, int(now // limit.slice))
