"""The search index's upkeep in the background workers: ``apply_outbox``, one of ``settings.WORKER_LOOPS``.

Every ``manage.py run_worker`` calls it over and over in a thread of its own, sleeping between calls
with ``apply_outbox.sleep``: a transaction that wrote the change log wakes it when it commits
(``search_index.wake``: on this machine, and on PostgreSQL on every node), and it polls every
``SEARCH_OUTBOX_POLL`` anyway.  It applies the log's entries after this node's position
(``IndexChange`` rows the requests wrote; ``changelog``) to Whoosh without merging, so a change is
searchable one small commit after its transaction; when nothing waits, or every ``DRAIN_ROUNDS`` commits
while something always does, it takes one bounded step of merging the small segments those commits leave
(``indexer.merge_segments``), and drains again before the next step.  A node with no index, or too far
behind the pruned log, is rebuilt here from the database.  Several workers of one node (sharing its index
directory) may run it at once: the drain and the merge take Whoosh's writer lock without waiting and the
holder reads the log again after releasing it (``indexer``, check-after-release).
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from search_index import changelog, generations, indexer, postings_cache, tasks, wake

logger = logging.getLogger(__name__)

#: Segments pile up under a write load that never lets the outbox go idle; past this multiple of
#: SEARCH_MERGE_SEGMENTS small segments the merge runs between two drains anyway.
FORCE_MERGE_FACTOR = 2
#: The log counts as idle once nothing was drained for this long: a merge started in a short gap
#: between writes would hold the writer while the next write waits.
IDLE_SECONDS = 0.5
#: Pause while another process of this node rebuilds its index, and after a rebuild failed (doubled after each
#: failure in a row, up to REBUILD_BACKOFF_MAX: each attempt reads the whole catalogue again).
MISSING_PAUSE = 5.0
REBUILD_BACKOFF_MAX = 300.0
#: Commits (of up to indexer.BATCH_SIZE rows) one call drains before it looks at the segments.  A drain used to
#: go on while rows kept coming (up to 1,000 commits): under the twelfth attack's stream of saves 74 segments
#: piled up with no merge, and then one merge of them all held the writer for four minutes.
DRAIN_ROUNDS = 4


@dataclass
class LoopState:
    #: This loop committed since it last looked at the segment list (a fresh worker looks once).
    dirty: bool = True
    #: When this loop last drained something (time.monotonic()).
    last_write: float = 0.0
    #: Rebuilds of this node that failed in a row, and when the next may start (time.monotonic()).
    rebuild_failures: int = 0
    rebuild_after: float = 0.0


_state = LoopState()


def apply_outbox() -> float:
    """Apply what waits for this node (at most ``DRAIN_ROUNDS`` commits), then take one step of merging small
    segments if they piled up; rebuild the node's index when it has none or is behind the pruned log.  Returns
    the pause before the next call: none while entries or merge steps are left."""
    result = indexer.drain(merge="tiny", max_rounds=DRAIN_ROUNDS)
    if result.missing and generations.index_opens():
        return 0.0  # another process of this node made it meanwhile
    if result.missing or result.behind:
        return rebuild_node()
    now = _clock()
    if result.indexed or result.deleted:
        _state.dirty, _state.last_write = True, now
        # More rows may be arriving: only merge an index that is getting overfull.
        limit = settings.SEARCH_MERGE_SEGMENTS * FORCE_MERGE_FACTOR
    elif result.busy or now - _state.last_write < IDLE_SECONDS:
        # Busy: another worker holds the writer and drains again after releasing it.
        return settings.SEARCH_OUTBOX_POLL
    else:
        limit = settings.SEARCH_MERGE_SEGMENTS
    if _state.dirty:
        # Reads only the table of contents and the directory's listing, and only after this loop's own commits.
        merged = indexer.merge_segments(max_small=limit)
        if merged.busy:
            return settings.SEARCH_OUTBOX_POLL
        # One step merges at most indexer.MERGE_STEP_BYTES: after one, look again for the next.
        _state.dirty = bool(result.indexed or result.deleted or merged.merged)
        if merged.merged:
            build_sidecars()
            return 0.0  # check-after-release: rows queued during the merge are drained at once
        if merged.queued:
            _state.dirty = True
            return 0.0  # a wasteful segment's documents were queued: drain them now
    return 0.0 if result.more else settings.SEARCH_OUTBOX_POLL


def rebuild_node() -> float:
    """Rebuild this node's index from the database (a new node, an index lost or from an older version, a node
    that stayed away while the log was pruned); the pause before the next call."""
    wait = _state.rebuild_after - _clock()
    if wait > 0:
        return wait  # the last attempt failed: a commit woke the loop before its pause was over
    logger.warning("search node %s has no usable index or is behind the change log: rebuilding it",
                   changelog.node_name())
    _state.dirty = True
    try:
        done = tasks.rebuild(blocking=False)
    except Exception:  # noqa: BLE001 - the loop goes on; the next attempt waits longer
        _state.rebuild_failures += 1
        pause = min(MISSING_PAUSE * 2 ** (_state.rebuild_failures - 1), REBUILD_BACKOFF_MAX)
        _state.rebuild_after = _clock() + pause
        logger.exception("rebuilding search node %s failed (%d in a row); trying again in %.0f s",
                         changelog.node_name(), _state.rebuild_failures, pause)
        return pause
    _state.rebuild_failures, _state.rebuild_after = 0, 0.0
    if done is None:
        return MISSING_PAUSE  # another process of this node is rebuilding
    logger.info("search node %s rebuilt: %d records in %.1f s", changelog.node_name(), done.records, done.seconds)
    return 0.0


def _clock() -> float:
    return time.monotonic()


_alarm: wake.Alarm | None = None


def _sleep(seconds: float) -> None:
    """Wait before the next ``apply_outbox``: ``seconds``, or less when a commit wakes this loop."""
    global _alarm
    if _alarm is None:
        _alarm = wake.Alarm()  # bound by the loop's own thread, on its first pause
    _alarm.sleep(seconds)


#: How the worker's loop waits between calls (``jobs.management.commands.run_worker.Loop``).
apply_outbox.sleep = _sleep


def build_sidecars() -> list[str]:
    """Write the decoded-postings sidecars of segments a merge made (``postings_cache.build_sidecars``), so the
    searchers' first reads of their long lists are memory-mapped, not decoded.  Never fails the loop: an
    index changing underneath is simply looked at again after the next merge."""
    try:
        ix = generations.open_index()
    except generations.IndexMissing:
        return []
    try:
        written = postings_cache.build_sidecars(ix)
    except generations.UNREADABLE:
        logger.info("index changed while its sidecars were being written; trying after the next merge")
        return []
    finally:
        ix.close()
    if written:
        logger.info("wrote postings sidecars for segments %s", ", ".join(written))
    return written
