"""Several workers, one truth: a live gunicorn server with four worker processes.

* Search-index updates written by every worker at once all reach the index, applied by two job workers
  at once (none lost to Whoosh's write lock: the losers leave their work in the database queue and the
  lock holder drains it).
* A change made through any worker invalidates the calendar feed in every worker (the cache lives
  in files, keyed by a version in the database — no per-process memory).
The circulation and registration guarantees across processes are tested in
tests/library/test_circulation_parallel.py and tests/events/test_registration_parallel.py."""

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import token_issue
from events.services import EventData, event_create
from search_index import services as search
from search_index.changelog import waiting_here
from tests.conftest import make_user
from tests.jobs.test_worker_live import Worker, wait_for
from tests.live import all_at_once, assert_clean_log, post, worker_pids

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(urllib.parse.quote(url, safe=":/?=&%"), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_index_updates_from_every_worker_reach_the_index(server, tmp_path):
    base, log = server
    search.index_rebuild()
    assert len(worker_pids(base)) == 4
    # Requests only queue index updates; job workers apply them (two, so they contend for the writer).
    job_workers = [Worker(tmp_path, {}, name) for name in ("a", "b")]
    librarians = [make_user(f"cat{i}", Role.LIBRARIAN) for i in range(8)]
    tokens = [token_issue(user=u, name="parallel").raw for u in librarians]
    calls = [lambda t=t, i=i, k=k: post(f"{base}/api/v1/books", t, {"title": f"多进程编目第{i}组第{k}本"})
             for i, t in enumerate(tokens) for k in range(5)]
    try:
        results = all_at_once(calls)
        assert [status for status, _ in results] == [201] * 40
        # Every record is in the index, whichever worker wrote it and whoever held the lock meanwhile.
        wait_for(lambda: not waiting_here(), timeout=120, what="the job workers to apply the change log",
                 logs=[w.log for w in job_workers])
    finally:
        for worker in job_workers:
            worker.stop()
    status, body, _ = get(f"{base}/api/v1/search?q=多进程编目&limit=100")
    assert status == 200, body
    found = json.loads(body)
    assert found["count"] == 40 and waiting_here() == 0
    # …and every worker sees it (each has its own reader; ask more often than there are workers).
    for _ in range(12):
        assert json.loads(get(f"{base}/api/v1/search?q=多进程编目&limit=1")[1])["count"] == 40
    assert_clean_log(log)
    # gunicorn.conf.py: no control socket (every master on the machine would take the same path).
    assert "Control socket" not in log.read_text() and "Starting gunicorn" in log.read_text()


def test_a_change_through_one_worker_refreshes_the_feed_in_every_worker(server, organizer):
    base, log = server
    start = timezone.now() + timedelta(days=4)
    event = event_create(data=EventData(kind="salon", title="读者沙龙：民法典", start=start,
                                        end=start + timedelta(hours=2)), actor=organizer)
    first = [get(f"{base}/calendar/events.ics") for _ in range(12)]  # every worker builds or reads the cache
    etags = {headers["ETag"] for _, _, headers in first}
    assert len(etags) == 1 and all(b"SUMMARY:\xe8\xaf\xbb\xe8\x80\x85\xe6\xb2\x99\xe9\xbe\x99" in body
                                   for _, body, _ in first)
    (old_etag,) = etags
    assert {get(f"{base}/calendar/events.ics", {"If-None-Match": old_etag})[0] for _ in range(8)} == {304}

    organizer_token = token_issue(user=organizer, name="feeds").raw
    request = urllib.request.Request(
        f"{base}/api/v1/events/{event.pk}", data=json.dumps({"title": "读者沙龙：物权编"}).encode(), method="PATCH",
        headers={"Authorization": f"Bearer {organizer_token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200

    after = [get(f"{base}/calendar/events.ics", {"If-None-Match": old_etag}) for _ in range(12)]
    assert {status for status, _, _ in after} == {200}  # no worker answers 304 with the old version
    assert all("读者沙龙：物权编".encode() in body and "读者沙龙：民法典".encode() not in body for _, body, _ in after)
    assert len({headers["ETag"] for _, _, headers in after} - {old_etag}) == 1
    assert_clean_log(log)
