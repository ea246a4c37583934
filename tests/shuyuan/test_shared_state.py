"""Two app nodes, one truth: two gunicorn servers (nodes A and B, each with its own cache directory and index
directory, as two machines have) on the test database, configured as docs/deploy.md says for several nodes.

* With ``CACHE_URL`` and ``RATELIMIT_URL`` on Redis (when a Redis answers at 127.0.0.1:6379): a rate limit
  counts requests to both nodes together; a related-works list that a change through node A made stale is
  gone on node B at once (a paper made internal is no longer offered to anonymous readers there); a feed
  built on one node is the other's cached feed; a session and an ``Idempotency-Key`` work on either node
  (those two live in the database).
* With ``MEDIA_S3_BUCKET`` on a local S3 server (tests/s3.py): a paper's PDF uploaded through node A is read
  by a job worker of a third process and downloaded from node B, byte for byte, under the same access rules.

A one-node test of each rule is elsewhere (tests/core/test_media_s3.py, tests/library/test_related.py …); this
module shows that nothing of it lives in one node's files or memory.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import Role
from accounts.services import token_issue
from library.models import Loan, Paper
from library.services import book_create, copy_create, paper_create
from tests.conftest import make_user
from tests.jobs.test_worker_live import Worker, redis_answers, redis_url, wait_for
from tests.library.files import make_pdf
from tests.live import assert_clean_log, send, start_server

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(urllib.parse.quote(url, safe=":/?=&%"), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def two_nodes(stack: ExitStack, tmp_path, env: dict) -> tuple[str, str, list]:
    """Nodes A and B (two workers each), each with a directory of its own; returns their URLs and logs."""
    (base_a, log_a) = stack.enter_context(start_server(tmp_path / "node-a", workers=2, env=env))
    (base_b, log_b) = stack.enter_context(start_server(tmp_path / "node-b", workers=2, env=env))
    return base_a, base_b, [log_a, log_b]


@pytest.fixture
def redis_db():
    if not redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379: the shared caches and rate limits of several nodes are not tested")
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, client
    client.flushdb()


def test_rate_limits_caches_sessions_and_retries_are_shared_by_two_nodes(redis_db, tmp_path):
    url, redis_client = redis_db
    for node in ("node-a", "node-b"):
        (tmp_path / node).mkdir()
    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    token = token_issue(user=judge, name="two nodes").raw
    book = book_create(title="担保法", subjects=["担保", "物权"])
    copy_create(book=book, barcode="N21-1")
    paper = paper_create(title="担保调研", keywords=["担保"], visibility="public", created_by=judge)
    env = {"CACHE_URL": url, "RATELIMIT_URL": url, "INTEROP_RATE": "4"}
    with ExitStack() as stack:
        a, b, logs = two_nodes(stack, tmp_path, env)

        # Rate limits: 4 requests a minute per address, counted over both nodes (each node alone would allow 4).
        statuses = [get(f"{base}/sru?version=1.2&operation=explain")[0] for base in (a, b, a, b, a, b)]
        assert statuses == [200, 200, 200, 200, 429, 429]

        # Related works: node B's anonymous list, cached on B, loses the paper as soon as A made it internal.
        listed = lambda base: [(i["type"], i["id"]) for i in  # noqa: E731
                               json.loads(get(f"{base}/api/v1/books/{book.pk}/related")[1])["subjects"]]
        assert listed(b) == listed(b) == [("paper", paper.pk)]
        assert send("PATCH", f"{a}/api/v1/papers/{paper.pk}", token, {"visibility": "internal"})[0] == 200
        assert listed(b) == []

        # Feeds: the body node A built is node B's cached feed.
        status, body, headers = get(f"{a}/calendar/events.ics")
        assert status == 200 and redis_client.keys("shuyuan-feeds:*")
        assert get(f"{b}/calendar/events.ics", {"If-None-Match": headers["ETag"]})[0] == 304

        # Sessions (in the database): a login is valid on both nodes.
        browser = Client()
        browser.force_login(judge)
        cookie = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={browser.cookies[django_settings.SESSION_COOKIE_NAME].value}"}
        pages = [get(f"{base}/me", cookie) for base in (a, b)]
        assert [(status, "张法官" in body.decode()) for status, body, _ in pages] == [(200, True), (200, True)]

        # Idempotency records (in the database): a borrow retried through the other node is replayed.
        request = {"Authorization": f"Bearer {token}", "Idempotency-Key": "borrow-n21-1",
                   "Content-Type": "application/json"}
        answers = []
        for base in (a, b):
            sent = urllib.request.Request(f"{base}/api/v1/loans", data=json.dumps({"barcode": "N21-1"}).encode(),
                                          method="POST", headers=request)
            with urllib.request.urlopen(sent, timeout=60) as response:
                answers.append((response.status, response.headers.get("Idempotent-Replayed"), response.read()))
        assert [(s, r) for s, r, _ in answers] == [(201, None), (201, "true")] and answers[0][2] == answers[1][2]
        assert Loan.objects.count() == 1
        for log in logs:
            assert_clean_log(log)


def test_a_paper_uploaded_through_one_node_is_read_by_a_worker_and_served_by_the_other(s3_media, tmp_path):
    import requests

    for node in ("node-a", "node-b"):
        (tmp_path / node).mkdir()
    judge, librarian = make_user("judge1", Role.JUDGE), make_user("librarian1", Role.LIBRARIAN)
    paper = paper_create(title="动产抵押研究", visibility="internal")
    pdf = make_pdf("Hypothecation of movables in rem")
    env = {**s3_media.env, "NOTICES_AT": "off"}
    with ExitStack() as stack:
        a, b, logs = two_nodes(stack, tmp_path, env)
        worker = Worker(tmp_path, env, "c")
        stack.callback(worker.stop)

        uploaded = requests.post(f"{a}/api/v1/papers/{paper.pk}/file", files={"file": ("抵押.pdf", pdf)},
                                 headers={"Authorization": f"Bearer {token_issue(user=librarian).raw}"}, timeout=60)
        assert (uploaded.status_code, uploaded.json()["extraction_status"]) == (200, "pending")
        done = wait_for(lambda: Paper.objects.filter(pk=paper.pk, extraction_status="done").first(), timeout=90,
                        what="the worker to read the text from the bucket", logs=[worker.log])

        download = requests.get(f"{b}/api/v1/papers/{paper.pk}/file",
                                headers={"Authorization": f"Bearer {token_issue(user=judge).raw}"}, timeout=60)
        anonymous = requests.get(f"{b}/api/v1/papers/{paper.pk}/file", timeout=60)
        assert done.full_text.strip() == "Hypothecation of movables in rem"
        assert s3_media.keys() == [done.file.name]
        assert (download.status_code, download.content) == (200, pdf)
        assert anonymous.status_code == 404
        assert not (tmp_path / "node-a" / "media").exists() and not (tmp_path / "node-b" / "media").exists()
        for log in logs:
            assert_clean_log(log)
