"""Writing the index: applying the change log, merging segments, rebuilding, and comparing index with database.

Requests only append to the change log (``IndexChange`` entries in their own transaction); the workers'
``search_index.worker.apply_outbox`` loop of each node applies the entries after the node's position
(``changelog``) and merges small segments in bounded steps between drains (``SEARCH_DRAIN_IN_REQUEST``
brings back the drain after each commit, for a server without a worker).

One writer at a time per index.  Whoosh's write lock is taken without waiting: a process of the node that
finds it taken leaves the entries to the holder, which reads the log again after releasing the lock
(check-after-release), so no entry is stranded and nothing ever fails or waits on the lock.
"""

import fcntl
import functools
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from whoosh.index import LockError
from whoosh.reading import SegmentReader

from search_index import (
    bulk_writer,
    changelog,
    documents,
    generations,
    laws,
    postings_cache,
    sidecar,
    wake,
    whoosh_private,
)
from search_index.analysis import romanized_name_keys, sections
from search_index.index_schema import SECTION_BOOSTS
from search_index.models import IndexChange
from search_index.whoosh_codec import CatalogCodec, segment_sizes

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


def _writer(ix):
    # compound=False: segments stay as separate files, so opening the index and
    # committing one record are fast (see ARCHITECTURE.md measurements).
    return ix.writer(timeout=0.0, compound=False, codec=CatalogCodec())


def _writer_unless_busy(ix, result):
    """The writer, or None with ``result.busy`` set when another process holds the lock (never waits)."""
    try:
        return _writer(ix)
    except LockError:
        result.busy = True
        return None


#: How much of a paper's full text the index stores (for snippets); a match further in finds the paper all
#: the same, its snippet then comes from the abstract.  About 30 pages.
STORED_TEXT_CHARS = 50_000


def _index_fields(doc: dict, dictionary: laws.LawDictionary | None = None) -> dict:
    """The index fields of a document: the weighted ``body``, the derived fallback fields and the articles it
    cites (read with ``dictionary``, the process's law names when not given)."""
    fields = dict(doc)
    fields["romanized"] = " ".join(
        dict.fromkeys(key for name in fields.pop("names").split("\x1f") for key in romanized_name_keys(name)))
    fields["cites"] = " ".join(laws.citation_terms(
        [doc["title"], doc["subjects"], doc["summary"], doc.get("text") or ""],
        dictionary if dictionary is not None else laws.current()))
    subjects = fields.pop("subjects")
    fields["body"] = sections(
        [
            (doc["title"], SECTION_BOOSTS["title"]),
            (doc["people"], SECTION_BOOSTS["people"]),
            (subjects, SECTION_BOOSTS["subjects"]),
            (doc["summary"], SECTION_BOOSTS["summary"]),
        ]
    )
    # Bigrams cover the short fields people search by name (titles, authors,
    # subjects): over summaries they were 40% of all postings and a quarter of
    # the build time (docs/performance.md), while the segmenter's sub-words
    # already find most differently-cut words there.
    fields["bigrams"] = " ".join([doc["title"], doc["people"], subjects])
    fields["pinyin"] = " ".join([doc["title"], doc["people"]])
    fields["title_exact"] = laws.title_key(doc["title_display"])
    fields["call_number_sort"] = doc["call_number_sort"].encode()  # a bytes column
    if fields.get("text"):
        # The whole text is indexed; only its beginning is stored, for the snippet.  A hit's stored fields
        # are read whole, so a page of papers with 2-million-character texts read and lower-cased some
        # 100 MB per search (the ninth attack: 1.9 s for any query that matched them).
        fields["_stored_text"] = fields["text"][:STORED_TEXT_CHARS]
    return fields


@dataclass
class DrainResult:
    indexed: int = 0
    deleted: int = 0
    busy: bool = False
    missing: bool = False
    #: This node's position is behind the pruned log: only a rebuild brings its index up to date.
    behind: bool = False
    #: Stopped after ``max_rounds`` rounds: entries may be left.
    more: bool = False


def drain(*, max_rounds: int = 1000, merge: bool | str = True) -> DrainResult:
    """Apply the change log's entries after this node's position until none is left, another process holds
    the writer, or ``max_rounds`` commits are done (``more``).

    Safe to call from any process at any time; returns what it did.  With ``merge=False`` each commit
    only adds a segment; with ``merge="tiny"`` (the worker's loop, which drains a few rounds at a time and
    merges in between) it also drops the segments whose documents are all deleted and folds segments of
    fewer than ``TINY_SEGMENT_DOCS`` documents into its own, and the loop merges larger ones with
    ``merge_segments``; with ``True`` Whoosh's commit merges small segments as it goes, which can take
    hundreds of milliseconds.
    """
    result = DrainResult()
    rounds = [max_rounds]
    while True:
        if not changelog.turn.take():
            result.busy = True  # another thread of this process drains, and drains again after its turn
            return result
        try:
            _drain_rounds(result, rounds, merge=merge)
        except changelog.NodeBehind as exc:
            logger.warning("search node must rebuild its index: %s", exc)
            changelog.forget()
            result.behind = True
        finally:
            knocked = changelog.turn.give_back()
        if not knocked or result.busy or result.missing or result.behind or result.more:
            break
    if not (result.busy or result.missing or result.behind):
        changelog.prune_if_due()
    return result


def _drain_rounds(result: DrainResult, rounds: list[int], *, merge: bool | str) -> None:
    while rounds[0] > 0:
        try:
            ix, generation = generations.open_current()
        except generations.IndexMissing:
            if create_if_fillable():
                continue
            # The entries wait in the log; this node's worker loop rebuilds the index (worker.apply_outbox).
            result.missing = True
            return
        try:
            current = changelog.cursor(generation)
            current.read()
            if not current.has_work() and not changelog.unsaved(current):
                changelog.beat(current)
                return
            writer = _writer_unless_busy(ix, result)
            if writer is None:
                return
            try:
                current = changelog.sync(current)
                if not current.has_work():
                    # Nothing to index, but the position moved (a gap settled) or the node has no row yet.
                    writer.cancel()
                    changelog.save(current)
                    return
                _apply_one_batch(writer, current, result, merge=merge)
            except BaseException:
                if not writer.is_closed:
                    writer.cancel()
                raise
        finally:
            ix.close()
        rounds[0] -= 1
        # The lock is released here: entries written meanwhile by processes that found it taken are read by the
        # next round (check-after-release).
    result.more = True


def create_if_fillable() -> bool:
    """Create an empty index when there is none and the change log alone will make it complete; True if created.

    A fresh installation (``migrate`` and nothing else) has no index: its first search or first catalogue
    write lands here.  Every record written since has an entry in the log, so an empty index that reads the
    log from where it was last pruned holds the whole catalogue once applied.  When some record has no
    entry (records loaded without signals, a log pruned since they were written: a new node beside others)
    nothing is created: search answers "run rebuild_index" and the node's worker loop rebuilds (an empty
    index would hide those records without saying so).
    """
    if generations.index_exists():
        return False
    # Read before the records are: a prune meanwhile leaves the new index behind the log (rebuilt), never short.
    floor = changelog.pruned_through()
    if documents.unlogged_records_exist():
        return False
    created = generations.ensure_index(log_position=floor)
    if created:
        logger.info("created an empty search index; the change log fills it")
    return created


#: What one drain commit may index, in weighted characters (``documents.index_costs``): about 8 s of the
#: worst text measured (random characters in abstracts and keywords), well under a second of real prose.
#: A record costing more is indexed in a commit of its own.  Without it one commit indexed whatever 200
#: queued records held: the fourteenth attack's librarians re-saved 80 records with 20,000-character random
#: abstracts and one commit of 90 of them took 60–100 s, with every new record waiting behind it.
DRAIN_COMMIT_COST = 3_000_000


def cost_class(cost: int) -> int:
    """The class of an indexing cost: 0 up to 4 weighted characters, then one class per power of four."""
    return max(0, (max(cost, 1).bit_length() - 1) // 2)


def _next_records(current: changelog.Cursor) -> list[tuple[str, int]]:
    """The records the next drain commit indexes, as (kind, id): the one waiting longest, so that every record
    is reached, and then the others of the ``BATCH_SIZE`` waiting longest, cheaper classes of cost first
    (``cost_class``), while they fit in ``DRAIN_COMMIT_COST`` — a new book is not held behind a log of long
    papers saved again and again (it is in the next commit), and one long paper does not make every record in
    its commit wait for it."""
    # The cursor reads a flood of saves of a few records whole (changelog.ROUND_ROWS), grouped by record in the
    # order of each one's first entry not yet applied: a new book far behind them is among the heads.
    heads = current.next_records(BATCH_SIZE)
    if not heads:
        return []
    costs: dict[tuple[str, int], int] = {}
    for kind in {kind for kind, _ in heads}:
        ids = [object_id for k, object_id in heads if k == kind]
        found = documents.index_costs(kind, ids)
        costs.update({(kind, object_id): found.get(object_id, 0) for object_id in ids})  # deleted: a delete
    chosen, total = [heads[0]], costs[heads[0]]
    # Cheaper classes first (powers of four), and within a class in queue order: ordering by the exact cost
    # let the papers whose titles were one character shorter go first in every commit while the others
    # waited, each only ever indexed as the oldest, and their old segments never emptied (index flood bench).
    order = {record: (cost_class(costs[record]), position) for position, record in enumerate(heads)}
    for record in sorted(heads[1:], key=order.__getitem__):
        if total + costs[record] > DRAIN_COMMIT_COST:
            continue
        chosen.append(record)
        total += costs[record]
    return chosen


def _apply_one_batch(writer, current: changelog.Cursor, result: DrainResult, *, merge: bool | str) -> None:
    records = _next_records(current)
    if not records:
        writer.cancel()
        return
    by_kind: dict[str, set[int]] = {}
    for kind, object_id in records:
        by_kind.setdefault(kind, set()).add(object_id)
    # Every entry read for these records goes with this commit: the documents are read below, after those
    # entries were committed, so they hold those changes too.  A record saved a thousand times is indexed once,
    # not once per entry (the twelfth attack wrote 20,000 saves of 20 papers).  Entries read after this stay
    # for the next round.
    dictionary = laws.current()
    for kind, ids in by_kind.items():
        docs = documents.documents_for(kind, ids)
        for object_id in ids:
            doc = docs.get(object_id)
            if doc is None:
                writer.delete_by_term("key", f"{kind}:{object_id}")
                result.deleted += 1
            else:
                writer.update_document(**_index_fields(doc, dictionary))
                result.indexed += 1
    if merge == "tiny":
        writer.commit(mergetype=_fold_tiny)
    else:
        writer.commit(merge=bool(merge))
    # Only after the index commit: a crash before this line applies the same entries again, which is harmless
    # (updates are idempotent).
    current.applied(records)
    changelog.save(current)


#: Segments of fewer documents than this are folded into a worker drain's own new segment as it commits.
#: Each drain would otherwise leave one more small segment until the loop's next merge, and every segment
#: costs the next drain (finding a record's older version opens every segment) and every reader's reopen:
#: folding the last few single-record segments costs about a millisecond and brought commit to searchable
#: from 2.0× to 1.8× the in-request figure (docs/performance.md).  Larger ones wait for the loop's merges.
TINY_SEGMENT_DOCS = 10
#: ... and of at most this many bytes: a few papers with long full texts make a segment of few documents
#: that every later drain would otherwise read and write again.
TINY_SEGMENT_BYTES = 2**20


def segment_bytes(storage, segments) -> dict[str, int]:
    """Bytes on disk of each segment's files by segment id (its postings sidecar left out: merges do not read
    it), from one listing of the index directory."""
    wanted = {segment.segment_id() for segment in segments}
    sizes = dict.fromkeys(wanted, 0)
    for name in storage.list():
        segment_id = name.split(".", 1)[0]
        if segment_id in wanted and not name.endswith(sidecar.EXTENSION):
            try:
                sizes[segment_id] += storage.file_length(name)
            except FileNotFoundError:  # merged away by another process meanwhile (outside its writer lock)
                pass
    return sizes


def _fold(writer, segments, chosen: set[str]) -> tuple[list, int]:
    """Fold the ``chosen`` segments (by id) into the writer's new one (a Whoosh merge policy's work) and drop
    those whose documents are all deleted, unread; returns the segments kept and how many were folded."""
    kept, folded = [], 0
    for segment in segments:
        if segment.doc_count() == 0:
            continue  # every document deleted (a record saved again and again): nothing to carry over
        if segment.segment_id() in chosen:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
            folded += 1
        else:
            kept.append(segment)
    return kept, folded


def _fold_tiny(writer, segments):
    """Whoosh merge policy of the worker's drains: fold the tiny segments into the new one, drop the empty
    ones, keep the rest."""
    tiny = [s for s in segments if 0 < s.doc_count() and s.doc_count_all() < TINY_SEGMENT_DOCS]
    sizes = segment_bytes(writer.storage, tiny) if tiny else {}
    return _fold(writer, segments, {sid for sid, size in sizes.items() if size <= TINY_SEGMENT_BYTES})[0]


def drain_on_commit() -> None:
    """Register a drain to run after the current transaction commits (or now, outside one)."""
    if not any(callback is _drain_quietly for _, callback, _ in transaction.get_connection().run_on_commit):
        transaction.on_commit(_drain_quietly)


def _drain_quietly() -> None:
    try:
        result = drain()
    except Exception:
        # The entries stay in the log; process_index_queue or the next write applies them.
        logger.exception("index drain failed; the change log keeps the entries")
        return
    if result.missing or result.behind:
        logger.error("search node %s needs its index rebuilt (manage.py rebuild_index, or a run_worker)",
                     changelog.node_name())


def enqueue(kind: str, object_id: int, op: str = IndexChange.Op.SAVE) -> None:
    """Append a record to the change log in the current transaction (every node re-indexes it).

    Each node's worker ``apply_outbox`` loop applies it, woken when the transaction commits (``wake``); only with
    ``SEARCH_DRAIN_IN_REQUEST`` (a server without a worker) does this process drain after the commit.
    """
    IndexChange.objects.create(kind=kind, object_id=object_id, op=op)
    if settings.SEARCH_DRAIN_IN_REQUEST:
        drain_on_commit()
    else:
        wake.wake_on_commit()


# --- merging segments -------------------------------------------------------------------

#: A segment is small when it holds fewer documents than this share of the index (or than
#: SMALL_SEGMENT_FLOOR, so a young index's segments all count as small).
SMALL_SEGMENT_SHARE = 0.1
SMALL_SEGMENT_FLOOR = 1000
#: One merge reads at most this many bytes of segments: about a second of Whoosh's merging on the 2-core
#: machine (9.6 MB/s measured under load).  A merge holds the writer, and the twelfth attack's single merge of
#: 74 segments (590 MB) held it for four minutes while a librarian's new book waited; now the loop merges in
#: steps of this size with drains in between.  A segment of more than half of it is never merged (as a
#: rebuild's are not): a rebuild makes those few again.
MERGE_STEP_BYTES = 16 * 2**20


@dataclass
class MergeResult:
    segments_before: int = 0
    segments_after: int = 0
    merged: int = 0
    #: Live documents of a wasteful large segment queued to be indexed again (``evacuate_wasteful``).
    queued: int = 0
    busy: bool = False
    missing: bool = False


def _small_bound(sizes: list[tuple[int, int]]) -> float:
    return max(SMALL_SEGMENT_FLOOR, SMALL_SEGMENT_SHARE * sum(docs for docs, _ in sizes))


def merge_limit(sizes: list[tuple[int, int]], max_small: int, *, index_docs: int | None = None) -> float | None:
    """Segments with fewer documents than the returned number are to be merged; None: nothing to merge.

    ``sizes`` are the (documents, deleted) of the segments that may be merged; ``index_docs`` the documents of
    the whole index, when other segments are left out.  Size classes by powers of ten: the smallest class
    ``10**k`` under which more than ``max_small`` small segments lie.  Tiny segments are merged often and
    cheaply, and a merged segment is rewritten again only when enough others of its size have piled up
    beside it (a log-structured merge): the index keeps a few small segments and each document is rewritten
    a logarithmic number of times.
    """
    bound = _small_bound(sizes if index_docs is None else [(index_docs, 0)])
    small = sorted(docs for docs, _ in sizes if docs < bound)
    if len(small) <= max_small:
        return None
    limit = 10
    while sum(1 for docs in small if docs < limit) <= max_small:
        limit *= 10
    return min(limit, bound)


def merge_plan(storage, segments, *, max_small: int, max_bytes: int | None = None) -> set[str]:
    """The ids of the segments one merge step takes (empty: none): of the smallest size class that piled up
    (``merge_limit``), the smallest in bytes that together fit in ``max_bytes`` (``MERGE_STEP_BYTES``).
    Segments whose documents are all deleted are not counted (every commit drops them), nor those over half
    of ``max_bytes``, so that any two candidates fit and the step always makes progress.

    When no size class is due, a segment holding more deleted documents than live ones is rewritten on its
    own if it fits a step (the most wasteful first): a round that re-indexed many large records beside one
    other record leaves such a segment, too large for any size class, and it would keep its disk and its
    share of every search until a rebuild (found by the flood verified after the thirteenth attack)."""
    max_bytes = MERGE_STEP_BYTES if max_bytes is None else max_bytes
    live = [s for s in segments if s.doc_count() > 0]
    sizes = segment_bytes(storage, live)
    mergeable = [s for s in live if sizes[s.segment_id()] <= max_bytes // 2]
    bound = merge_limit([(s.doc_count_all(), s.deleted_count()) for s in mergeable], max_small,
                        index_docs=sum(s.doc_count_all() for s in live))
    chosen, total = set(), 0
    if bound is not None:
        for segment in sorted((s for s in mergeable if s.doc_count_all() < bound), key=lambda s: sizes[s.segment_id()]):
            if total + sizes[segment.segment_id()] > max_bytes:
                break
            chosen.add(segment.segment_id())
            total += sizes[segment.segment_id()]
    if len(chosen) > 1:
        return chosen
    wasteful = [s for s in live if s.deleted_count() > s.doc_count() and sizes[s.segment_id()] <= max_bytes]
    if wasteful:
        worst = max(wasteful, key=lambda s: sizes[s.segment_id()] * s.deleted_count() / s.doc_count_all())
        return {worst.segment_id()}
    return set()


#: A segment too large to merge (over half of ``MERGE_STEP_BYTES``) is emptied once this share of its documents
#: are deleted: Lucene's TieredMergePolicy allows a third too (``deletesPctAllowed``, 33 %).
EVACUATE_DELETED_SHARE = 1 / 3
#: Live documents one evacuation step queues; the next step comes when nothing waits for this node again.
EVACUATE_MAX_DOCS = 2_000


def evacuate_wasteful(ix, segments, *, generation: str, max_bytes: int | None = None) -> int:
    """Queue the live documents of the large segment with the most deleted bytes, when it holds at least
    ``EVACUATE_DELETED_SHARE`` deleted documents; returns how many were queued (0: none, or this node has work
    waiting — that is done first, so no document is queued twice).

    Merging such a segment is one step of its whole size that holds the writer (the fourteenth attack left a
    117 MB segment of 101 documents, 84 deleted, and the disk grew to 297 MB until a rebuild).  Queued
    instead, its live documents are indexed again by the ordinary drains, a commit at a time beside every
    other change, and once none is left in it the next commit drops the segment unread (``_fold``).  The
    segments are this node's own: the documents are queued in its cursor (``Cursor.local``), not in the log
    every node reads."""
    max_bytes = MERGE_STEP_BYTES if max_bytes is None else max_bytes
    live = [s for s in segments if s.doc_count() > 0]
    sizes = segment_bytes(ix.storage, live)
    wasteful = [s for s in live if sizes[s.segment_id()] > max_bytes // 2
                and s.deleted_count() >= EVACUATE_DELETED_SHARE * s.doc_count_all()]
    if not wasteful:
        return 0
    if not changelog.turn.take():
        return 0  # another thread of this process drains: later
    try:
        return _evacuate(ix, wasteful, sizes, generation=generation)
    finally:
        changelog.turn.give_back()


def _evacuate(ix, wasteful, sizes, *, generation: str) -> int:
    try:
        current = changelog.cursor(generation)
    except changelog.NodeBehind:
        return 0
    if current.has_work() or IndexChange.objects.filter(id__gt=current.read_to).exists():
        return 0
    worst = max(wasteful, key=lambda s: sizes[s.segment_id()] * s.deleted_count() / s.doc_count_all())
    keys = []
    try:
        reader = SegmentReader(ix.storage, ix.schema, worst)
        try:
            for docnum in reader.all_doc_ids():  # the live ones only
                keys.append(reader.stored_fields(docnum)["key"])
                if len(keys) >= EVACUATE_MAX_DOCS:
                    break
        finally:
            reader.close()
    except FileNotFoundError:  # merged away by another process meanwhile
        return 0
    for key in keys:
        kind, object_id = key.split(":")
        current.local[(kind, int(object_id))] = None
    logger.info("queued %d documents of index segment %s (%d of %d deleted, %d bytes) to be indexed again",
                len(keys), worst.segment_id(), worst.deleted_count(), worst.doc_count_all(), sizes[worst.segment_id()])
    return len(keys)


def merge_segments(*, max_small: int, max_bytes: int | None = None) -> MergeResult:
    """One merge step: merge small segments into one when there are more than ``max_small`` of them, at most
    ``max_bytes`` of them (``merge_plan``); call it again for the next step.

    Each drain without merging leaves one small segment, and every search pays for each segment
    (about 0.7 ms each at 5,000 records, mostly reopening the searcher after a commit), so the worker
    merges them between drains.  Large segments (a rebuild's) are left alone: merging them
    rewrites the whole index.  Takes the writer lock without waiting like ``drain`` (``busy`` when
    another process holds it); the caller drains after it (check-after-release).
    """
    result = MergeResult()
    try:
        ix, generation = generations.open_current()
    except generations.IndexMissing:
        result.missing = True
        return result
    try:
        try:
            segments = whoosh_private.toc_segments(ix)  # the table of contents only
        except FileNotFoundError:
            # Another process of the node committed between the listing and the reading of the table of
            # contents (Whoosh deletes the previous one): it looks at the segments itself.
            result.busy = True
            return result
        result.segments_before = result.segments_after = len(segments)
        if not merge_plan(ix.storage, segments, max_small=max_small, max_bytes=max_bytes):
            result.queued = evacuate_wasteful(ix, segments, generation=generation, max_bytes=max_bytes)
            return result
        writer = _writer_unless_busy(ix, result)
        if writer is None:
            return result
        try:
            # Decided again on the writer's own list: another process may have merged meanwhile.
            chosen = merge_plan(writer.storage, writer.segments, max_small=max_small, max_bytes=max_bytes)
            if not chosen:
                writer.cancel()
                return result

            def merge_chosen(writer, segments):
                kept, result.merged = _fold(writer, segments, chosen)
                return kept

            writer.commit(mergetype=merge_chosen)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
    finally:
        ix.close()
    try:
        ix = generations.open_index()
        try:
            result.segments_after = len(segment_sizes(ix))
        finally:
            ix.close()
    except (generations.IndexMissing, FileNotFoundError):  # changed again meanwhile: only the count is unknown
        result.segments_after = result.segments_before - result.merged + 1
    logger.info("merged %d small index segments (%d → %d)", result.merged, result.segments_before,
                result.segments_after)
    return result


# --- rebuild ------------------------------------------------------------------------


#: Postings a rebuild's writer process holds before writing them to a run file (search_index.bulk_writer): at
#: 100,000 records each of two writers holds about 200 MB and writes none.
REBUILD_POOL_MB = 512


@dataclass
class RebuildResult:
    records: int
    seconds: float
    generation: str


@contextmanager
def rebuild_lock(*, blocking: bool) -> Iterator[bool]:
    """One rebuild at a time on a node (the command, a job, the worker loop of each of its processes); yields
    False when another holds it and ``blocking`` is off."""
    generations.root().mkdir(parents=True, exist_ok=True)
    with open(generations.root() / ".rebuild.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def rebuild(*, progress: Callable[[int], None] | None = None, procs: int = 1,
            blocking: bool = True) -> RebuildResult | None:
    """Build a complete index from the database in a new directory and swap it in; None when another rebuild of
    this node is under way and ``blocking`` is off.

    The change-log position is taken first (``changelog.start_point``), then the database is read, then
    the entries after that position are applied: a change committed during the build is applied after the
    swap.  The node's row keeps the log from that position on meanwhile (``changelog.hold``).  While the build
    runs, the old index keeps answering searches and its write lock is held, so this node's drains wait.
    """
    with rebuild_lock(blocking=blocking) as mine:
        if not mine:
            return None
        result = _rebuild(progress=progress, procs=procs)
    drain()
    return result


def _rebuild(*, progress: Callable[[int], None] | None, procs: int) -> RebuildResult:
    started = time.monotonic()
    old_lock = old_generation = None
    try:
        old_ix, old_generation = generations.open_current()
    except generations.IndexMissing:
        old_ix = None
    if old_ix is not None:
        old_lock = old_ix.lock("WRITELOCK")
        # Wait for a drain in progress to finish, then keep others out.
        deadline = time.monotonic() + 60
        while not old_lock.acquire(blocking=False):
            if time.monotonic() > deadline:
                raise LockError("the index writer lock is held by another process for over 60 s")
            time.sleep(0.05)
    path = None
    try:
        # Before the database is read: every entry up to here (but the gaps) is in what the build reads.
        start = changelog.start_point()
        changelog.hold(start.position, generation=old_generation)
        path = generations.new_generation_dir()
        ix = generations.create_index(path)
        count = 0
        beat_at = time.monotonic()

        def counted(step: int) -> None:
            nonlocal count, beat_at
            count += step
            if progress:
                progress(step)
            if time.monotonic() - beat_at > changelog.HEARTBEAT_SECONDS:
                beat_at = time.monotonic()
                changelog.hold_beat()  # a long build is not taken for a dead node, whose entries are pruned

        # No transaction around the read: on SQLite it would block every
        # writer for the whole build.  Records changed meanwhile have entries
        # after ``position`` and are applied again after the swap.
        # Each writer process writes one segment (a single-process build, one) with its sidecar, before the
        # swap, so that no search ever reads the new generation's long lists from Whoosh's blocks.
        segments = bulk_writer.write_segments(
            ix, documents.all_documents(), prepare=functools.partial(_index_fields, dictionary=laws.current()),
            procs=procs, limitmb=REBUILD_POOL_MB, codec_factory=CatalogCodec,
            after=postings_cache.build_segment_sidecar, progress=counted)
        whoosh_private.commit_segments(ix, segments)
        postings_cache.build_sidecars(ix)  # none is missing: a check of each sidecar's key
        generations.mark_schema_version(path)
        generations.mark_log_position(path, start.position)
        generations.swap_in(path)
        changelog.adopt(generation=path.name, start=start)
    except BaseException:
        if path is not None and generations.current_generation() != path.name:
            shutil.rmtree(path, ignore_errors=True)
        raise
    finally:
        if old_lock is not None:
            old_lock.release()
    return RebuildResult(records=count, seconds=time.monotonic() - started, generation=path.name)


# --- check ----------------------------------------------------------------------------


@dataclass
class CheckResult:
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


COMPARED_FIELDS = (
    "title", "people", "summary", "isbn", "clc", "call_number", "year", "visibility", "available", "total", "earliest_due", "holds",
)


def check(*, fix: bool = False) -> CheckResult:
    """Compare every database record with its index entry; with ``fix``, queue repairs and drain."""
    ix = generations.open_index()
    result = CheckResult()
    with ix.searcher() as searcher:
        indexed = {fields["key"]: fields for fields in searcher.all_stored_fields()}
    seen = set()
    for doc in documents.all_documents():
        key = doc["key"]
        seen.add(key)
        stored = indexed.get(key)
        if stored is None:
            result.missing.append(key)
        elif any(stored.get(f) != doc[f] for f in COMPARED_FIELDS):
            result.stale.append(key)
    result.extra = sorted(set(indexed) - seen)
    if fix and not result.ok:
        # In the log, not in this node's cursor: the other nodes' indexes were written from the same database.
        with transaction.atomic():
            IndexChange.objects.bulk_create(
                IndexChange(kind=key.split(":")[0], object_id=int(key.split(":")[1]), op=IndexChange.Op.REINDEX)
                for key in [*result.missing, *result.stale, *result.extra]
            )
            wake.wake_on_commit()
        drain()
    return result
