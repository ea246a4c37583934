"""Segment sidecars: long posting lists written decoded next to their segment and memory-mapped by searchers,
read only for the segment they were written for, gone with it, and giving exactly the results of Whoosh's
own blocks."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from whoosh.codec.whoosh3 import W3LeafMatcher

from library.services import book_create, book_update
from search_index import generations, indexer, postings_cache, searcher, services, sidecar, whoosh_private
from search_index.services import Filters
from search_index.whoosh_codec import CatalogCodec

pytestmark = pytest.mark.django_db

QUERIES = [
    ("物权", Filters()),
    ("担保物权", Filters(include_internal=True)),
    ('"民法物权"', Filters()),
    ("court judgment", Filters()),
    ('"court court"', Filters()),
    ("执行难", Filters(include_internal=True)),
    ("物权 OR judgment", Filters(year_from=2000)),
    ("物权 zebra nothinglikethis", Filters()),
    ("minfa", Filters()),
]


@pytest.fixture
def every_list(monkeypatch):
    """Every list goes into a sidecar (the test catalog has no list of 512 postings)."""
    monkeypatch.setattr(postings_cache, "SIDECAR_MIN_POSTINGS", 1)
    monkeypatch.setattr(postings_cache, "SIDECAR_RECHECK_SECONDS", 0.0)


@pytest.fixture
def two_segments(every_list, catalog, django_capture_on_commit_callbacks):
    """The shared catalog (rebuilt: one segment with its sidecar) plus a second segment written by a drain,
    with one record of the first segment updated (deleted there)."""
    with django_capture_on_commit_callbacks(execute=True):
        book_create(title="Court court judgment", summary="judgment enforcement, a court zebra")
        book_update(book=catalog["english"], changes={"title": "Enforcement in China"})
    indexer.drain(merge=False)  # a second segment, as the worker's loop leaves it
    searcher.reset()
    searcher.clear_caches()
    return catalog


def _folder() -> Path:
    return generations.root() / generations.current_generation()


def _sidecars() -> set[str]:
    return {p.name for p in _folder().glob(f"*{sidecar.EXTENSION}")}


def _segment_ids() -> set[str]:
    ix = generations.open_index()
    try:
        return {s.segment_id() for s in whoosh_private.toc_segments(ix)}
    finally:
        ix.close()


def _answers():
    out = []
    for text, filters in QUERIES:
        result = services.search(text, filters=filters)
        out.append((result.count, [(h.type, h.id, h.score, h.highlights) for h in result.items], result.facets,
                    result.suggestion, result.matched_all_terms))
    return out


def _without_decoding(monkeypatch):
    # Whoosh's own decoding methods (behind whoosh_private's block readers and the public Matcher calls).
    def refuse(self):
        raise AssertionError("a posting block was unpacked")

    for name in ("_read_ids", "_read_weights", "_read_values"):
        monkeypatch.setattr(W3LeafMatcher, name, refuse)


def test_rebuild_writes_a_sidecar_for_every_segment(every_list, catalog):
    assert _sidecars() == {f"{s}{sidecar.EXTENSION}" for s in _segment_ids()}
    assert _sidecars()  # the rebuilt catalog has a segment


def test_searches_read_the_sidecar_and_unpack_no_posting_block(every_list, catalog, monkeypatch):
    searcher.clear_caches()
    decoded = _answers()
    searcher.reset()
    searcher.clear_caches()
    _without_decoding(monkeypatch)

    assert _answers() == decoded
    # Mapped lists are not copied into the term cache: it holds only the words no segment has (each
    # counted as one posting).
    terms, postings = postings_cache.cache_size()
    assert postings == terms


def test_results_are_the_same_with_and_without_sidecars(two_segments):
    ix = generations.open_index()
    assert len(postings_cache.build_sidecars(ix)) == 1  # the drained segment's; the rebuilt one has its own
    ix.close()
    with_sidecars = _answers()
    for path in _folder().glob(f"*{sidecar.EXTENSION}"):
        path.unlink()
    searcher.reset()
    searcher.clear_caches()

    assert _answers() == with_sidecars


def test_build_sidecars_writes_each_segment_once(two_segments):
    ix = generations.open_index()
    try:
        first = postings_cache.build_sidecars(ix)
        again = postings_cache.build_sidecars(ix)
    finally:
        ix.close()

    assert len(first) == 1
    assert again == []
    assert _sidecars() == {f"{s}{sidecar.EXTENSION}" for s in _segment_ids()}


def test_a_sidecar_written_for_another_state_of_the_segment_is_ignored(every_list, catalog, monkeypatch):
    searcher.clear_caches()
    decoded = _answers()
    (segment_id,) = _segment_ids()
    key = sidecar.read_key(sidecar.path_for(_folder(), segment_id))
    # Same name, another key (one more document), and lists that would answer wrongly if read.
    fake = [sidecar.Term("body", "物权".encode(), np.array([0], dtype=np.int32), np.array([9.0], dtype=np.float32),
                         np.array([1], dtype=np.int32), np.array([0], dtype=np.int32))]
    sidecar.write(_folder(), segment_id, (key[0] + 1, key[1], key[2]), fake, min_postings=1)
    searcher.reset()
    searcher.clear_caches()

    assert _answers() == decoded


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_sidecar_is_ignored(every_list, catalog, damage):
    searcher.clear_caches()
    decoded = _answers()
    (segment_id,) = _segment_ids()
    path = sidecar.path_for(_folder(), segment_id)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:40] + b"\xff" * (len(data) - 40))
    searcher.reset()
    searcher.clear_caches()

    assert _answers() == decoded


def test_a_merge_deletes_the_sidecars_of_the_segments_it_retires(two_segments):
    ix = generations.open_index()
    postings_cache.build_sidecars(ix)
    before = _segment_ids()
    assert len(before) == 2
    writer = ix.writer(compound=False, codec=CatalogCodec())  # as the project's writers write segments
    writer.commit(optimize=True)
    ix.close()
    (merged,) = _segment_ids()

    # Whoosh's clean-up after the commit removed the old segments' sidecars with their files; the merged
    # segment has none until build_sidecars writes it.
    assert merged not in before
    assert _sidecars() == set()
    ix = generations.open_index()
    assert postings_cache.build_sidecars(ix) == [merged]
    ix.close()
    assert _sidecars() == {f"{merged}{sidecar.EXTENSION}"}


def test_a_sidecar_left_under_a_segment_name_is_not_read_for_another_segment(two_segments):
    ix = generations.open_index()
    postings_cache.build_sidecars(ix)
    ix.close()
    searcher.clear_caches()
    decoded = _answers()
    first, second = sorted(_segment_ids())
    # The first segment's sidecar put under the second's name: a valid file, for another segment.
    sidecar.path_for(_folder(), first).replace(sidecar.path_for(_folder(), second))
    searcher.reset()
    searcher.clear_caches()

    assert _answers() == decoded


def test_a_segment_without_sidecar_is_searched_and_picks_its_sidecar_up_once_written(every_list, catalog, monkeypatch):
    for path in _folder().glob(f"*{sidecar.EXTENSION}"):
        path.unlink()
    searcher.clear_caches()
    decoded = _answers()
    ix = generations.open_index()
    postings_cache.build_sidecars(ix)
    ix.close()
    _without_decoding(monkeypatch)

    # Nothing cleared: the process that searched without the sidecar finds it on its next look.
    assert _answers() == decoded


def _one_list_sidecar(folder) -> Path:
    term = sidecar.Term("body", "物权".encode(), np.array([0, 3], dtype=np.int32), np.array([1.0, 2.0], dtype=np.float32),
                        np.array([1, 2], dtype=np.int32), np.array([0, 4, 9], dtype=np.int32))
    return sidecar.write(folder, "catalog_abc", (5, 10, 20), [term], min_postings=1)


def test_a_sidecar_reads_back_its_lists(tmp_path):
    _one_list_sidecar(tmp_path)

    opened = sidecar.open_sidecar(tmp_path, "catalog_abc", (5, 10, 20))
    ids, weights, counts, positions = opened.positions("body", "物权".encode())

    assert (ids.tolist(), weights.tolist(), counts.tolist(), positions.tolist()) == ([0, 3], [1.0, 2.0], [1, 2], [0, 4, 9])
    assert opened.postings("body", b"absent") is None
    assert [p.name for p in tmp_path.iterdir()] == ["catalog_abc.cols"]  # no temporary file left


def test_a_sidecar_whose_table_points_past_its_lists_is_ignored(tmp_path):
    path = _one_list_sidecar(tmp_path)
    data = path.read_bytes()
    offset, length = struct.unpack("<2Q", data[-16:])
    table = json.loads(data[offset:offset + length])
    table["terms"]["body"]["物权".encode().decode("latin-1")][2] = 1_000  # positions running into the table
    encoded = json.dumps(table).encode()
    path.write_bytes(data[:offset] + encoded + struct.pack("<2Q", offset, len(encoded)))

    assert sidecar.open_sidecar(tmp_path, "catalog_abc", (5, 10, 20)) is None
    assert sidecar.open_sidecar(tmp_path, "catalog_abc", (5, 10, 21)) is None
