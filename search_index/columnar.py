"""A Whoosh segment's posting lists and per-document values as numpy arrays, cached per segment.

Whoosh walks postings one document at a time in Python, a few microseconds per posting per field;
at 100,000 records a common word has tens of thousands of postings.  Here a term's postings are
decoded a whole block at a time into two arrays (document numbers, weights), and the field lengths
and facet values of every document into one array each, so that matching, filtering, facet counts
and BM25F scoring (:mod:`search_index.searcher`) run as vectorised numpy operations.

This is the only module that reads Whoosh's storage below its public API (the W3 codec's posting
blocks and the per-document lengths column), pinned to whoosh-reloaded 2.7.5; the tests check every
array against Whoosh's own per-document answers.  A segment never changes once written — only
documents in it get deleted, and the searcher subtracts those on every search — so cached arrays
stay valid until a merge retires the segment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import _length_byte_cache

#: Upper bound on the postings held by the term cache, all segments together (8 bytes each: about
#: 64 MB per process).
TERM_CACHE_POSTINGS = 8_000_000

_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.empty(0, dtype=np.float32)
# byte → field length, as Whoosh decodes it (byte 0 means "no length": Whoosh's default of 1).
_LENGTH_OF_BYTE = np.array(_length_byte_cache, dtype=np.float64)
_LENGTH_OF_BYTE[0] = 1.0


@dataclass(frozen=True)
class Postings:
    """A term's postings in one segment: sorted document numbers and their weights."""

    ids: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


EMPTY = Postings(_EMPTY_IDS, _EMPTY_WEIGHTS)

_lock = threading.Lock()
_terms: OrderedDict[tuple, Postings] = OrderedDict()
_terms_size = 0
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
        matcher._read_ids()
        matcher._read_weights()
        id_blocks.append(np.asarray(matcher._ids, dtype=np.int32))
        weight_blocks.append(np.asarray(matcher._weights, dtype=np.float32))
        matcher._next_block()
    if not id_blocks:
        return EMPTY
    return Postings(np.concatenate(id_blocks), np.concatenate(weight_blocks))


def postings(reader, segment_id: str, fieldname: str, text) -> Postings:
    """A term's postings, from the cache when possible."""
    global _terms_size
    if fieldname not in reader.schema:
        return EMPTY
    btext = text if isinstance(text, bytes) else reader.schema[fieldname].to_bytes(text)
    key = (segment_id, fieldname, btext)
    with _lock:
        cached = _terms.get(key)
        if cached is not None:
            _terms.move_to_end(key)
            return cached
    found = read_postings(reader, fieldname, btext)
    with _lock:
        if key not in _terms:
            _terms[key] = found
            _terms_size += len(found) + 1
            while _terms_size > TERM_CACHE_POSTINGS and len(_terms) > 1:
                _, old = _terms.popitem(last=False)
                _terms_size -= len(old) + 1
    return found


def field_lengths(reader, segment_id: str, fieldname: str) -> np.ndarray:
    """Every document's length in ``fieldname`` (as Whoosh scores it), indexed by document number."""
    key = ("lengths", fieldname)
    cache = _segment_cache(segment_id)
    found = cache.get(key)
    if found is None:
        count = reader.doc_count_all()
        raw = np.zeros(count, dtype=np.uint8)
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is not None:
            stored = min(column._count, count)
            if stored:
                raw[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
        found = _LENGTH_OF_BYTE[raw]
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
            codes[read_postings(reader, fieldname, btext).ids] = len(values)
            values.append(btext.decode("utf-8"))
        found = (values, codes)
        cache[key] = found
    return found


def open_columns(reader) -> bool:
    """Open the stored-fields and field-length columns of every segment of ``reader`` now.

    False when one of them no longer exists: a writer merged the segment away and deleted its files
    after ``reader`` read the table of contents (Whoosh opens these columns lazily and would answer
    None for them later: ``stored_fields()`` failed with a TypeError).  Once open they stay readable.
    """
    for leaf, _offset in reader.leaf_readers():
        perdoc = getattr(leaf, "_perdoc", None)
        if perdoc is None or leaf.segment() is None:
            continue
        if leaf.doc_count_all() and perdoc._cached_reader("_stored", STORED_COLUMN) is None:
            return False
        for fieldname in leaf.schema.scorable_names():
            if leaf.field_length(fieldname) and perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN) is None:
                return False
    return True


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
            _terms_size -= len(_terms.pop(key)) + 1


def clear() -> None:
    """Forget everything cached (tests)."""
    global _terms_size
    with _lock:
        _terms.clear()
        _segments.clear()
        _terms_size = 0


def cache_size() -> tuple[int, int]:
    """(terms cached, postings they hold)."""
    with _lock:
        return len(_terms), _terms_size
