"""A Whoosh segment's posting lists and per-document values as numpy arrays, cached per segment.

Whoosh walks postings one document at a time in Python, a few microseconds per posting per field;
at 100,000 records a common word has tens of thousands of postings.  Here a term's postings are
decoded a whole block at a time into two arrays (document numbers, weights), and the field lengths
and facet values of every document into one array each, so that matching, filtering, facet counts
and BM25F scoring (:mod:`search_index.searcher`) run as vectorised numpy operations.

This module reads Whoosh's storage below its public API (the W3 codec's posting blocks and the
per-document lengths column) through :mod:`search_index.whoosh_private`, which holds every such access
and names the Whoosh version it was written for; the tests check every array against Whoosh's own
per-document answers.  A segment never changes once written — only documents in it get deleted, and
the searcher subtracts those on every search — so cached arrays stay valid until a merge retires the
segment.

A segment's long lists (``SIDECAR_MIN_POSTINGS`` postings or more) are also written decoded, once, to a
file next to the segment (:mod:`search_index.sidecar`, :func:`build_sidecars`) and memory-mapped from
there: the first read of a long list no longer unpacks Whoosh's blocks in every worker process.
Without a sidecar, or with one that does not match its segment, lists are decoded as before.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.system import unpack_uint

from search_index import sidecar
from search_index.whoosh_private import (
    LENGTH_OF_BYTE,
    at_end,
    block_ids,
    block_values,
    block_weights,
    column_bytes,
    column_count,
    length_column,
    next_block,
    open_column_file,
    opened_value_column,
    per_doc_reader,
    stored_column,
)

logger = logging.getLogger(__name__)

#: Upper bound on the postings held by the term cache, all segments together (8 bytes each: about
#: 64 MB per process).
TERM_CACHE_POSTINGS = 8_000_000
#: Lists of at least this many postings go into a segment's sidecar.  A shorter list is a few blocks
#: (512 postings: 4 blocks, under 0.3 ms to unpack), and leaving them out keeps the sidecar's table small.
SIDECAR_MIN_POSTINGS = 512
#: A segment found without a sidecar is read without one for this long before looking again (a worker
#: may be writing it).
SIDECAR_RECHECK_SECONDS = 5.0
#: False: searches ignore sidecars (the benchmark's ``--no-sidecars``, to measure without them).
READ_SIDECARS = True

_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.empty(0, dtype=np.float32)


@dataclass(frozen=True)
class Postings:
    """A term's postings in one segment: sorted document numbers and their weights."""

    ids: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


EMPTY = Postings(_EMPTY_IDS, _EMPTY_WEIGHTS)


@dataclass(frozen=True)
class Positions:
    """A term's positions in one segment: document ``ids[i]`` holds it at ``pos[starts[i]:starts[i + 1]]``."""

    ids: np.ndarray
    starts: np.ndarray
    pos: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


NO_POSITIONS = Positions(_EMPTY_IDS, np.zeros(1, dtype=np.int64), _EMPTY_IDS)

_lock = threading.Lock()
_terms: OrderedDict[tuple, Postings] = OrderedDict()
_terms_size = 0
_sizes: dict[tuple, int] = {}
#: Per segment id: lengths by field, facet columns by field.
_segments: dict[str, dict[tuple, object]] = {}


def read_postings(reader, fieldname: str, btext: bytes) -> Postings:
    """Every posting of a term, deleted documents included (the caller subtracts those)."""
    try:
        matcher = reader.postings(fieldname, btext)
    except TermNotFound:
        return EMPTY
    if isinstance(matcher, FilterMatcher):
        # The deletion filter has already stepped its child past leading deleted documents.
        matcher = matcher.child
        matcher.reset()
    if not isinstance(matcher, W3LeafMatcher):  # pragma: no cover - another codec
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return Postings(np.array(ids, dtype=np.int32), np.array(weights, dtype=np.float32))
    id_blocks, weight_blocks = [], []
    while matcher.is_active():
        id_blocks.append(np.asarray(block_ids(matcher), dtype=np.int32))
        weight_blocks.append(np.asarray(block_weights(matcher), dtype=np.float32))
        next_block(matcher)
    if not id_blocks:
        return EMPTY
    return Postings(np.concatenate(id_blocks), np.concatenate(weight_blocks))


def read_positions(reader, fieldname: str, btext: bytes) -> tuple[Postings, Positions]:
    """A term's postings and every posting's positions (a positioned field), deleted documents included.

    One pass: a posting block holds ids, weights and positions in one compressed pickle, and
    unpacking it is most of the cost of reading a term.
    """
    try:
        matcher = reader.postings(fieldname, btext)
    except TermNotFound:
        return EMPTY, NO_POSITIONS
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
        matcher.reset()
    id_blocks, weight_blocks, values = [], [], []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            id_blocks.append(np.asarray(block_ids(matcher), dtype=np.int32))
            weight_blocks.append(np.asarray(block_weights(matcher), dtype=np.float32))
            values.extend(block_values(matcher))
            next_block(matcher)
    else:  # inlined postings (a term in one document) or another codec
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        id_blocks.append(np.array(ids, dtype=np.int32))
        weight_blocks.append(np.array(weights, dtype=np.float32))
    if not values:
        return EMPTY, NO_POSITIONS
    counts, pos = decode_positions(values)
    starts = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    ids = np.concatenate(id_blocks)
    return Postings(ids, np.concatenate(weight_blocks)), Positions(ids, starts, pos)


# Whoosh's Positions format stores a posting's positions as a 4-byte big-endian count followed by
# pickle.dumps(deltas, 2): PROTO 2, EMPTY_LIST, BINPUT 0, then MARK, the deltas, APPENDS (or, for one
# delta, the delta and APPEND), STOP.  Each delta is BININT1 (K, 1 byte), BININT2 (M, 2 bytes) or
# BININT (J, 4 bytes).  decode_positions parses that layout for all postings at once, one delta of
# every posting per step; a posting in any other layout (pickle batches appends by 1,000) is decoded
# by Whoosh's own unpickling.
_HEADER = np.frombuffer(b"\x80\x02]q\x00", dtype=np.uint8)
_K, _M, _J, _APPEND, _APPENDS, _STOP = (ord(c) for c in "KMJae.")
_PAD = 8


def decode_positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The position counts of the encoded postings ``values`` and all their positions, concatenated."""
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    ends = np.cumsum(lengths)
    begins = ends - lengths
    buf = np.frombuffer(b"".join(values) + b"\x00" * (_PAD + 16), dtype=np.uint8)
    b64 = buf.astype(np.int64)
    counts = (b64[begins] << 24) | (b64[begins + 1] << 16) | (b64[begins + 2] << 8) | b64[begins + 3]
    ok = (lengths >= 8) & (counts >= 1) & (counts <= 1000)
    for i, byte in enumerate(_HEADER):
        ok &= buf[begins + 4 + i] == byte
    counts = np.where(ok, counts, 0)
    out_starts = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_starts[1:])
    deltas = np.zeros(int(out_starts[-1]), dtype=np.int64)
    cursor = begins + 9 + (counts > 1)
    live = np.flatnonzero(ok)
    step = 0
    while len(live):
        at = cursor[live]
        op = buf[at]
        one, two = b64[at + 1], b64[at + 2]
        value = np.where(op == _K, one, one | (two << 8))
        is_j = op == _J
        if is_j.any():
            wide = one | (two << 8) | (b64[at + 3] << 16) | (b64[at + 4] << 24)
            value = np.where(is_j, wide, value)
        known = (op == _K) | (op == _M) | is_j
        ok[live[~known]] = False
        deltas[out_starts[live] + step] = value
        cursor[live] = at + np.where(op == _K, 2, np.where(op == _M, 3, 5))
        step += 1
        live = live[known & (counts[live] > step)]
    tail = np.where(counts > 1, _APPENDS, _APPEND)
    safe = np.minimum(cursor, len(buf) - 2)
    ok &= (buf[safe] == tail) & (buf[safe + 1] == _STOP) & (cursor + 2 == ends)
    positions = np.cumsum(deltas)
    if len(positions):
        # Per posting: subtract the running sum of the postings before it.
        first = out_starts[:-1]
        base = np.zeros(len(values), dtype=np.int64)
        has = counts > 0
        base[has] = positions[first[has]] - deltas[first[has]]
        positions -= np.repeat(base, counts)
    if ok.all():
        return counts, positions.astype(np.int32)
    # Fall back, posting by posting, where the fast path did not recognise the layout.
    parts = []
    new_counts = counts.copy()
    for i in range(len(values)):
        if ok[i]:
            parts.append(positions[out_starts[i] : out_starts[i + 1]])
        else:
            decoded = _decode_one(values[i])
            new_counts[i] = len(decoded)
            parts.append(np.asarray(decoded, dtype=np.int64))
    flat = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    return new_counts, flat.astype(np.int32)


def _decode_one(value: bytes) -> list[int]:
    from whoosh.formats import Positions as WhooshPositions

    if len(value) < 4 or not unpack_uint(value[:4])[0]:
        return []
    return WhooshPositions().decode_positions(value)


def postings(reader, segment_id: str, fieldname: str, text) -> Postings:
    """A term's postings, from the cache when possible."""
    if fieldname not in reader.schema:
        return EMPTY
    btext = text if isinstance(text, bytes) else reader.schema[fieldname].to_bytes(text)
    side = _sidecar(reader, segment_id)
    if side is not None:
        found = side.postings(fieldname, btext)
        if found is not None:
            # Mapped, not copied: nothing to keep in the term cache.
            return Postings(*found)
    return _cached((segment_id, fieldname, btext), lambda: read_postings(reader, fieldname, btext), len)


def _read_postings(reader, segment_id: str, fieldname: str, btext: bytes) -> Postings:
    """A term's postings from the segment's sidecar or decoded, bypassing the cache."""
    side = _sidecar(reader, segment_id)
    found = None if side is None else side.postings(fieldname, btext)
    return Postings(*found) if found is not None else read_postings(reader, fieldname, btext)


def positions(reader, segment_id: str, fieldname: str, btext: bytes) -> Positions:
    """A term's positions (a positioned field), from the cache when possible."""
    if fieldname not in reader.schema:
        return NO_POSITIONS
    side = _sidecar(reader, segment_id)
    if side is not None:
        mapped = side.positions(fieldname, btext)
        if mapped is not None:
            ids, _weights, counts, pos = mapped
            starts = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(counts, out=starts[1:])
            return Positions(ids, starts, pos)
    key = (segment_id, fieldname, btext, "positions")
    with _lock:
        cached = _lookup(key)
    if cached is not None:
        return cached
    found_postings, found = read_positions(reader, fieldname, btext)
    with _lock:
        # The postings come with the positions: keep both (a phrase's candidates are found from them).
        _store((segment_id, fieldname, btext), found_postings, len(found_postings))
        # Counted in the cache's 8-byte units: an int32 id, an int64 start and int32 positions.
        _store(key, found, len(found) + (len(found) + len(found.pos)) // 2)
    return found


def positions_in(reader, fieldname: str, btext: bytes, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The term's positions in ``docs`` (sorted) only: (the documents found, their position counts, the
    positions concatenated).  Unpacks only the posting blocks that hold those documents, so a phrase's few
    candidates cost a few blocks of a frequent word, not all of them."""
    if fieldname not in reader.schema or not len(docs):
        return _EMPTY_IDS, np.zeros(0, dtype=np.int64), _EMPTY_IDS
    try:
        matcher = reader.postings(fieldname, btext)
    except TermNotFound:
        return _EMPTY_IDS, np.zeros(0, dtype=np.int64), _EMPTY_IDS
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
        matcher.reset()
    found, values = [], []
    if isinstance(matcher, W3LeafMatcher):
        for doc in docs.tolist():
            # Whole blocks are passed over by their last id, without unpacking them.
            while not at_end(matcher) and doc > matcher.block_max_id():
                next_block(matcher)
            if at_end(matcher):
                break
            ids = block_ids(matcher)
            i = bisect_left(ids, doc)
            if i < len(ids) and ids[i] == doc:
                found.append(doc)
                values.append(block_values(matcher)[i])
    else:  # inlined postings (a term in one document) or another codec
        wanted = set(docs.tolist())
        while matcher.is_active():
            if matcher.id() in wanted:
                found.append(matcher.id())
                values.append(matcher.value())
            matcher.next()
    if not values:
        return _EMPTY_IDS, np.zeros(0, dtype=np.int64), _EMPTY_IDS
    counts, pos = decode_positions(values)
    return np.array(found, dtype=np.int32), counts, pos


def is_cached(segment_id: str, fieldname: str, btext: bytes, *, positions: bool = False) -> bool:
    """Whether the term's postings (or its positions) are cheap to read: in the cache, or in the segment's
    sidecar (once a read of the segment has opened it)."""
    key = (segment_id, fieldname, btext, "positions") if positions else (segment_id, fieldname, btext)
    with _lock:
        if key in _terms:
            return True
        opened = _segments.get(segment_id, {}).get("sidecar")
    return opened is not None and opened[0] is not None and (fieldname, btext) in opened[0]


def _cached(key: tuple, read, size):
    with _lock:
        cached = _lookup(key)
    if cached is not None:
        return cached
    found = read()
    with _lock:
        _store(key, found, size(found))
    return found


def _lookup(key: tuple):
    cached = _terms.get(key)
    if cached is not None:
        _terms.move_to_end(key)
    return cached


def _store(key: tuple, found, size: int) -> None:
    global _terms_size
    if key in _terms:
        return
    _terms[key] = found
    _terms_size += size + 1
    _sizes[key] = size + 1
    while _terms_size > TERM_CACHE_POSTINGS and len(_terms) > 1:
        old_key, _ = _terms.popitem(last=False)
        _terms_size -= _sizes.pop(old_key)


def field_lengths(reader, segment_id: str, fieldname: str) -> np.ndarray:
    """Every document's length in ``fieldname`` (as Whoosh scores it), indexed by document number."""
    key = ("lengths", fieldname)
    cache = _segment_cache(segment_id)
    found = cache.get(key)
    if found is None:
        count = reader.doc_count_all()
        raw = np.zeros(count, dtype=np.uint8)
        column = length_column(per_doc_reader(reader), fieldname)
        if column is not None:
            stored = min(column_count(column), count)
            if stored:
                raw[:stored] = np.frombuffer(column_bytes(column, stored), dtype=np.uint8)
        found = LENGTH_OF_BYTE[raw]
        cache[key] = found
    return found


def facet_column(reader, segment_id: str, fieldname: str) -> tuple[list[str], np.ndarray]:
    """The values of a single-valued ID field and, per document, the index of its value (-1: none)."""
    key = ("facet", fieldname)
    cache = _segment_cache(segment_id)
    found = cache.get(key)
    if found is None:
        codes = np.full(reader.doc_count_all(), -1, dtype=np.int32)
        values: list[str] = []
        for btext in reader.lexicon(fieldname):
            codes[_read_postings(reader, segment_id, fieldname, btext).ids] = len(values)
            values.append(btext.decode("utf-8"))
        found = (values, codes)
        cache[key] = found
    return found


def sort_column(reader, segment_id: str, fieldname: str) -> tuple[list[str], np.ndarray]:
    """A COLUMN field's distinct non-empty values in byte order and, per document, the index of its value
    (-1: empty or none): the shape of :func:`facet_column`, for a field with a value per document.

    Read through Whoosh's public column reader (one pass over the column): 0.13 s for 100,000 documents,
    where walking an ID field's 100,000 terms took 5 s.
    """
    key = ("sort", fieldname)
    cache = _segment_cache(segment_id)
    found = cache.get(key)
    if found is None:
        count = reader.doc_count_all()
        codes = np.full(count, -1, dtype=np.int32)
        values: list[str] = []
        column = _opened_value_column(reader, fieldname) if count else None
        if column is not None:
            raw = list(column)[:count]
            keys = np.array([value.decode("utf-8") for value in raw] or [""])
            distinct, inverse = np.unique(keys, return_inverse=True)
            # np.unique sorts by code point, which is UTF-8 byte order; "" (no value) sorts first.
            empty = len(distinct) and distinct[0] == ""
            codes[: len(raw)] = inverse.reshape(-1)[: len(raw)] - (1 if empty else 0)
            values = [str(v) for v in distinct[1 if empty else 0:]]
        found = (values, codes)
        cache[key] = found
    return found


def open_columns(reader, *, moved_on: Callable[[], bool] | None = None) -> bool:
    """Open every column file of every segment of ``reader`` now: stored fields, field lengths and the
    COLUMN fields' values (the sort column's file opened, not yet read); True when all of them opened.

    Whoosh opens these lazily, but a writer in another process deletes the files of the segments its merge
    retired right after its commit, and a file not yet opened is then gone (one already open stays readable):
    a search on a reader opened just before that commit failed with a FileNotFoundError, or read the
    merged-away segment's sort column as empty.  False, so that the caller opens a reader on the newer table
    of contents, when a file is missing or vanishes between Whoosh's check and its opening.  A COLUMN field
    is absent from a segment none of whose documents had a value; the indexer writes one for every document,
    but an absent one is taken for a vanished one only when ``moved_on()`` says another commit has happened
    since ``reader`` read the table of contents (files are deleted only after a newer one is written).
    """
    absent = False
    try:
        for leaf, _offset in reader.leaf_readers():
            perdoc = per_doc_reader(leaf)
            if perdoc is None or leaf.segment() is None or not leaf.doc_count_all():
                continue
            if stored_column(perdoc) is None:
                return False
            for fieldname in leaf.schema.scorable_names():
                if leaf.field_length(fieldname) and length_column(perdoc, fieldname) is None:
                    return False
            for fieldname in _value_columns(leaf.schema):
                if not open_column_file(perdoc, fieldname):
                    absent = True
    except OSError:  # deleted between Whoosh's check that the file exists and its opening
        return False
    return not (absent and moved_on is not None and moved_on())


def _value_columns(schema) -> list[str]:
    """The schema's fields that keep a value per document in a column (opened, not read: a column's reader
    decodes its offsets, once per segment in :func:`sort_column`, not on every searcher open)."""
    return [name for name, field in schema.items() if field.column_type is not None]


# --- sidecars -------------------------------------------------------------------------------------


def segment_key(reader) -> sidecar.Key | None:
    """What a sidecar must have been written for to be read for this segment reader (None: no sidecar
    possible — no segment, a compound segment, another codec, or its files are gone)."""
    segment = reader.segment()
    storage = reader.storage()
    if segment is None or segment.is_compound() or not isinstance(reader.codec(), W3Codec):
        return None
    if not hasattr(storage, "folder"):  # in memory (tests)
        return None
    try:
        return (
            reader.doc_count_all(),
            storage.file_length(segment.make_filename(W3Codec.TERMS_EXT)),
            storage.file_length(segment.make_filename(W3Codec.POSTS_EXT)),
        )
    except OSError:
        return None


def _sidecar(reader, segment_id: str) -> sidecar.Sidecar | None:
    if not READ_SIDECARS:
        return None
    cache = _segment_cache(segment_id)
    found = cache.get("sidecar")
    now = time.monotonic()
    if found is not None and (found[0] is not None or now - found[1] < SIDECAR_RECHECK_SECONDS):
        return found[0]
    key = segment_key(reader)
    opened = None if key is None else sidecar.open_sidecar(reader.storage().folder, segment_id, key)
    cache["sidecar"] = (opened, now)
    return opened


def build_sidecars(ix, *, min_postings: int | None = None) -> list[str]:
    """Write a sidecar for every segment of ``ix`` that lacks a matching one; the segment ids written.

    Call it after a commit that wrote or merged segments (``indexer.rebuild`` does, before the swap).
    Cheap when every segment has its sidecar (a 40-byte read per segment); a segment's first sidecar costs
    one decoding of its long lists (seconds for a segment of 100,000 records).  Safe beside searches and
    writers: the file appears atomically, and Whoosh's clean-up after a later commit deletes the sidecars
    of segments merged away with their other files.
    """
    min_postings = SIDECAR_MIN_POSTINGS if min_postings is None else min_postings
    written = []
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            if _build_sidecar(leaf, min_postings):
                written.append(leaf.segment().segment_id())
    return written


def build_segment_sidecar(storage, schema, segment, *, min_postings: int | None = None) -> bool:
    """Write the sidecar of one segment, not yet committed to the index (a rebuild's writer process does, beside
    the other writers: ``search_index.bulk_writer``); True if written."""
    reader = SegmentReader(storage, schema, segment)
    try:
        return _build_sidecar(reader, SIDECAR_MIN_POSTINGS if min_postings is None else min_postings)
    finally:
        reader.close()


def _build_sidecar(leaf, min_postings: int) -> bool:
    segment = leaf.segment()
    if segment is None or leaf.doc_count_all() < min_postings:
        return False
    key = segment_key(leaf)
    if key is None:
        return False
    folder = leaf.storage().folder
    segment_id = segment.segment_id()
    if sidecar.read_key(sidecar.path_for(folder, segment_id)) == key:
        return False
    started = time.monotonic()
    path = sidecar.write(folder, segment_id, key, _long_lists(leaf, min_postings), min_postings=min_postings)
    logger.info("sidecar of segment %s written: %.1f MB in %.1f s", segment_id,
                path.stat().st_size / 2**20, time.monotonic() - started)
    return True


def _long_lists(reader, min_postings: int):
    schema = reader.schema
    # ((fieldname, btext), term info) of every term: a segment reader reads its terms file once.
    for (fieldname, btext), info in reader:
        if fieldname not in schema or info.doc_frequency() < min_postings:
            continue
        fmt = schema[fieldname].format
        if fmt and fmt.supports("positions"):
            found, found_positions = read_positions(reader, fieldname, btext)
            yield sidecar.Term(fieldname, btext, found.ids, found.weights,
                               np.diff(found_positions.starts), found_positions.pos)
        else:
            found = read_postings(reader, fieldname, btext)
            yield sidecar.Term(fieldname, btext, found.ids, found.weights)


def _opened_value_column(reader, fieldname: str):
    """The column of ``fieldname``'s values in a segment reader: the one :func:`open_columns` opened (never
    looked for on disk again: the segment may have been merged away since), else Whoosh's public reader."""
    perdoc = per_doc_reader(reader)
    if perdoc is not None:
        if not open_column_file(perdoc, fieldname):  # opened already: no disk access
            return None
        return opened_value_column(perdoc, fieldname, reader.schema[fieldname].column_type)
    if reader.has_column(fieldname):
        return reader.column_reader(fieldname, translate=False)
    return None


def _segment_cache(segment_id: str) -> dict:
    with _lock:
        cache = _segments.get(segment_id)
        if cache is None:
            cache = _segments[segment_id] = {}
        return cache


def forget_segments_except(live: set[str]) -> None:
    """Drop the arrays of segments that are no longer part of the index (merged away)."""
    global _terms_size
    with _lock:
        for segment_id in [s for s in _segments if s not in live]:
            del _segments[segment_id]
        stale = [key for key in _terms if key[0] not in live]
        for key in stale:
            del _terms[key]
            _terms_size -= _sizes.pop(key)


def clear() -> None:
    """Forget everything cached (tests)."""
    global _terms_size
    with _lock:
        _terms.clear()
        _sizes.clear()
        _segments.clear()
        _terms_size = 0


def cache_size() -> tuple[int, int]:
    """(terms cached, postings they hold)."""
    with _lock:
        return len(_terms), _terms_size
