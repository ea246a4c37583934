"""The search index's upkeep in the background workers: ``apply_outbox``, one of ``settings.WORKER_LOOPS``.

Every ``manage.py run_worker`` calls it over and over in a thread of its own.  It drains the outbox
(``IndexTask`` rows the requests wrote) into Whoosh without merging, so a change is searchable a poll
interval plus one small commit after its transaction; while the outbox is idle it merges the small
segments those commits leave.  Several workers, on one machine or several sharing the index
directory, may run it at once: the drain and the merge take Whoosh's writer lock without waiting and
the holder looks at the queue again after releasing it (``indexer``, check-after-release).
"""

import logging
import time

from django.conf import settings

from search_index import indexer

logger = logging.getLogger(__name__)

#: Seconds between looks at the segment list while the outbox is idle (a read of the table of contents).
MERGE_CHECK_SECONDS = 1.0
#: Segments pile up under a write load that never lets the outbox go idle; past this multiple of
#: SEARCH_MERGE_SEGMENTS the merge runs between two drains anyway.
FORCE_MERGE_FACTOR = 4
#: Pause while there is no index to drain into (rebuild_index, or a catalogue the outbox cannot fill).
MISSING_PAUSE = 5.0

_last_merge_check = 0.0


def apply_outbox() -> float:
    """Drain whatever is queued; merge small segments when idle.  Returns the pause before the next call."""
    global _last_merge_check
    result = indexer.drain(merge=False)
    if result.missing:
        return MISSING_PAUSE
    if result.indexed or result.deleted or result.busy:
        # Busy: another worker holds the writer and drains after releasing it.  Indexed: more rows may
        # have arrived; only an overfull index is merged now.
        limit = settings.SEARCH_MERGE_SEGMENTS * FORCE_MERGE_FACTOR
    else:
        limit = settings.SEARCH_MERGE_SEGMENTS
    now = time.monotonic()
    if now - _last_merge_check >= MERGE_CHECK_SECONDS:
        _last_merge_check = now
        merged = indexer.merge_segments(max_small=limit)
        if merged.merged:
            return 0.0  # check-after-release: rows queued during the merge are drained at once
    return settings.SEARCH_OUTBOX_POLL

