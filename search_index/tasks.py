"""Background work of the search index (jobs run by ``manage.py run_worker``), and the rebuild they share
with ``manage.py rebuild_index``."""

import time
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from jobs.tasks import job_task
from search_index import documents, indexer, searcher
from search_index.models import IndexChange

#: A rebuild writes its progress at most this often (one UPDATE of the job row each time).
PROGRESS_SECONDS = 1.0


def rebuild(*, progress: Callable[[int], None] | None = None, procs: int = 1,
            blocking: bool = True) -> indexer.RebuildResult | None:
    """``indexer.rebuild``, then this process's searchers are reopened on the new generation (None: another
    rebuild of this node is under way and ``blocking`` is off)."""
    result = indexer.rebuild(progress=progress, procs=procs, blocking=blocking)
    searcher.reset()
    return result


@job_task(label=_("重建检索索引"))
def rebuild_index(job, progress):
    """Build a complete index into a new generation and swap it in (``services.index_rebuild_enqueue``).

    Progress counts records; payload ``{"procs": N}`` sets the writer processes.
    """
    total = documents.count_documents()
    progress(0, total)
    done = 0
    last = time.monotonic()

    def step(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS:
            last = now
            progress(done, max(total, done))

    result = rebuild(progress=step, procs=int(job.payload.get("procs", 1)))
    progress(result.records, result.records)
    return {"records": result.records, "seconds": round(result.seconds, 1), "generation": result.generation}


@job_task(label=_("重新索引引用某法律的记录"))
def reindex_citing(job, progress):
    """Queue for re-indexing the records that mention one of ``payload["forms"]`` (a law name's forms
    before and after a librarian's edit), so that their ``cites`` field is read again with the new
    dictionary (``services.law_name_changed``)."""
    found = documents.records_mentioning(job.payload.get("forms", []))
    total = sum(len(ids) for ids in found.values())
    progress(0, total)
    done = 0
    for kind, ids in found.items():
        for start in range(0, len(ids), 500):
            with transaction.atomic():
                for object_id in ids[start:start + 500]:
                    indexer.enqueue(kind, object_id, IndexChange.Op.REINDEX)
            done += len(ids[start:start + 500])
            progress(done, total)
    return {"books": len(found["book"]), "papers": len(found["paper"])}
