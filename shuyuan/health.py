"""Health endpoints for process supervisors and load balancers.

``/healthz``: the process answers (no dependencies touched).  ``/readyz``: the database answers and the
search index opens with the current schema (a fresh installation's empty index is created here, as on the
first search), and the job queue has a worker (no jobs waiting longer than JOBS_WORKER_GRACE_SECONDS with no
worker seen as long); otherwise 503 naming what is wrong.  It also shows this node's place in the index
change log (``search_node``: its name, position, entries waiting and how long the oldest has waited), which
does not decide readiness — a node a little behind still answers — unless the log was pruned past the node
(``behind``: it was taken for dead, its worker stopped): its index then misses changes it can no longer read
and it is unready until its worker has rebuilt it, so that the load balancer sends searches to the others.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


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
    node = None
    if checks["database"] == "ok":
        from jobs.services import queue_health
        from search_index.services import index_node_state

        checks["jobs"] = queue_health()
        node = index_node_state()
        if node.get("behind") and checks["search_index"] == "ok":
            checks["search_index"] = f"unavailable: {node['problem']}"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ready else "unready", **checks}
    if node is not None:
        body["search_node"] = node
    return JsonResponse(body, status=200 if ready else 503, json_dumps_params={"ensure_ascii": False})
