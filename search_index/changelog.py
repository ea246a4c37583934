"""The change log as each search node reads it: its position, the gaps it waits for, pruning and lag.

Every catalogue change writes an ``IndexChange`` entry in its own transaction (``indexer.enqueue``).  A node
is an index directory and the workers that keep it, named by ``SEARCH_NODE`` (by default this machine's
name and the index directory: one machine needs no configuration).  Each node reads the entries after its
position in id order, indexes the records they name — re-reading each from the database, so applying an
entry twice is harmless — and writes its new position into its ``IndexNode`` row after the index commit
(at least once: a crash in between applies the same entries again).

Commit order is not id order on PostgreSQL: a transaction that took id 100 may commit after one that took
101 was read.  So a position never passes an id the node has not seen.  The ids missing below the highest
one read are *gaps*; each round reads them again, and the entries above them are applied as they come
(only the position waits).  A gap is settled — given up as an id that will never be committed — on
PostgreSQL once every transaction that was running when the gap had been known ``SETTLE_SECONDS`` has
ended (its xid snapshot: ``pg_snapshot_xmin`` now past that snapshot's ``xmax``) and the gap is still
empty, and on any database once it is older than ``SEARCH_LOG_GAP_SECONDS`` (the longest transaction
allowed to write the catalogue: a longer one's change may be missed by a node, and ``check_index --fix``
finds it).  On SQLite there are no such gaps: writers are serialised (IMMEDIATE transactions hold the
write lock from BEGIN to COMMIT, and AUTOINCREMENT ids are taken under it), so an id is committed before a
higher one is taken, and a gap is settled at once.

Pruning (``prune``, every ``PRUNE_SECONDS`` from any node's drain) deletes the entries behind the slowest
live node (heartbeat within ``SEARCH_NODE_LIVE_SECONDS``) and, whatever the nodes, those older than
``SEARCH_LOG_KEEP_SECONDS``; ``IndexLogState.pruned_through`` says how far.  A node whose position is below
it cannot catch up from the log, and a new node has no index: either rebuilds from the database
(``indexer.rebuild``: the position is taken first, then the build, then the entries after it are applied).

The reading state (``Cursor``) lives in the process; only the position and the heartbeat are in the
database.  Several processes of one node (workers sharing the index directory) each keep a cursor, and
write the position only while holding the index's writer lock, after checking the row they share
(``sync``): one that finds the position moved by another starts again from it.
"""

import hashlib
import heapq
import logging
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.db.models.functions import Least, Now
from django.utils import timezone
from django.utils.translation import gettext as _

from search_index import generations
from search_index.models import IndexChange, IndexLogState, IndexNode

logger = logging.getLogger(__name__)

#: A node's row is written at least this often (its heartbeat): after each index commit, and by idle rounds.
HEARTBEAT_SECONDS = 10.0
#: Each process prunes the log at most this often (any node's process does it for all).
PRUNE_SECONDS = 60.0
#: Entries read per query, and at most per round (a flood of saves of a few records is read whole, so that a
#: new book behind it is among the records of the next commit).
READ_ROWS = 2_000
ROUND_ROWS = 20_000
#: Reading stops while this many records wait to be indexed (memory: one dict entry each).
PENDING_MAX = 2_000
#: PostgreSQL: a gap's snapshot is taken once it has been known this long, so that the transaction holding
#: its id has surely been given its transaction id (taken with the id, in the same INSERT statement).
SETTLE_SECONDS = 1.0
#: Gap ranges looked at again in one query.
GAP_RANGES_PER_QUERY = 100
#: Entries deleted per transaction when pruning (SQLite has one writer: no long hold of the write lock).
PRUNE_BATCH = 5_000
#: Waiting entries are counted up to this many for the lag shown (admin, /readyz).
LAG_COUNT_CAP = 100_000

Record = tuple[str, int]


class NodeBehind(Exception):
    """This node's index cannot be brought up to date from the log (pruned past its position, or made before
    the log and the log pruned since): it must be rebuilt from the database."""


def node_name() -> str:
    """This node's name: ``SEARCH_NODE``, or this machine's host name and index directory."""
    if settings.SEARCH_NODE:
        return settings.SEARCH_NODE
    name = f"{socket.gethostname()}:{os.path.abspath(settings.SEARCH_INDEX_DIR)}"
    if len(name) > 255:
        name = name[:230] + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return name


def pruned_through() -> int:
    """The highest id pruned from the log (0: never pruned)."""
    return IndexLogState.objects.filter(pk=1).values_list("pruned_through", flat=True).first() or 0


def _serialised_writes() -> bool:
    """Whether every id below a visible one is visible too (SQLite's single writer; see the module's docstring)."""
    return connection.vendor != "postgresql"


def _snapshot() -> tuple[int, int]:
    """PostgreSQL: (xmin, xmax) of a snapshot taken now.  Every transaction below xmin has ended; xmax is the
    first transaction id not yet given out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint"
                       " FROM pg_current_snapshot() AS s")
        xmin, xmax = cursor.fetchone()
    return xmin, xmax


@dataclass
class Gap:
    """Ids ``lo``..``hi`` not seen although a higher one was: a transaction may still commit them."""

    lo: int
    hi: int
    #: When this process first saw the gap (time.monotonic()).
    noticed: float
    #: PostgreSQL: the xmax of a snapshot taken once the gap was SETTLE_SECONDS old.
    horizon: int | None = None


@dataclass
class Cursor:
    """This process's reading of the log for its node and the index generation it writes."""

    node: str
    generation: str
    #: Every entry up to here is in the index, or was a gap settled.
    position: int
    #: Every entry up to here was read, except the gaps.
    read_to: int
    gaps: list[Gap] = field(default_factory=list)
    #: Records read and not yet indexed, with the id of their first entry not yet indexed.  Indexing a record
    #: covers every entry of it read so far: its document is read after those entries were committed.
    pending: dict[Record, int] = field(default_factory=dict)
    #: Work of this node alone, with no entry in the log (the documents of a wasteful segment, written again).
    local: dict[Record, None] = field(default_factory=dict)
    #: (position, applied_to) as last written to (or read from) the node's row, and when (time.monotonic()); None
    #: while the row is not this generation's.
    saved: tuple[int, int] | None = None
    saved_at: float = 0.0

    def has_work(self) -> bool:
        return bool(self.pending or self.local)

    @property
    def applied_to(self) -> int:
        """The highest entry up to which everything read is indexed (gaps aside: they hold only the position)."""
        if self.pending:
            return max(self.position, min(self.pending.values()) - 1)
        return self.read_to

    def read(self) -> None:
        """Look at the gaps again, then read the entries after ``read_to``.  Raises NodeBehind when a gap
        turns out to have been pruned."""
        if self.gaps:
            self._look_at_gaps()
        total = 0
        while total < ROUND_ROWS and len(self.pending) < PENDING_MAX:
            rows = list(IndexChange.objects.filter(id__gt=self.read_to).order_by("id")
                        .values_list("id", "kind", "object_id")[:READ_ROWS])
            if not rows:
                break
            now = time.monotonic()
            expected = self.read_to + 1
            if rows[0][0] > expected and pruned_through() >= expected:
                if self._resume_from_row():
                    continue
                raise NodeBehind(f"entries after {self.read_to} were pruned before node {self.node} read them")
            for entry_id, kind, object_id in rows:
                if entry_id > expected:
                    self.gaps.append(Gap(expected, entry_id - 1, now))
                self.pending.setdefault((kind, object_id), entry_id)
                expected = entry_id + 1
            self.read_to = rows[-1][0]
            total += len(rows)
            if len(rows) < READ_ROWS:
                break
        self._advance()

    def _look_at_gaps(self) -> None:
        now = time.monotonic()
        xmin = None
        if not _serialised_writes():
            # Before the gaps are read: a transaction that ended before this snapshot and committed is seen below.
            xmin, xmax = _snapshot()
            for gap in self.gaps:
                if gap.horizon is None and now - gap.noticed >= SETTLE_SECONDS:
                    gap.horizon = xmax
        found: list[tuple[int, str, int]] = []
        for start in range(0, len(self.gaps), GAP_RANGES_PER_QUERY):
            ranges = Q()
            for gap in self.gaps[start:start + GAP_RANGES_PER_QUERY]:
                ranges |= Q(id__range=(gap.lo, gap.hi))
            found += IndexChange.objects.filter(ranges).order_by("id").values_list("id", "kind", "object_id")
        for entry_id, kind, object_id in found:
            record = (kind, object_id)
            self.pending[record] = min(self.pending.get(record, entry_id), entry_id)
        gaps = _split(self.gaps, sorted(entry_id for entry_id, _, _ in found))
        keep, settled, timed_out = [], [], []
        for gap in gaps:
            if now - gap.noticed > settings.SEARCH_LOG_GAP_SECONDS:
                timed_out.append(gap)
            elif xmin is None or (gap.horizon is not None and xmin >= gap.horizon):
                settled.append(gap)
            else:
                keep.append(gap)
        if settled or timed_out:
            floor = pruned_through()
            if any(gap.lo <= floor for gap in settled + timed_out):
                if self._resume_from_row():
                    return
                raise NodeBehind(f"entries up to {floor} were pruned before node {self.node} read them")
            for gap in timed_out:
                logger.warning("index change log: ids %d-%d not committed after %s s; node %s goes on without them "
                               "(a longer transaction's change is found by check_index)", gap.lo, gap.hi,
                               settings.SEARCH_LOG_GAP_SECONDS, self.node)
        self.gaps = keep

    def _resume_from_row(self) -> bool:
        """The log was pruned past what this process read.  When the node's row is this generation's and at or
        past the pruned end, another process of the node applied those entries (and then pruned): go on from the
        row, as ``sync`` does, instead of rebuilding.  False when the node really is behind."""
        row = IndexNode.objects.filter(name=self.node).values_list("generation", "position", "applied_to").first()
        if row is None or row[0] != self.generation or row[1] < pruned_through():
            return False
        self.position = self.read_to = row[1]
        self.gaps, self.pending = [], {}
        self.saved, self.saved_at = (row[1], row[2]), time.monotonic()
        return True

    def _advance(self) -> None:
        lowest = [gap.lo for gap in self.gaps] + list(self.pending.values())
        self.position = min(lowest) - 1 if lowest else self.read_to

    def next_records(self, limit: int) -> list[Record]:
        """Up to ``limit`` records to index next: those waiting longest (their first entry not yet indexed),
        then this node's own work."""
        heads = [record for record, _ in heapq.nsmallest(limit, self.pending.items(), key=lambda item: item[1])]
        if len(heads) < limit:
            chosen = set(heads)
            heads += [record for record in self.local if record not in chosen][:limit - len(heads)]
        return heads

    def applied(self, records: list[Record]) -> None:
        """``records`` are in the index, committed: every entry of them read so far is applied."""
        for record in records:
            self.pending.pop(record, None)
            self.local.pop(record, None)
        self._advance()


def _split(gaps: list[Gap], found: list[int]) -> list[Gap]:
    """The gaps without the ids ``found`` (sorted)."""
    if not found:
        return gaps
    result = []
    for gap in gaps:
        lo = gap.lo
        for entry_id in found:
            if entry_id < lo or entry_id > gap.hi:
                continue
            if entry_id > lo:
                result.append(Gap(lo, entry_id - 1, gap.noticed, gap.horizon))
            lo = entry_id + 1
        if lo <= gap.hi:
            result.append(Gap(lo, gap.hi, gap.noticed, gap.horizon))
    return result


# --- this process's cursors -----------------------------------------------------------------------------------

_cursors: dict[str, Cursor] = {}


class _Turn:
    """One drain at a time in a process (the cursor is the process's); a thread that finds it taken leaves
    a knock, and the holder drains again after its turn (the commit that thread wanted applied is then
    visible to it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.knocked = False

    def take(self) -> bool:
        self.knocked = True
        if not self.lock.acquire(blocking=False):
            return False
        self.knocked = False
        return True

    def give_back(self) -> bool:
        """Release; True if another thread knocked meanwhile."""
        self.lock.release()
        return self.knocked


turn = _Turn()


def _start(node: str, generation: str) -> tuple[int, tuple[int, int] | None]:
    """Where reading starts for ``generation`` of this node, and the row's (position, applied_to) when it is this
    generation's: its row's position, else the position the generation was made at; raises NodeBehind when
    the log no longer holds what comes after."""
    row = IndexNode.objects.filter(name=node).values_list("generation", "position", "applied_to").first()
    floor = pruned_through()
    saved = None
    if row is not None and row[0] == generation:
        position, saved = row[1], (row[1], row[2])
    else:
        position = index_position(generation, floor)
    if position < floor:
        raise NodeBehind(f"node {node} is at {position} and the log was pruned through {floor}")
    return position, saved


def index_position(generation: str, floor: int) -> int:
    """The log position ``generation`` was made at (what it holds without a row of its own).  A generation made
    before the change log (an upgrade from the outbox) holds everything but the outbox's rows, which the upgrade
    copied into the log: complete from the start (0), until a prune (-1: behind)."""
    position = generations.log_position(generation)
    if position is None:
        return 0 if floor == 0 else -1
    return position


def cursor(generation: str) -> Cursor:
    """This process's cursor for this node and ``generation`` (the current index's); raises NodeBehind."""
    node = node_name()
    current = _cursors.get(node)
    if current is None or current.generation != generation:
        position, saved = _start(node, generation)
        current = _cursors[node] = Cursor(node=node, generation=generation, position=position, read_to=position,
                                          saved=saved, saved_at=time.monotonic())
    return current


def forget() -> None:
    """Drop this process's cursor of this node (it is read again from the database on the next drain)."""
    _cursors.pop(node_name(), None)


def sync(current: Cursor) -> Cursor:
    """Under the index writer's lock: the cursor to go on with.  Another process of this node may have moved
    the row since this one wrote or read it (applied further, or a rebuild lowered it): then this one starts
    again from the row, carrying its own local work over."""
    row = IndexNode.objects.filter(name=current.node).values_list("generation", "position", "applied_to").first()
    if row is None or row[0] != current.generation:
        if row is not None and foreign_generation(row[0]):
            _warn_shared(current.node, row[0])
        current.saved = None  # not ours yet, or a rebuild that never finished: this generation's from now on
        return current
    if current.saved is not None and row[1] == current.saved[0]:
        return current
    fresh = Cursor(node=current.node, generation=current.generation, position=row[1], read_to=row[1],
                   local=current.local, saved=(row[1], row[2]), saved_at=time.monotonic())
    if fresh.position < pruned_through():
        forget()
        raise NodeBehind(f"node {current.node} is at {fresh.position}, behind the pruned log")
    _cursors[current.node] = fresh
    fresh.read()
    return fresh


def foreign_generation(generation: str | None) -> bool:
    """Whether a node row's generation is none of this node's index directory: another index directory writes the
    row too, i.e. two nodes share one name (``SEARCH_NODE`` copied to both).  Each then overwrites the other's
    position, so pruning protects only the one that wrote last and /readyz shows the other's lag."""
    return bool(generation) and not (generations.root() / generation).is_dir()


_shared_warned_at = [-math.inf]


def _warn_shared(node: str, generation: str) -> None:
    now = time.monotonic()
    if now - _shared_warned_at[0] >= 60:
        _shared_warned_at[0] = now
        logger.error("search node %s: its row names index generation %s, which is not in %s: another node uses the "
                     "same name; give each node its own SEARCH_NODE", node, generation, settings.SEARCH_INDEX_DIR)


def unsaved(current: Cursor) -> bool:
    """Whether the cursor has moved since its row was written (a gap settled, a node's first round)."""
    return current.saved != (current.position, current.applied_to)


def save(current: Cursor) -> None:
    """Write the node's position after an index commit (under the writer's lock), with its heartbeat."""
    state = (current.position, current.applied_to)
    if state == current.saved and time.monotonic() - current.saved_at < HEARTBEAT_SECONDS:
        return
    _write_row(current.node, generation=current.generation, position=state[0], applied_to=state[1])
    current.saved, current.saved_at = state, time.monotonic()


def beat(current: Cursor) -> None:
    """The heartbeat of an idle round (without the writer's lock, so only ``seen_at``: a position is written
    under the lock, by ``save``).  Raises NodeBehind when the log was pruned past what this node read (it was
    taken for dead: silent longer than ``SEARCH_NODE_LIVE_SECONDS``)."""
    now = time.monotonic()
    if now - current.saved_at < HEARTBEAT_SECONDS:
        return
    current.saved_at = now
    if pruned_through() > current.read_to:
        raise NodeBehind(f"the log was pruned past node {current.node}'s {current.read_to}")
    if not IndexNode.objects.filter(name=current.node, generation=current.generation).update(seen_at=Now()):
        current.saved = None  # the row is gone or another generation's: the next round writes it under the lock


def _write_row(node: str, *, generation: str, position: int, applied_to: int) -> None:
    values = {"generation": generation, "position": position, "applied_to": max(applied_to, position),
              "seen_at": Now()}
    if IndexNode.objects.filter(name=node).update(**values):
        return
    try:
        with transaction.atomic():
            IndexNode.objects.create(name=node, **values)
    except IntegrityError:
        IndexNode.objects.filter(name=node).update(**values)


# --- rebuilds ---------------------------------------------------------------------------------------------------


@dataclass
class Start:
    """Where a rebuild's index starts reading the log, taken before the build reads the database: every entry up
    to ``read_to`` but the ``gaps`` is committed, so the build reads its change; ``position`` is below the
    first gap (the node's durable position)."""

    position: int
    read_to: int
    gaps: list[Gap]


def start_point() -> Start:
    """The log's end as a rebuild starts.  On SQLite every id up to the last entry is settled.  On PostgreSQL a
    missing id may still be committed by a transaction running now: the ids missing among the entries of the
    last ``SEARCH_LOG_GAP_SECONDS`` (the longest transaction allowed) are gaps, waited for after the build as
    any gap is; older ones are settled."""
    floor = pruned_through()
    last = max(floor, IndexChange.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    if _serialised_writes():
        return Start(last, last, [])
    recent = Now() - timedelta(seconds=settings.SEARCH_LOG_GAP_SECONDS)  # the clock that wrote created_at
    settled = max(floor, IndexChange.objects.filter(created_at__lt=recent).order_by("-id").values_list(
        "id", flat=True).first() or 0)
    now, gaps, expected = time.monotonic(), [], settled + 1
    for entry_id in (IndexChange.objects.filter(id__gt=settled, id__lte=last).order_by("id")
                     .values_list("id", flat=True).iterator(chunk_size=10_000)):
        if entry_id > expected:
            gaps.append(Gap(expected, entry_id - 1, now))
        expected = entry_id + 1
    if last >= expected:  # the last ids were pruned meanwhile
        gaps.append(Gap(expected, last, now))
    return Start(gaps[0].lo - 1 if gaps else last, last, gaps)


def hold(position: int, *, generation: str | None) -> None:
    """At the start of a rebuild: make the node's row keep the log from ``position`` on while the build runs
    (pruning stops at the slowest live node).  A row of the index being replaced keeps its generation and
    moves down to ``position`` if it was further (the old index stays valid from there if the build fails).
    Without one (a new node, or one away so long that its row was forgotten) the row names no generation: it
    keeps the log without vouching for the old index, which holds only what it was made with
    (``index_position``; ``node_state`` and a restart after a failed build judge it by that)."""
    node = node_name()
    if generation is not None and IndexNode.objects.filter(name=node, generation=generation).update(
            position=Least(F("position"), position), seen_at=Now()):
        return
    _write_row(node, generation="", position=position, applied_to=position)


def hold_beat() -> None:
    """The heartbeat of a rebuild in progress (called by its progress every HEARTBEAT_SECONDS or so)."""
    IndexNode.objects.filter(name=node_name()).update(seen_at=Now())


def adopt(*, generation: str, start: Start) -> None:
    """A new generation is current (a rebuild swapped it in): the node reads the log from ``start``."""
    node = node_name()
    _write_row(node, generation=generation, position=start.position, applied_to=start.read_to)
    _cursors[node] = Cursor(node=node, generation=generation, position=start.position, read_to=start.read_to,
                            gaps=list(start.gaps), saved=(start.position, start.read_to), saved_at=time.monotonic())


# --- pruning ----------------------------------------------------------------------------------------------------

_last_prune = [0.0]


def prune_if_due() -> int:
    """``prune()`` if this process has not pruned for ``PRUNE_SECONDS``; how many entries it deleted."""
    now = time.monotonic()
    if now - _last_prune[0] < PRUNE_SECONDS:
        return 0
    _last_prune[0] = now
    try:
        return prune()
    except Exception:  # noqa: BLE001 - a busy database: the next one prunes
        logger.exception("pruning the index change log failed; trying again later")
        return 0


def prune() -> int:
    """Delete the entries every live node has applied (heartbeat within ``SEARCH_NODE_LIVE_SECONDS``) and those
    older than ``SEARCH_LOG_KEEP_SECONDS``; forget the nodes silent for that long.  Returns how many entries."""
    # Heartbeats and entries are written with the database's clock, and read with it: the nodes' clocks may differ.
    now = Now()
    live = IndexNode.objects.filter(seen_at__gte=live_since())
    behind_live = live.aggregate(slowest=Min("position"))["slowest"] or 0
    keep_since = now - timedelta(seconds=settings.SEARCH_LOG_KEEP_SECONDS)
    first_kept = IndexChange.objects.filter(created_at__gte=keep_since).order_by("id").values_list(
        "id", flat=True).first()
    if first_kept is None:
        first_kept = (IndexChange.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cut = max(behind_live, first_kept - 1)
    deleted = 0
    # Looked at first, outside a transaction: on SQLite every transaction here takes the one write lock.
    while cut > pruned_through():
        with transaction.atomic():
            state, _ = IndexLogState.objects.select_for_update().get_or_create(pk=1)
            if state.pruned_through >= cut:
                break
            first = IndexChange.objects.filter(id__gt=state.pruned_through).order_by("id").values_list(
                "id", flat=True).first()
            upto = cut if first is None or first > cut else min(cut, first + PRUNE_BATCH - 1)
            # Raised in the same transaction as the deletion: a node that reads the new entries after it also
            # reads how far the log was pruned.
            deleted += IndexChange.objects.filter(id__lte=upto).delete()[0]
            state.pruned_through, state.pruned_at = upto, now
            state.save(update_fields=["pruned_through", "pruned_at"])
    forgotten = IndexNode.objects.filter(seen_at__lt=keep_since)
    if forgotten.exists():
        forgotten.delete()
    if deleted:
        logger.info("pruned %d index change log entries (through %d)", deleted, cut)
    return deleted


# --- lag ------------------------------------------------------------------------------------------------------


def lag(node: IndexNode | None, *, after: int | None = None) -> tuple[int, float]:
    """(entries waiting for ``node``, seconds the oldest of them has waited); counted up to LAG_COUNT_CAP.  A node
    without a row waits for the whole log; ``after``: counted after that entry instead."""
    if after is None:
        after = node.applied_to if node is not None else 0
    waiting = IndexChange.objects.filter(id__gt=after)
    count = waiting[:LAG_COUNT_CAP].count()
    oldest = waiting.order_by("id").values_list("created_at", flat=True).first()
    return count, max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


def node_state(name: str | None = None) -> dict:
    """This node's (or ``name``'s) place in the log, for /readyz and the admin."""
    own = name is None
    name = name or node_name()
    row = IndexNode.objects.filter(name=name).first()
    if own and row is not None and foreign_generation(row.generation):
        # The row is another node's (a shared name): its position and lag say nothing of this node's index.
        return {"node": name, "position": None, "waiting": None, "lag_seconds": None,
                "problem": _("另一节点的索引（%(generation)s）也以本节点的名称记录进度：请为每个节点设置不同的 "
                             "SEARCH_NODE") % {"generation": row.generation}}
    floor = pruned_through()
    position, after = (row.position, row.applied_to) if row is not None else (None, 0)
    generation = generations.current_generation() if own else None
    if generation and (row is None or row.generation != generation):
        # No row of this index (a new node, or a rebuild holding the log for no index yet): the index holds what
        # it was made with, and what it reads of the log after that.
        after = index_position(generation, floor)
        position = after if row is not None else None
        behind_at = after
    else:
        behind_at = position
    if behind_at is not None and behind_at < floor:
        # Entries it never applied were pruned (it was taken for dead): what is left of the log is not its lag.
        return {"node": name, "position": behind_at, "waiting": None, "lag_seconds": None, "behind": True,
                "problem": _("日志已清理到 %(floor)s，本节点停在 %(position)s：它的索引须重建（其工作进程会自动重建）")
                % {"floor": floor, "position": behind_at}}
    waiting, seconds = lag(row, after=after)
    return {"node": name, "position": position, "waiting": waiting, "lag_seconds": round(seconds, 1)}


def stalled() -> dict | None:
    """This node's index loop is stalled: changes have waited longer than SEARCH_NODE_STALE_SECONDS and its row
    was not written for as long (its worker stopped; a node catching up writes its row after each commit and
    every HEARTBEAT_SECONDS), both judged by the database's clock.  None when not; otherwise the reason and
    whether another node is current (heard from, and nothing waiting that long for it), which can take its
    searches.  A node without a row of its own (new, or rebuilding) is the rebuild's to report, not this."""
    since = Now() - timedelta(seconds=settings.SEARCH_NODE_STALE_SECONDS)
    row = IndexNode.objects.filter(name=node_name(), seen_at__lt=since).first()
    if row is None or foreign_generation(row.generation):
        return None
    old = IndexChange.objects.filter(id__gt=row.applied_to, created_at__lt=since)
    if not old.exists():
        return None
    waiting = IndexChange.objects.filter(id__gt=row.applied_to)[:LAG_COUNT_CAP].count()
    others = IndexNode.objects.exclude(name=row.name).filter(seen_at__gte=since).exclude(
        Exists(IndexChange.objects.filter(id__gt=OuterRef("applied_to"), created_at__lt=since)))
    problem = _("本节点的索引有 %(waiting)s 条变更等待超过 %(seconds)s 秒，其索引进程同样久没有心跳"
                "（请检查本节点的 manage.py run_worker）") % {"waiting": waiting,
                                                          "seconds": settings.SEARCH_NODE_STALE_SECONDS}
    return {"problem": problem, "others_current": others.exists()}


def live_since():
    """The earliest heartbeat of a live node, on the database's clock (heartbeats are written with it): an
    expression to filter or annotate ``IndexNode.seen_at`` with."""
    return Now() - timedelta(seconds=settings.SEARCH_NODE_LIVE_SECONDS)


def is_live(node: IndexNode) -> bool:
    """Whether ``node`` was heard from within SEARCH_NODE_LIVE_SECONDS, judged by the database's clock, not the
    asking node's (the admin of a node whose clock is off would show every other node dead, or a dead one live)."""
    return IndexNode.objects.filter(pk=node.pk, seen_at__gte=live_since()).exists()


def waiting_here() -> int:
    """Entries this node has not applied (for tests and commands: 0 when its index holds every change)."""
    return lag(IndexNode.objects.filter(name=node_name()).first())[0]

