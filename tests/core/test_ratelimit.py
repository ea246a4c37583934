"""Rate-limit counters that nothing evicts (core/ratelimit.py), on the default SQLite file and on Redis."""

import multiprocessing
import uuid

import pytest
from django.core.cache import caches

from core import ratelimit
from core.net import client_network
from core.ratelimit import Limit
from tests.jobs.test_worker_live import redis_answers, redis_url


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.skipif(not redis_answers(),
                                                                                    reason="no Redis at 127.0.0.1:6379"))])
def store_url(request, settings, tmp_path):
    settings.RATELIMIT_URL = f"sqlite:///{tmp_path / 'rates.sqlite3'}" if request.param == "sqlite" else redis_url()
    yield settings.RATELIMIT_URL
    ratelimit.store().clear()


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_limit_survives_a_flood_of_other_keys(store_url):
    """The tenth attack's way to reset every quota was to fill the cache with fresh keys until it culled."""
    mine, limit = key(), Limit(3, 60)
    first = [ratelimit.hit(mine, limit, now=1000.0) for _ in range(2)]
    for i in range(5000):
        ratelimit.hit(f"flood:{i}", limit, now=1000.0)
    later = [ratelimit.hit(mine, limit, now=1001.0) for _ in range(2)]

    assert first == [0, 0]
    assert later == [0, 19]  # the third is allowed, the fourth waits for the window (960-1020) to end
    assert ratelimit.hit(mine, limit, now=1080.0) == 0  # a new window


def test_a_rolling_day_counts_by_the_hour(store_url):
    """24 slices of an hour: a creation leaves the count 24 hours (to the hour) after it was made."""
    mine, day = key(), Limit(2, 24 * 3600, buckets=24)
    t0 = 10 * 3600.0
    taken = [ratelimit.take(mine, day, now=t0), ratelimit.take(mine, day, now=t0 + 3600)]
    refused = ratelimit.take(mine, day, now=t0 + 2 * 3600)
    refused_again = ratelimit.take(mine, day, now=t0 + 24 * 3600 - 1)
    after_a_day = ratelimit.take(mine, day, now=t0 + 24 * 3600)
    full_again = ratelimit.take(mine, day, now=t0 + 24 * 3600 + 1)

    assert taken == [0, 0]
    assert refused == 22 * 3600  # the first creation's hour leaves the window at t0 + 24 h
    assert refused_again == 1
    assert (after_a_day, full_again) == (0, 3599)  # then the second creation's hour has to leave


def test_take_does_not_count_what_it_refuses_and_hit_does(store_url):
    taker, hitter, limit = key(), key(), Limit(1, 60)

    takes = [ratelimit.take(taker, limit, now=5.0) for _ in range(3)]
    hits = [ratelimit.hit(hitter, limit, now=5.0) for _ in range(3)]

    assert takes == [0, 55, 55] and hits == [0, 55, 55]
    assert ratelimit.store().add(taker, 0, 0, 100, 99)[1] == {0: 2}  # 1 taken (+1 just now), refusals not kept
    assert ratelimit.store().add(hitter, 0, 0, 100, 99)[1] == {0: 4}  # 3 hits (+1 just now)


def test_a_hit_of_several_counts_them_all(store_url):
    """A request doing the work of several (an SRU query of many searches) counts as that many."""
    mine, limit = key(), Limit(10, 60)

    answers = [ratelimit.hit(mine, limit, now=5.0, cost=4) for _ in range(3)]  # 4, 8, 12 of 10

    assert answers == [0, 0, 55]
    assert ratelimit.hit(mine, limit, now=5.0) == 55  # one more is over too: all 12 were counted
    assert ratelimit.store().add(mine, 0, 0, 100, 99)[1] == {0: 14}
    with pytest.raises(ValueError):
        ratelimit.hit(mine, limit, now=5.0, cost=0)


def _take_many(url: str, name: str, count: int, queue) -> None:
    from django.conf import settings

    settings.RATELIMIT_URL = url
    queue.put(sum(1 for _ in range(count) if ratelimit.take(name, Limit(15, 3600)) == 0))


@pytest.mark.parametrize("processes", [4])
def test_parallel_takers_never_exceed_the_limit(store_url, processes):
    """Four processes take 10 each from a limit of 15: exactly 15 are granted, none twice."""
    name = key()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_take_many, args=(store_url, name, 10, queue)) for _ in range(processes)]
    ratelimit.close_stores()  # children must not share this process's connection
    for worker in workers:
        worker.start()
    granted = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert sum(granted) == 15


def test_ipv6_clients_are_counted_by_their_64_network():
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert client_network("2001:db8:1:2::1") != client_network("2001:db8:1:3::1")
    assert client_network("::ffff:198.51.100.7") == client_network("198.51.100.7") == "198.51.100.7"
    assert client_network(None) is client_network("not an address") is None


# --- through the search API -------------------------------------------------------------------------------


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def search_from(api, address: str) -> int:
    return api.get("/api/v1/search", {"q": "担保"}, headers={"X-Forwarded-For": address}).status_code


def test_one_ipv6_network_shares_one_search_limit(db, anon_api, settings, behind_proxy):
    settings.SEARCH_RATE_ANONYMOUS = 2

    same_network = [search_from(anon_api, f"2001:db8:5:6::{i}") for i in range(1, 4)]
    next_network = search_from(anon_api, "2001:db8:5:7::1")

    assert (same_network, next_network) == ([200, 200, 429], 200)


def test_anonymous_searches_leave_the_cache_alone_and_their_limits_stand(db, anon_api, settings, behind_proxy):
    """A flood of searches from fresh addresses writes no cache entries (which a full cache would cull at
    random, the limits with them) and does not free the quota of an address already at its limit."""
    import time_machine

    settings.SEARCH_RATE_ANONYMOUS = 1
    cache_files = len(caches["default"]._list_cache_files())

    # Time stands still: on a loaded machine the 300 searches took long enough for the minute to pass.
    with time_machine.travel(1_800_000_000, tick=False):
        limited = [search_from(anon_api, "198.51.100.9") for _ in range(2)]
        flood = {search_from(anon_api, f"10.1.{i // 250}.{i % 250}") for i in range(300)}
        still_limited = search_from(anon_api, "198.51.100.9")

    assert (limited, flood, still_limited) == ([200, 429], {200}, 429)
    assert len(caches["default"]._list_cache_files()) == cache_files
