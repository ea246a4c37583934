"""Health endpoints."""

from datetime import timedelta

import pytest
from django.test import Client

from library.services import book_create
from search_index import changelog, generations, services
from search_index.models import IndexChange

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_dependencies():
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_on_a_fresh_installation_creates_the_empty_index_and_is_ready():
    """Was 503 "index not built" until rebuild_index ran: a load balancer routing only to ready nodes would
    never send the first search that creates the index."""
    response = Client().get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ready", "database": "ok", "search_index": "ok",
                                                             "jobs": "ok", "search_node": node(None, 0)})
    assert generations.index_exists()


def node(position, waiting, lag_seconds=0.0):
    return {"node": changelog.node_name(), "position": position, "waiting": waiting, "lag_seconds": lag_seconds}


def test_readyz_shows_this_nodes_place_in_the_change_log(settings):
    from search_index.worker import apply_outbox

    # On PostgreSQL the ids below the entry (taken by earlier tests' rolled-back transactions) are gaps that
    # settle only once every transaction older than them has ended — this test's own never does: they are
    # given up at once here, as a gap older than SEARCH_LOG_GAP_SECONDS is.
    settings.SEARCH_LOG_GAP_SECONDS = 0
    services.index_rebuild()
    book_create(title="民法物权", year=2020)
    first = IndexChange.objects.get()
    IndexChange.objects.filter(pk=first.pk).update(created_at=first.created_at - timedelta(seconds=90))

    waiting = Client().get("/readyz").json()["search_node"]
    apply_outbox()
    apply_outbox()  # the second round looks at the gaps the first one noticed
    caught_up = Client().get("/readyz").json()["search_node"]

    assert (waiting["position"], waiting["waiting"], 90 <= waiting["lag_seconds"] < 3600) == (0, 1, True)
    assert caught_up == node(first.pk, 0)


def test_readyz_says_why_it_is_not_ready_then_ready(settings, tmp_path):
    # A record the change log does not hold: an empty index would hide it, so none is created.
    book_create(title="民法物权", year=2020)
    IndexChange.objects.all().delete()

    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["database"] == "ok" and body["search_index"].startswith("unavailable")
    assert "rebuild_index" in body["search_index"]
    services.index_rebuild()
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready", "database": "ok", "search_index": "ok",
                                                             "jobs": "ok", "search_node": node(0, 0)})


def test_readyz_is_unready_while_the_log_was_pruned_past_this_node_until_its_worker_rebuilt_it():
    """A node whose worker stopped is taken for dead by the others, which prune the log past it: its index misses
    those changes for good and was still "ready" ("waiting": 0) — searches kept going to it (attack round 21)."""
    from django.utils import timezone

    from search_index import indexer
    from search_index.models import IndexNode
    from search_index.worker import apply_outbox

    services.index_rebuild()
    indexer.drain()
    book = book_create(title="刑事诉讼法学", year=2021)
    IndexNode.objects.filter(name=changelog.node_name()).update(seen_at=timezone.now() - timedelta(days=1))
    IndexNode.objects.create(name="other", generation="gen-other", position=IndexChange.objects.last().pk,
                             applied_to=IndexChange.objects.last().pk, seen_at=timezone.now())
    assert changelog.prune() == 1

    behind = Client().get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["search_index"].startswith("unavailable") and behind.json()["search_node"]["behind"] is True
    changelog.forget()  # its worker starts again (a new process): it finds itself behind and rebuilds
    apply_outbox()
    ready = Client().get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert [h.id for h in services.search("刑事诉讼", filters=services.Filters()).items] == [book.pk]


def test_readyz_reports_a_corrupt_index():
    import shutil
    from pathlib import Path

    from django.conf import settings

    book_create(title="民法物权", year=2020)
    services.index_rebuild()
    IndexChange.objects.all().delete()
    current = (Path(settings.SEARCH_INDEX_DIR) / "current").resolve()
    for f in current.iterdir():
        if f.suffix in (".toc", ".seg") or f.name.endswith(".toc"):
            f.write_bytes(b"garbage")
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["search_index"].startswith("unavailable")
    shutil.rmtree(current)
    # Gone, with a catalogue the change log does not hold: not silently replaced by an empty index.
    assert Client().get("/readyz").status_code == 503


def test_readyz_is_degraded_not_unready_while_jobs_wait_and_no_worker_is_alive(settings):
    """The queue is every node's: with no worker alive anywhere, every node answered 503 and the load balancer took
    them all out, so pages and searches stopped too (attack on two nodes).  Now 200, "degraded", with the reason."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import Job
    from jobs.services import job_enqueue, worker_beat
    from tests.jobs.sample_tasks import count_to

    settings.JOBS_WORKER_GRACE_SECONDS = 120
    services.index_rebuild()
    job = job_enqueue(count_to)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=3))

    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "search_index": "ok", "search_node": node(0, 0),
                               "jobs": "unavailable: 1 个任务在等待，2 分钟内没有工作进程（请启动 manage.py run_worker）"}
    worker_beat(started_at=timezone.now(), backend="db")
    assert Client().get("/readyz").json() == {"status": "ready", "database": "ok", "search_index": "ok", "jobs": "ok",
                                              "search_node": node(0, 0)}


def test_readyz_shows_each_redis_and_stays_ready_while_a_shared_one_is_away(settings):
    """Issue 21: /readyz said "jobs": "ok" with TASKS_URL's Redis dead: each configured Redis is now shown.  They
    are shared by every node, so a Redis away made every node's /readyz 503 at once and the balancer served nothing,
    where searches and pages still work (fail open): shown as "degraded", 200 (review of issue 21)."""
    import socket

    from tests.live import free_port

    services.index_rebuild()
    dead = f"redis://127.0.0.1:{free_port()}"
    hanging = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(8)
    hung = f"redis://127.0.0.1:{hanging.getsockname()[1]}"
    try:
        settings.CACHE_URL, settings.RATELIMIT_URL, settings.TASKS_URL = f"{dead}/1", f"{hung}/2", f"{dead}/0"
        all_away = Client().get("/readyz")
        settings.RATELIMIT_URL = f"sqlite:///{settings.CACHE_DIR}/ratelimits.sqlite3"
        settings.TASKS_URL = ""
        cache_away = Client().get("/readyz")
    finally:
        hanging.close()

    assert (all_away.status_code, all_away.json()) == (200, {
        "status": "degraded", "database": "ok", "search_index": "ok", "jobs": "ok",
        "redis": {"rate_limits": "unavailable: redis TimeoutError", "jobs": "unavailable: redis ConnectionError",
                  "cache": "unavailable: redis ConnectionError"},
        "search_node": node(0, 0)})
    assert (cache_away.status_code, cache_away.json()) == (200, {
        "status": "degraded", "database": "ok", "search_index": "ok", "jobs": "ok",
        "redis": {"cache": "unavailable: redis ConnectionError"}, "search_node": node(0, 0)})


def test_readyz_is_unready_for_this_nodes_own_faults_whatever_redis_says(settings, tmp_path):
    from tests.live import free_port

    book_create(title="民法物权", year=2020)
    IndexChange.objects.all().delete()  # no index can be made from the log: this node's fault
    settings.CACHE_URL = f"redis://127.0.0.1:{free_port()}/1"

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["search_index"].startswith("unavailable")
    assert body["redis"] == {"cache": "unavailable: redis ConnectionError"}


def test_readyz_with_every_redis_answering_is_ready(settings):
    from tests.jobs.test_worker_live import redis_answers, redis_url

    if not redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379")
    services.index_rebuild()
    settings.CACHE_URL = settings.RATELIMIT_URL = settings.TASKS_URL = redis_url()

    response = Client().get("/readyz")

    assert (response.status_code, response.json()) == (200, {
        "status": "ready", "database": "ok", "search_index": "ok", "jobs": "ok",
        "redis": {"rate_limits": "ok", "jobs": "ok", "cache": "ok"}, "search_node": node(0, 0)})


def test_readyz_answers_json_when_the_database_is_away_and_there_is_no_index(monkeypatch):
    """With no index, /readyz asks the database whether the log can fill an empty one: with the database away
    that raised, and the answer was the 503 HTML page instead of /readyz's JSON (review of issue 21)."""
    from django.db import OperationalError

    from search_index import indexer

    def database_away(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(indexer, "create_if_fillable", database_away)

    response = Client(raise_request_exception=False).get("/readyz")

    assert (response.status_code, response["Content-Type"]) == (503, "application/json")
    assert response.json()["search_index"] == "unavailable: OperationalError: connection refused"


def _stalled_node_with_a_waiting_change(settings):
    """This node's index applied the log, then its worker stopped: its row and a change both ten minutes old."""
    from django.utils import timezone

    from search_index import indexer
    from search_index.models import IndexNode

    settings.SEARCH_NODE_STALE_SECONDS = 300
    services.index_rebuild()
    indexer.drain()
    book_create(title="刑事诉讼法学", year=2021)
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    IndexNode.objects.filter(name=changelog.node_name()).update(seen_at=ten_minutes_ago)
    IndexChange.objects.update(created_at=ten_minutes_ago)


def test_a_node_whose_index_loop_stopped_is_unready_while_another_node_is_current(settings):
    """Its worker stopped, its index missed every change since, and /readyz said "ready" (attack on two nodes):
    the balancer kept sending it searches that missed new books while another node had them."""
    from django.utils import timezone

    from search_index.models import IndexNode

    _stalled_node_with_a_waiting_change(settings)
    IndexNode.objects.create(name="other", generation="gen-other", position=IndexChange.objects.last().pk,
                             applied_to=IndexChange.objects.last().pk, seen_at=timezone.now())

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["search_node"]["stalled"] is True
    assert body["search_index"] == ("unavailable: 本节点的索引有 1 条变更等待超过 300 秒，其索引进程同样久没有心跳"
                                    "（请检查本节点的 manage.py run_worker）")
    # Its worker runs again: it applies the change, writes its row, and the node is ready.
    from search_index.worker import apply_outbox

    apply_outbox()
    assert Client().get("/readyz").json()["status"] == "ready"


def test_a_stalled_node_stays_in_degraded_when_no_other_node_is_current(settings):
    """One machine, or every node's worker stopped: stale answers are better than none (a balancer with every node
    out serves nothing), so 200 "degraded" with the reason."""
    from django.utils import timezone

    from search_index.models import IndexNode

    _stalled_node_with_a_waiting_change(settings)
    # Another node heard from but waiting as long for the same change is no better.
    IndexNode.objects.create(name="other", generation="gen-other", position=0, applied_to=0, seen_at=timezone.now())

    response = Client().get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["search_index"], body["search_node"]["stalled"]) == ("degraded", "ok", True)
    assert body["search_node"]["problem"].startswith("本节点的索引有 1 条变更等待超过 300 秒")


def test_a_node_catching_up_is_not_stalled(settings):
    """Changes waiting long are not enough: a node whose index loop writes its row (catching up on a big import)
    stays ready."""
    from django.utils import timezone

    from search_index.models import IndexNode

    _stalled_node_with_a_waiting_change(settings)
    IndexNode.objects.filter(name=changelog.node_name()).update(seen_at=timezone.now())

    response = Client().get("/readyz")

    assert (response.status_code, response.json()["status"]) == (200, "ready")
    assert "stalled" not in response.json()["search_node"]
