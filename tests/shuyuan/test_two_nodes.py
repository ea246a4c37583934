"""Two app nodes on one PostgreSQL, as docs/deploy.md section 9 sets them up: each node is a gunicorn server
and a ``run_worker`` process (its index upkeep) with its own ``SEARCH_NODE``, index directory and cache
directory; the caches and rate limits are on Redis (``CACHE_URL``, ``RATELIMIT_URL``).

One test, in steps, because the nodes are the expensive part (a gunicorn start warms the search in its
master; a worker loads the analyzers) and a transactional test's database is flushed after it:

a. a book catalogued through node A's API is found by search on node B;
b. a loan made through node A shows on node B's book page (to anyone, and to the borrower) and in the
   borrower's personal calendar feed fetched from node B;
c. twenty borrows of one copy at once, half through each node, make exactly one loan; the others are told
   409 ``not_available``;
d. node B (gunicorn and its worker) is killed with SIGKILL; books catalogued through node A meanwhile are
   found on node B once it is started again, from the change log (no rebuild);
e. a new node C, with an empty index directory, started after the log was pruned behind A and B, rebuilds
   its index from the database and finds node A's books and the earlier ones.

Searches are waited for with a generous bound (no time is asserted).  Runs where the test database is
PostgreSQL and a Redis answers at 127.0.0.1:6379 (``make test-pg``, ``.ci/run``); skipped on SQLite.  Where
CI expects Redis (``CI_REQUIRE_REDIS=True``, set by ``.ci/run`` where redis-server is installed) a Redis
that does not answer fails the test instead of skipping it.
"""

import json
import os
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import icalendar
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from accounts.models import Role
from accounts.services import calendar_token_rotate, token_issue
from events.ical import UID_DOMAIN
from library.models import Copy, Loan
from library.services import book_create
from search_index import changelog
from search_index.models import IndexNode
from tests.conftest import make_user, wake_dir_for
from tests.jobs.test_worker_live import Worker, redis_answers, redis_url, wait_for
from tests.live import SERVERS, all_at_once, assert_clean_log, post, start_server
from tests.shuyuan.test_shared_state import get

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="several app nodes share one PostgreSQL: the test database is SQLite (make test-pg)"),
]

#: Longer than any wait should take on a loaded 2-core machine; a bound, not a measurement.
PATIENCE = 180


@pytest.fixture
def redis_for_nodes():
    if not redis_answers():
        if os.environ.get("CI_REQUIRE_REDIS", "False") == "True":
            pytest.fail("CI_REQUIRE_REDIS=True but no Redis answers at 127.0.0.1:6379: the two-node test cannot run")
        pytest.skip("no Redis at 127.0.0.1:6379: the nodes' shared caches and rate limits need one")
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


class Node:
    """One app node: gunicorn (two workers) and a ``run_worker``, with a directory of its own."""

    def __init__(self, stack: ExitStack, tmp_path: Path, name: str, shared_env: dict) -> None:
        self.name, self.home = name, tmp_path / name
        self.home.mkdir(exist_ok=True)
        self.env = {**shared_env, "SEARCH_NODE": name, "SEARCH_WAKE_DIR": wake_dir_for(self.home)}
        self.stack = ExitStack()
        stack.callback(self.stack.close)
        # The worker first: it builds or brings up to date the index the server reads.
        self.worker = Worker(self.home, self.env, name)
        self.stack.callback(self.worker.stop, grace=5)
        self.base, self.log = self.stack.enter_context(start_server(self.home, workers=2, env=self.env))

    @property
    def logs(self) -> list[Path]:
        return [self.log, self.worker.log]

    def kill(self) -> None:
        """SIGKILL gunicorn's master and workers, and the worker with anything it forked."""
        os.killpg(SERVERS[self.base].pid, 9)
        self.worker.kill()

    def search(self, query: str) -> list[int] | None:
        """Ids of the books a search on this node finds (None while it cannot answer)."""
        status, body, _ = get(f"{self.base}/api/v1/search?" + urllib.parse.urlencode({"q": query, "type": "book",
                                                                                     "limit": 50}))
        if status != 200:
            return None
        return sorted(hit["id"] for hit in json.loads(body)["items"])


def finds(node: Node, query: str, books: list[int], *, logs=()) -> None:
    wanted = sorted(books)
    wait_for(lambda: node.search(query) == wanted, timeout=PATIENCE,
             what=f"node {node.name} to find {wanted} for {query!r} (finds {node.search(query)})",
             logs=[*node.logs, *logs])


def test_two_app_nodes_share_search_loans_and_the_one_copy_and_nodes_catch_up(redis_for_nodes, tmp_path):
    librarian = make_user("librarian-n", Role.LIBRARIAN)
    desk = token_issue(user=librarian, name="two nodes").raw
    borrower = make_user("judge-n", Role.JUDGE, display_name="李法官")
    borrower_token = token_issue(user=borrower, name="two nodes").raw
    judges = [make_user(f"judge-p{i}", Role.JUDGE) for i in range(20)]
    judge_tokens = [token_issue(user=u, name="two nodes").raw for u in judges]
    earlier = book_create(title="人民法院组织法释义")  # catalogued before any node ran
    env = {"CACHE_URL": redis_for_nodes, "RATELIMIT_URL": redis_for_nodes, "NOTICES_AT": "off",
           # Every request comes from 127.0.0.1 and the limits are counted over both nodes: the polling of
           # the waits below would soon be refused.
           "SEARCH_RATE_ANONYMOUS": "0", "SEARCH_RATE_USER": "0"}
    with ExitStack() as stack:
        a = Node(stack, tmp_path, "node-a", env)
        b = Node(stack, tmp_path, "node-b", env)

        # a. Catalogued through A, found on B.
        status, created = post(f"{a.base}/api/v1/books", desk, {"title": "执行异议之诉实务"})
        assert status == 201, created
        book = created["id"]
        status, copy = post(f"{a.base}/api/v1/books/{book}/copies", desk, {"barcode": "TN-1"})
        assert status == 201, copy
        finds(b, "执行异议之诉", [book], logs=a.logs)
        finds(a, "执行异议之诉", [book], logs=b.logs)

        # b. A loan through A: B's book page and the borrower's feed from B show it.
        feed_token = calendar_token_rotate(user=borrower)
        browser = Client()
        browser.force_login(borrower)
        cookie = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}="
                            f"{browser.cookies[django_settings.SESSION_COOKIE_NAME].value}"}
        status, before, _ = get(f"{b.base}/calendar/u/{feed_token}.ics")  # built and cached (Redis) before
        assert status == 200 and "归还" not in before.decode()
        status, loan = post(f"{a.base}/api/v1/loans", borrower_token, {"barcode": "TN-1"})
        assert status == 201, loan
        status, page, _ = get(f"{b.base}/books/{book}")
        assert status == 200
        page = page.decode()
        assert "暂无在架复本" in page and "最早归还" in page and loan["due_date"] in page
        status, own_page, _ = get(f"{b.base}/books/{book}", cookie)
        assert status == 200 and f"您已借阅本书，应于 {loan['due_date']} 归还" in own_page.decode()
        status, feed, _ = get(f"{b.base}/calendar/u/{feed_token}.ics")
        assert status == 200
        items = {str(c["UID"]): c for c in icalendar.Calendar.from_ical(feed).walk("VEVENT")}
        item = items[f"loan-{loan['id']}@{UID_DOMAIN}"]
        assert str(item["SUMMARY"]) == "归还《执行异议之诉实务》"
        assert item.decoded("DTSTART").isoformat() == loan["due_date"]
        status, returned = post(f"{b.base}/api/v1/returns", desk, {"barcode": "TN-1"})
        assert status == 200, returned  # returned through B: the copy is free for the race below

        # c. Twenty borrows of the one copy at once, alternately through A and B: one loan.
        results = all_at_once([
            lambda i=i, t=t: post(f"{(a, b)[i % 2].base}/api/v1/loans", t, {"barcode": "TN-1"})
            for i, t in enumerate(judge_tokens)
        ])
        statuses = sorted(status for status, _ in results)
        assert statuses == [201] + [409] * 19, statuses
        assert {body["code"] for status, body in results if status == 409} == {"not_available"}
        winner = next(body for status, body in results if status == 201)
        assert list(Loan.objects.filter(copy__barcode="TN-1", status=Loan.Status.ACTIVE)
                    .values_list("pk", flat=True)) == [winner["id"]]
        assert Copy.objects.get(barcode="TN-1").status == Copy.Status.ON_LOAN
        assert not any(status >= 500 for status, _ in results)

        # d. B killed; books catalogued through A meanwhile; B started again catches up from the log.
        b.kill()
        away = []
        for title in ("刑事附带民事诉讼研究", "刑事附带民事赔偿范围"):
            status, created = post(f"{a.base}/api/v1/books", desk, {"title": title})
            assert status == 201, created
            away.append(created["id"])
        finds(a, "刑事附带民事", away)
        b = Node(stack, tmp_path, "node-b", env)
        finds(b, "刑事附带民事", away)
        assert "rebuilding it" not in b.worker.log.read_text()  # caught up from its position in the log

        # e. A new node C with an empty index, after the log was pruned behind A and B: it rebuilds.
        wait_for(lambda: all(changelog.lag(node)[0] == 0 for node in IndexNode.objects.all()), timeout=PATIENCE,
                 what="nodes A and B to apply the whole log", logs=[*a.logs, *b.logs])
        changelog.prune()
        assert changelog.pruned_through() > 0
        assert not (tmp_path / "node-c").exists()  # nothing of node C before it starts
        c = Node(stack, tmp_path, "node-c", env)
        finds(c, "刑事附带民事", away)
        finds(c, "执行异议之诉", [book])
        finds(c, "人民法院组织法", [earlier.pk])
        assert "rebuilding it" in c.worker.log.read_text()
        status, created = post(f"{a.base}/api/v1/books", desk, {"title": "人民法院组织法新论"})
        assert status == 201
        for node in (a, b, c):  # and all three apply what comes after
            finds(node, "人民法院组织法", [earlier.pk, created["id"]])

        assert sorted(IndexNode.objects.values_list("name", flat=True)) == ["node-a", "node-b", "node-c"]
        for node in (a, b, c):
            assert_clean_log(node.log)
