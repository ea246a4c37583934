"""Health endpoints for process supervisors and load balancers.

``/healthz``: the process answers (no dependencies touched).  ``/readyz``: the database answers and the
search index opens with the current schema (a fresh installation's empty index is created here, as on the
first search); otherwise 503 naming what is wrong.  It also shows this node's place in the index change log
(``search_node``: its name, position, entries waiting and how long the oldest has waited), which does not
decide readiness — a node a little behind still answers — unless (1) the log was pruned past the node
(``behind``: it was taken for dead, its worker stopped): its index then misses changes it can no longer read
and it is unready until its worker has rebuilt it, so that the load balancer sends searches to the others; or
(2) the node is ``stalled`` (changes have waited for it longer than SEARCH_NODE_STALE_SECONDS and its index
loop was not heard from for as long: its worker stopped) while another node is current — with no current node
to take its searches it stays in, ``degraded``.

The job queue (``jobs``: no jobs waiting longer than JOBS_WORKER_GRACE_SECONDS with no worker seen as long) is
shared by every node like the Redis below: jobs stuck for want of a worker make the status ``degraded``, never
503 (taking every node out of the balancer for it left nothing serving: attack round on two nodes).

On several nodes it also pings each Redis that is configured, at most ``REDIS_SECONDS`` each (a Redis that hangs
must not hang the balancer's check; a server that failed is not asked again for the next URL on it) and shows
them under ``redis``: ``rate_limits`` (``RATELIMIT_URL``: logins and writes answer 503 without it, searches go on
unlimited), ``jobs`` (``TASKS_URL``: jobs wait in their rows until they can be handed over) and ``cache``
(``CACHE_URL``: pages are computed without it).  They are shared by every node, so one of them away says nothing
of this node: a balancer that took every node out would serve nothing at all, where the nodes still answer
searches and pages.  The status is then ``degraded``, still 200; readiness is decided by what this node alone can
have wrong.  Without them (one machine) nothing is added.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


#: Seconds to connect to each Redis and to wait for its answer to PING.
REDIS_SECONDS = 1
_clients: dict = {}


def _redis_state(url: str, failed: dict[str, str]) -> str:
    """``"ok"`` or ``"unavailable: …"`` for the Redis at ``url``; ``failed`` holds the servers already found away."""
    import redis

    server = urlsplit(url).netloc or url
    if server in failed:
        return failed[server]
    try:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=REDIS_SECONDS,
                                                 socket_timeout=REDIS_SECONDS)
        _clients[url].ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to be unready; say which
        failed[server] = f"unavailable: redis {exc.__class__.__name__}"
        return failed[server]


def _redis_url(url: str) -> bool:
    return urlsplit(url).scheme in ("redis", "rediss", "unix")


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to be unready; say which
        checks["database"] = f"unavailable: {exc.__class__.__name__}"
    from search_index.services import index_health

    checks["search_index"] = index_health()
    failed: dict[str, str] = {}
    shared: dict[str, str] = {}
    if _redis_url(settings.RATELIMIT_URL):
        shared["rate_limits"] = _redis_state(settings.RATELIMIT_URL, failed)
    if settings.TASKS_URL:
        shared["jobs"] = _redis_state(settings.TASKS_URL, failed)
    if getattr(settings, "CACHE_URL", ""):
        shared["cache"] = _redis_state(settings.CACHE_URL, failed)
    node = None
    jobs = None
    if checks["database"] == "ok":
        from jobs.services import queue_health
        from search_index import changelog
        from search_index.services import index_node_state

        # The queue is every node's: jobs waiting with no worker alive anywhere say nothing of this node.
        jobs = queue_health()
        node = index_node_state()
        if node.get("behind") and checks["search_index"] == "ok":
            checks["search_index"] = f"unavailable: {node['problem']}"
        elif checks["search_index"] == "ok" and (stalled := changelog.stalled()):
            # This node's index loop stopped while changes wait: its searches miss them.  Out of the balancer while
            # another node is current; when none is, stale answers are better than none (degraded).
            if stalled["others_current"]:
                checks["search_index"] = f"unavailable: {stalled['problem']}"
            node = {**node, "problem": stalled["problem"], "stalled": True}
    ready = all(value == "ok" for value in checks.values())
    fine = all(value == "ok" for value in shared.values()) and jobs in (None, "ok") and not (node or {}).get("stalled")
    status = "unready" if not ready else "ready" if fine else "degraded"
    body = {"status": status, **checks}
    if jobs is not None:
        body["jobs"] = jobs
    if shared:
        body["redis"] = shared
    if node is not None:
        body["search_node"] = node
    return JsonResponse(body, status=200 if ready else 503, json_dumps_params={"ensure_ascii": False})
