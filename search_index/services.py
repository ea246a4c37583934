"""The search layer's public functions.  Callers outside search_index use only these.

Whoosh stays behind this module, so a cluster search engine could replace it
later without touching callers.
"""

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from jobs.models import Job
from jobs.services import job_enqueue
from search_index import changelog, documents, generations, indexer, searcher, tasks
from search_index.searcher import Filters, QueryError, QueryTooComplex, SearchResult, SearchTimeout

__all__ = [
    "Filters",
    "QueryError",
    "QueryTooComplex",
    "SearchResult",
    "SearchTimeout",
    "SearchUnavailable",
    "index_check",
    "index_drain",
    "index_health",
    "index_node_state",
    "index_rebuild",
    "index_rebuild_enqueue",
    "index_record",
    "law_name_changed",
    "law_names_load",
    "search",
    "warm",
]


logger = logging.getLogger(__name__)


class SearchUnavailable(Exception):
    """The index is missing or unreadable; the message says what to run."""


def search(text: str, *, filters: Filters, sort: str = "relevance", limit: int = 20, offset: int = 0,
           highlight: bool = True, as_typed: bool = False) -> SearchResult:
    """Search the catalogue.

    Raises QueryError (QueryTooComplex past a limit) for the query's faults, SearchTimeout past the
    time budget, SearchUnavailable when there is no usable index.  A fresh installation's first search
    creates the empty index when the change log can fill it (``indexer.create_if_fillable``).  A query whose
    words find nothing (or only some of them) is answered with its did-you-mean correction's results
    (``corrected_from``) unless ``as_typed``.

    Without ``include_internal`` the papers found are checked against the database before they are shown: this
    node's index may not have applied yet a change made through another node (its worker behind, stopped or
    rebuilding), and a paper made internal there must not be shown to anonymous readers here meanwhile.
    """
    result = _search(text, filters=filters, sort=sort, limit=limit, offset=offset, highlight=highlight,
                     as_typed=as_typed)
    if not filters.include_internal:
        _withhold_non_public(result)
    return result


def _withhold_non_public(result: SearchResult) -> None:
    """Drop from ``result.items`` the papers that are no longer public in the database (made internal or deleted
    since this node's index last applied them), and from ``count``.  One query, for the page's papers only; the
    facets and the did-you-mean stay the index's until it catches up."""
    paper_ids = {hit.id for hit in result.items if hit.type == "paper"}
    if not paper_ids:
        return
    from library.models import Paper

    public = set(Paper.objects.filter(pk__in=paper_ids, visibility=Paper.Visibility.PUBLIC).values_list("pk", flat=True))
    if len(public) == len(paper_ids):
        return
    kept = [hit for hit in result.items if hit.type != "paper" or hit.id in public]
    result.count = max(0, result.count - (len(result.items) - len(kept)))
    result.items = kept


def _search(text: str, *, filters: Filters, sort: str = "relevance", limit: int = 20, offset: int = 0,
            highlight: bool = True, as_typed: bool = False) -> SearchResult:
    """``search`` as this node's index answers it.  A search whose files vanished because the index moved on (a
    commit, a rebuild's swap) is run again by ``searcher.search`` (``SEARCH_ATTEMPTS``), the one place that does."""
    try:
        return searcher.search(text, filters=filters, sort=sort, limit=limit, offset=offset, highlight=highlight,
                               as_typed=as_typed)
    except QueryError:
        # The user's query, not the index (QueryError is a ValueError, which UNREADABLE also catches).
        raise
    except generations.IndexMissing as exc:
        searcher.reset()
        if indexer.create_if_fillable():
            _drain_if_in_request()
            return _search(text, filters=filters, sort=sort, limit=limit, offset=offset, highlight=highlight,
                           as_typed=as_typed)
        raise SearchUnavailable(str(exc)) from None
    except generations.UNREADABLE as exc:
        searcher.reset()
        # The index opened but its files are damaged (overwritten, truncated, deleted underneath by something
        # other than a commit or a swap: searcher.search already searched again when the index had moved on).
        logger.error("search index unreadable: %r (run manage.py rebuild_index)", exc, exc_info=exc)
        raise SearchUnavailable(
            _("全文索引无法读取，请运行 manage.py rebuild_index（%(error)s）") % {"error": exc.__class__.__name__}
        ) from None


def warm() -> None:
    """Load what a search loads once a process and read the index once (``searcher.warm``), so a server's
    first searches are answered within the time budget; called where a server process starts
    (``shuyuan/wsgi.py``).  Never raises: a missing index is the first search's to report."""
    searcher.warm()


def index_health() -> str:
    """``"ok"``, or ``"unavailable: <why>"`` (for readiness probes).

    A fresh installation's probe creates the empty index the change log can fill, as its first search would:
    a load balancer that routes only to ready nodes would otherwise never send the search that creates it.
    """
    try:
        generations.open_index().close()
        return "ok"
    except generations.IndexMissing as exc:
        try:
            if indexer.create_if_fillable():
                _drain_if_in_request()
                return "ok"
        except Exception as error:  # noqa: BLE001 - the database away: /readyz still answers with its JSON
            return f"unavailable: {error.__class__.__name__}: {error}"
        return f"unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a corrupt index directory raises whoosh's own errors
        return f"unavailable: {exc.__class__.__name__}: {exc}"


def _drain_if_in_request() -> None:
    # The new empty index is filled by the workers' loop, unless this server drains its own writes.
    if settings.SEARCH_DRAIN_IN_REQUEST:
        indexer.drain()


def index_node_state() -> dict:
    """This node's place in the change log: ``{"node", "position", "waiting", "lag_seconds"}`` (/readyz)."""
    return changelog.node_state()


def index_record(*, kind: str, object_id: int) -> None:
    """Append one record to the index change log, for every node to re-index after the current transaction
    commits.

    Needed only for writes that send no model signals (``QuerySet.update()``,
    ``bulk_create``); saves and deletes are queued automatically.
    """
    indexer.enqueue(kind, object_id)


def index_drain() -> indexer.DrainResult:
    return indexer.drain()


def index_rebuild(*, progress: Callable[[int], None] | None = None, procs: int = 1) -> indexer.RebuildResult:
    return tasks.rebuild(progress=progress, procs=procs)


#: The rebuild job's kind and key (at most one queued at a time); the admin's jobs list shows the task's label.
REBUILD_JOB_KIND = "search_index.rebuild"
REBUILD_JOB_KEY = "search_index:rebuild"


def index_rebuild_enqueue(*, created_by=None, procs: int = 1) -> tuple[Job, bool]:
    """Ask a worker to rebuild the index (a job with progress); returns (the job, whether it is new).

    A rebuild already queued or running is returned instead of a second one.  Call it in the transaction
    of the request that asks: the job exists when that commits.
    """
    open_job = Job.objects.filter(key=REBUILD_JOB_KEY, state__in=Job.OPEN).order_by("-id").first()
    if open_job is not None:
        return open_job, False
    return job_enqueue(tasks.rebuild_index, kind=REBUILD_JOB_KIND, key=REBUILD_JOB_KEY, payload={"procs": procs},
                       created_by=created_by, max_attempts=2, total=documents.count_documents()), True


def index_check(*, fix: bool = False) -> indexer.CheckResult:
    try:
        return indexer.check(fix=fix)
    except generations.IndexMissing as exc:
        raise SearchUnavailable(str(exc)) from None


#: The job that queues the records a changed law name may be cited by (one queued at a time per set of forms).
REINDEX_CITING_KIND = "search_index.reindex_citing"


def law_names_load(*, path=None) -> int:
    """Add the entries of ``data/laws.csv`` (or ``path``) whose code the ``LawName`` table lacks; returns how
    many.  Idempotent: an entry present (by code or title) is left as it is, so a librarian's edits are never
    changed back; a deleted entry comes back (empty its short forms instead to silence it)."""
    from pathlib import Path

    from search_index.laws import LAWS_CSV, read_csv
    from search_index.laws import expire as laws_expire
    from search_index.models import LawName

    rows = read_csv(Path(path) if path else LAWS_CSV)
    with transaction.atomic():
        known_codes = set(LawName.objects.values_list("code", flat=True))
        known_titles = set(LawName.objects.values_list("title", flat=True))
        new = [LawName(**row) for row in rows if row["code"] not in known_codes and row["title"] not in known_titles]
        LawName.objects.bulk_create(new, batch_size=500)
        # bulk_create sends no signals: this process reads the table's version on its next search.
        transaction.on_commit(laws_expire)
    return len(new)


def law_name_changed(*, forms: Iterable[str], created_by=None) -> Job | None:
    """After a law name's forms changed (``forms``: those before and after the edit), queue the job that
    re-indexes the records mentioning any of them (``tasks.reindex_citing``), so that their cited articles
    are read with the new dictionary.  Searches use the new names at once in this process and within ``LAW_DICTIONARY_CHECK_SECONDS`` in the others (``laws.current``); only the
    ``cites`` field of the index waits for the job.  Call it inside the transaction of the edit."""
    forms = sorted({f.strip() for f in forms if f and f.strip()})
    if not forms:
        return None
    return job_enqueue(tasks.reindex_citing, kind=REINDEX_CITING_KIND, payload={"forms": forms},
                       created_by=created_by, max_attempts=2)
