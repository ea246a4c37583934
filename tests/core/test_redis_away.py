"""Several nodes keep their caches and rate limits on Redis (CACHE_URL, RATELIMIT_URL).  A Redis that does not
answer must not turn pages into 500s: the caches are done without (a page is computed as on a cold cache), the
rate limits of searches fail open (answered unlimited, a warning logged) and those of logins fail closed (503 with
Retry-After, as an unreachable database does)."""

import pytest
from django.core.cache import caches
from django.test import Client

from library.services import book_create, paper_create
from tests.live import free_port

pytestmark = pytest.mark.django_db


def nobody_listening() -> str:
    return f"redis://127.0.0.1:{free_port()}/1"


def test_pages_work_without_their_caches_while_redis_is_away(settings, judge):
    url = nobody_listening()
    settings.CACHES = {alias: {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": url, "KEY_PREFIX": alias}
                       for alias in ("default", "feeds")}
    book = book_create(title="担保法", subjects=["担保"])
    paper = paper_create(title="担保调研", keywords=["担保"], visibility="public", created_by=judge)
    anonymous = Client()

    related = anonymous.get(f"/api/v1/books/{book.pk}/related")
    page = anonymous.get(f"/books/{book.pk}")
    feed = anonymous.get("/calendar/events.ics")

    assert related.status_code == 200
    assert [(i["type"], i["id"]) for i in related.json()["subjects"]] == [("paper", paper.pk)]
    assert page.status_code == 200 and "担保调研" in page.content.decode()
    assert (feed.status_code, feed["Content-Type"]) == (200, "text/calendar; charset=utf-8")
    assert caches["default"].get("anything", "missing") == "missing"
    assert caches["default"].add("anything", 1) is False


def test_logins_fail_closed_while_the_rate_limit_redis_is_away_503_not_500(settings, judge):
    """A password guesser must never find the login limit gone: logins answer 503, as with the database away."""
    settings.RATELIMIT_URL = nobody_listening()

    api = Client().post("/api/v1/auth/token", {"username": judge.username, "password": "secret-pass-1"},
                        content_type="application/json")
    page = Client(raise_request_exception=False).post("/login/", {"username": judge.username,
                                                                           "password": "secret-pass-1"})

    assert (api.status_code, api.json(), api["Retry-After"]) == (
        503, {"detail": "服务暂时不可用，请稍后再试", "code": "unavailable"}, "10")
    assert (page.status_code, page["Retry-After"]) == (503, "10")
    assert "Traceback" not in page.content.decode()


def test_searches_and_the_home_page_fail_open_while_the_rate_limit_redis_is_away(settings, caplog, monkeypatch):
    """The home page answered 503 while the rate-limit Redis was away (issue 21), and so did every search: a
    reading page goes on without its limit, with a warning in the log (once a minute), and after a failure the
    process leaves the store alone for a few seconds (a Redis that hangs would cost every search its timeout)."""
    from core import ratelimit
    from search_index.services import index_rebuild

    monkeypatch.setattr(ratelimit, "away", ratelimit.StayAway(ratelimit.AWAY_SECONDS, ratelimit.logger))
    settings.RATELIMIT_URL = nobody_listening()
    book = book_create(title="担保法", subjects=["担保"])
    index_rebuild()
    tried = []
    real_add = ratelimit._add
    monkeypatch.setattr(ratelimit, "_add", lambda *a, **k: tried.append(a[0]) or real_add(*a, **k))

    with caplog.at_level("WARNING", logger="core.ratelimit"):
        api = Client().get("/api/v1/search", {"q": "担保"})
        page = Client().get("/", {"q": "担保"})
        home = Client().get("/")

    assert api.status_code == 200 and [i["title"] for i in api.json()["items"]] == ["担保法"]
    assert page.status_code == 200 and f'href="/books/{book.pk}"' in page.content.decode()
    assert home.status_code == 200
    assert len(tried) == 1  # the first search found the store away; the next ones did not wait for it again
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.ratelimit"]
    assert len(warnings) == 1 and warnings[0].startswith("rate-limit store unavailable, search not limited")


def test_sru_and_oai_answer_while_the_rate_limit_redis_is_away(settings, monkeypatch):
    """SRU and OAI-PMH read only the public catalogue: they failed closed (503) while the rate-limit store was away,
    stopping the city library's harvester with it; now they fail open, as searches do."""
    from core import ratelimit

    monkeypatch.setattr(ratelimit, "away", ratelimit.StayAway(ratelimit.AWAY_SECONDS, ratelimit.logger))
    settings.RATELIMIT_URL = nobody_listening()
    settings.INTEROP_RATE = 60
    book_create(title="担保法", subjects=["担保"])

    sru = Client().get("/sru", {"operation": "searchRetrieve", "version": "1.2", "query": "dc.title=担保法"})
    oai = Client().get("/oai", {"verb": "Identify"})

    assert sru.status_code == 200 and "numberOfRecords>1</" in sru.content.decode()
    assert oai.status_code == 200 and "<Identify>" in oai.content.decode(), oai.content


def test_after_a_failure_the_cache_leaves_redis_alone_for_a_while_then_tries_again(settings, monkeypatch):
    """A Redis that hangs cost every cache call its 2 s timeout: a book page (several calls) took 12 s on a node
    whose Redis hung, every sync worker waiting (attack round 21).  After a failure each process now skips Redis
    for RETRY_SECONDS — reads miss, writes are skipped at once — and deletions are still tried."""
    from django.core.cache.backends.redis import RedisCache
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from core import away
    from core import cache as tolerant

    settings.CACHES = {"default": {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": nobody_listening()}}
    now = [1000.0]
    monkeypatch.setattr(away.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(tolerant, "away", tolerant.StayAway(tolerant.RETRY_SECONDS, tolerant.logger))
    calls = []

    def hangs(name):
        def call(self, *args, **kwargs):
            calls.append(name)
            raise RedisTimeoutError("Timeout reading from socket")
        return call

    for name in ("get", "get_many", "add", "set", "delete"):
        monkeypatch.setattr(RedisCache, name, hangs(name))
    cache = caches["default"]

    assert cache.get("a", "miss") == "miss"
    assert (cache.get("a", "miss"), cache.get_many(["a", "b"]), cache.add("a", 1), cache.set("a", 1)) == (
        "miss", {}, False, None)
    assert calls == ["get"]  # one wait, not five
    assert cache.delete("a") is False and calls == ["get", "delete"]  # forgetting a stale entry is still tried
    now[0] += tolerant.RETRY_SECONDS + 0.1
    assert cache.get("a", "miss") == "miss" and calls == ["get", "delete", "get"]  # tried again


def test_a_job_handed_to_a_redis_that_never_answers_costs_the_request_seconds_not_a_hang(
        settings, librarian, django_capture_on_commit_callbacks, caplog):
    """TASKS_URL's connection had no timeout of its own (django-rq passes only the URL to redis-py, whose default
    is 5 s in redis-py 8 and none before): a Redis that accepts and never answers held the request that queued a
    job — here the admin's rebuild button — that long.  Now the hand-over gives up after TASKS_REDIS_SECONDS and
    the job waits in its row for the workers' recovery, as with a Redis that is down; the request is answered
    as usual (its job was committed: a 503 would say the write failed)."""
    import socket
    import threading
    import time

    from django.urls import reverse

    from jobs.models import Job
    from shuyuan.settings import TASKS_REDIS_SECONDS, rq_queues

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    guard = threading.Timer(30, silent.close)  # a regression fails the test after 30 s instead of hanging it
    guard.start()
    try:
        settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
        settings.RQ_QUEUES = rq_queues(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        client = Client()
        client.force_login(librarian)
        started = time.monotonic()
        with caplog.at_level("WARNING", logger="jobs.services"), django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("admin:search_index_rebuild"))
        elapsed = time.monotonic() - started
    finally:
        guard.cancel()
        silent.close()

    assert response.status_code == 302 and elapsed < TASKS_REDIS_SECONDS + 2
    job = Job.objects.get()
    assert (job.state, job.enqueued_at) == (Job.State.QUEUED, None)  # handed over later by jobs_recover
    assert "could not be handed to the task backend" in caplog.text


def test_a_store_left_alone_after_a_failure_is_tried_again_later_and_warned_of_once_a_minute(monkeypatch, caplog):
    """The cache and the rate limits share one rule (core.away): after a failure, skip the store for a few
    seconds; warn at most once a minute."""
    import logging

    from core import away

    now = [1000.0]
    monkeypatch.setattr(away.time, "monotonic", lambda: now[0])
    store = away.StayAway(5, logging.getLogger("test.away"))

    with caplog.at_level("WARNING", logger="test.away"):
        assert not store.skipping()
        store.failed("store away: %s", "first")
        assert store.skipping()
        now[0] += 5
        assert not store.skipping()
        store.failed("store away: %s", "second")  # within the minute: not logged again
        now[0] += 60
        store.failed("store away: %s", "third")

    assert [r.getMessage() for r in caplog.records] == ["store away: first", "store away: third"]
