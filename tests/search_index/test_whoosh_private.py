"""search_index.whoosh_private against Whoosh's public API, on a small real index.

These fail loudly when a Whoosh upgrade renames a private name or changes what it means: every accessor
is compared with what Whoosh's public API answers for the same index.  The index is written with Whoosh's
own W3 codec (not the project's CatalogCodec, whose length lookups go through whoosh_private themselves),
so the public answers compared with are Whoosh's own.
"""

from __future__ import annotations

import importlib.metadata

import pytest
import whoosh
from whoosh import scoring
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.util.numeric import byte_to_length, length_to_byte

from search_index import whoosh_private as wp

DOCS = 400  # the first segment: several 128-posting blocks for the frequent words
OTHER_UNTIL = 300  # documents from here on have no "other" field: its lengths column stops early
EXTRA = 5  # the second segment, one of its documents deleted


def _body(n: int) -> str:
    return " ".join(["common"] * (n % 5 + 1) + [f"w{n % 7}", "tail"] * (n % 3 + 1))


def _body_length(n: int) -> int:
    return (n % 5 + 1) + 2 * (n % 3 + 1)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    schema = Schema(key=ID(stored=True, unique=True), body=TEXT(stored=True), other=TEXT(), tag=ID())
    ix = FileStorage(str(tmp_path_factory.mktemp("whoosh_private"))).create_index(schema)
    with ix.writer() as writer:  # Whoosh's default codec
        for n in range(DOCS):
            fields = {"key": str(n), "body": _body(n), "tag": f"t{n % 3}"}
            if n < OTHER_UNTIL:
                fields["other"] = "xy " * (n % 9 + 1)
            writer.add_document(**fields)
    writer = ix.writer()
    for n in range(DOCS, DOCS + EXTRA):
        writer.add_document(key=str(n), body=_body(n), tag="extra")
    writer.commit(merge=False)
    writer = ix.writer()
    writer.delete_by_term("key", str(DOCS + 1))
    writer.commit(merge=False)
    yield ix
    ix.close()


@pytest.fixture
def first_leaf(index):
    with index.reader() as reader:
        leaves = [leaf for leaf, _offset in reader.leaf_readers()]
        assert [leaf.doc_count_all() for leaf in leaves] == [DOCS, EXTRA]
        assert not leaves[0].has_deletions()
        yield leaves[0]


def _public_walk(leaf, fieldname, btext):
    """(ids, weights, values) of a term, one posting at a time through the Matcher interface."""
    m = leaf.postings(fieldname, btext)
    ids, weights, values = [], [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        values.append(m.value())
        m.next()
    return ids, weights, values


def _block_walk(leaf, fieldname, btext):
    """The same read block by block through whoosh_private, and each block's (ids, max id)."""
    m = leaf.postings(fieldname, btext)
    assert isinstance(m, W3LeafMatcher), "expected Whoosh 2.7's on-disk block matcher"
    ids, weights, values, blocks = [], [], [], []
    while not wp.at_end(m):
        block = list(wp.block_ids(m))
        assert len(wp.block_weights(m)) == len(wp.block_values(m)) == len(block)
        ids += block
        weights += list(wp.block_weights(m))
        values += list(wp.block_values(m))
        blocks.append((block, m.block_max_id()))
        wp.next_block(m)
    assert not m.is_active()
    return ids, weights, values, blocks


def test_the_installed_whoosh_is_the_version_whoosh_private_was_written_for():
    installed = importlib.metadata.version("whoosh-reloaded")
    message = (
        f"whoosh-reloaded {installed} is installed but search_index/whoosh_private.py was written for "
        f"{wp.WRITTEN_FOR}: re-check every private Whoosh name it uses against the new Whoosh source, "
        "then set WRITTEN_FOR"
    )
    assert installed == wp.WRITTEN_FOR, message
    assert wp.installed_version() == wp.WRITTEN_FOR, message
    assert whoosh.versionstring() == wp.WRITTEN_FOR, message


@pytest.mark.parametrize("word", [b"common", b"tail", b"w3"])  # several blocks, several, one
def test_block_readers_return_exactly_what_a_matcher_walk_returns(first_leaf, word):
    expected_ids, expected_weights, expected_values = _public_walk(first_leaf, "body", word)
    ids, weights, values, blocks = _block_walk(first_leaf, "body", word)
    assert len(blocks) == -(-len(expected_ids) // 128), "blocks of 128 postings (W3Codec's blocklimit)"
    assert ids == expected_ids
    assert weights == expected_weights
    assert values == expected_values
    # next_block moves by whole blocks: each block ends at the id the public block_max_id() names.
    assert all(block[-1] == max_id for block, max_id in blocks)
    assert [first_leaf.stored_fields(d)["key"] for d in ids] == [
        str(n) for n in range(DOCS) if word.decode() in _body(n).split()
    ]


def test_block_readers_skip_blocks_the_way_skip_to_does(first_leaf):
    targets = [0, 127, 128, 129, 200, 255, 256, 399]
    m = first_leaf.postings("body", b"common")
    for doc in targets:
        while not wp.at_end(m) and doc > m.block_max_id():
            wp.next_block(m)
        ids = wp.block_ids(m)
        i = list(ids).index(doc)
        public = first_leaf.postings("body", b"common")
        public.skip_to(doc)
        assert public.id() == doc
        assert wp.block_values(m)[i] == public.value()
        assert wp.block_weights(m)[i] == public.weight()
    while not wp.at_end(m):
        wp.next_block(m)
    assert wp.at_end(m) and not m.is_active()


def test_per_doc_reader_is_the_segment_readers_own(index, first_leaf):
    perdoc = wp.per_doc_reader(first_leaf)
    assert perdoc is not None
    assert perdoc.doc_count_all() == first_leaf.doc_count_all()
    assert perdoc.stored_fields(7) == first_leaf.stored_fields(7)
    assert perdoc.doc_field_length(7, "body") == first_leaf.doc_field_length(7, "body")
    with index.reader() as reader:  # two segments: not a segment reader
        assert wp.per_doc_reader(reader) is None


@pytest.mark.parametrize(("fieldname", "length_of"), [
    ("body", _body_length),
    ("other", lambda n: n % 9 + 1 if n < OTHER_UNTIL else 0),
])
def test_length_column_holds_each_documents_byte_encoded_length(first_leaf, fieldname, length_of):
    perdoc = wp.per_doc_reader(first_leaf)
    column = wp.length_column(perdoc, fieldname)
    assert column is not None
    assert wp.length_column(perdoc, fieldname) is column, "opened once and kept by the per-document reader"
    count = wp.column_count(column)
    assert 0 < count <= first_leaf.doc_count_all() == len(column)
    raw = bytes(wp.column_bytes(column, count))
    assert len(raw) == count
    for n in range(DOCS):
        byte = raw[n] if n < count else 0
        # What the writer encoded, what the column reader answers, what the segment reader answers.
        assert byte == (length_to_byte(length_of(n)) if length_of(n) else 0), n
        assert byte == column[n], n
        public = first_leaf.doc_field_length(n, fieldname)
        assert (byte_to_length(byte) if byte else None) == public, n
        assert wp.LENGTH_OF_BYTE[byte] == (public if public is not None else 1.0), n
    if fieldname == "other":
        # The column stops at the last document given a value (len(column) counts every document).
        assert count == OTHER_UNTIL
        assert wp.column_bytes(column, 10) == raw[:10]


def test_length_of_byte_is_whooshs_decoding_with_one_for_no_length():
    assert wp.LENGTH_OF_BYTE.shape == (256,)
    assert wp.LENGTH_OF_BYTE[0] == 1.0
    assert wp.LENGTH_OF_BYTE[1:].tolist() == [float(byte_to_length(b)) for b in range(1, 256)]
    assert all(wp.LENGTH_OF_BYTE[length_to_byte(n)] == byte_to_length(length_to_byte(n)) for n in range(1, 5000, 7))


def test_length_column_is_none_for_a_field_without_lengths(first_leaf):
    perdoc = wp.per_doc_reader(first_leaf)
    assert first_leaf.field_length("tag") == 0  # an ID field is not scorable: no lengths are written
    assert wp.length_column(perdoc, "tag") is None
    assert wp.length_column(perdoc, "no_such_field") is None


def test_stored_column_holds_the_stored_fields(first_leaf):
    perdoc = wp.per_doc_reader(first_leaf)
    column = wp.stored_column(perdoc)
    assert column is not None
    assert wp.stored_column(perdoc) is column, "opened once and kept by the per-document reader"
    for n in (0, 1, 199, DOCS - 1):
        assert column[n] == first_leaf.stored_fields(n) == {"key": str(n), "body": _body(n)}


def test_toc_segments_lists_the_segments_the_readers_open(index):
    listed = [(s.segment_id(), s.doc_count_all(), s.deleted_count()) for s in wp.toc_segments(index)]
    with index.reader() as reader:
        opened = [
            (leaf.segment().segment_id(), leaf.doc_count_all(), leaf.doc_count_all() - leaf.doc_count())
            for leaf, _offset in reader.leaf_readers()
        ]
    assert listed == opened
    assert [(docs, deleted) for _id, docs, deleted in listed] == [(DOCS, 0), (EXTRA, 1)]


def test_field_b_is_the_b_whooshs_bm25f_scorer_uses(index):
    weightings = [scoring.BM25F(), scoring.BM25F(B=0.6, K1=1.5, body_B=0.9), scoring.BM25F(other_B=0.3)]
    with index.searcher() as searcher:
        for weighting in weightings:
            for fieldname in ("body", "other"):
                scorer = weighting.scorer(searcher, fieldname, b"common" if fieldname == "body" else b"xy")
                assert wp.field_b(weighting, fieldname) == scorer.B, (weighting.__dict__, fieldname)
    assert wp.field_b(weightings[1], "body") == 0.9
    assert wp.field_b(weightings[1], "other") == 0.6


@pytest.fixture
def column_index(tmp_path):
    """One segment whose documents have a COLUMN field's value, one whose documents have none (separate files,
    as the project writes them)."""
    from whoosh.columns import VarBytesColumn
    from whoosh.fields import COLUMN

    schema = Schema(key=ID(stored=True, unique=True), shelf=COLUMN(VarBytesColumn()))
    ix = FileStorage(str(tmp_path)).create_index(schema)
    writer = ix.writer(compound=False)
    for n in range(DOCS):
        writer.add_document(key=str(n), shelf=f"D9{n % 7:02d}".encode())
    writer.commit(merge=False)
    writer = ix.writer(compound=False)
    for n in range(DOCS, DOCS + EXTRA):
        writer.add_document(key=str(n))
    writer.commit(merge=False)
    yield ix
    ix.close()


def test_an_opened_value_column_reads_what_the_public_column_reader_reads(column_index):
    with column_index.reader() as reader:
        leaves = [leaf for leaf, _offset in reader.leaf_readers()]
        assert [leaf.doc_count_all() for leaf in leaves] == [DOCS, EXTRA]
        first, second = (wp.per_doc_reader(leaf) for leaf in leaves)
        column_type = leaves[0].schema["shelf"].column_type
        assert wp.opened_value_column(first, "shelf", column_type) is None, "not opened yet"
        assert wp.open_column_file(first, "shelf") is True
        assert wp.open_column_file(first, "shelf") is True, "kept open"
        opened = wp.opened_value_column(first, "shelf", column_type)
        assert list(opened) == list(leaves[0].column_reader("shelf", translate=False))
        assert list(opened)[:3] == [b"D900", b"D901", b"D902"]
        # The segment without values has no column file: nothing opened, as Whoosh's has_column says.
        assert leaves[1].has_column("shelf") is False
        assert wp.open_column_file(second, "shelf") is False
        assert wp.opened_value_column(second, "shelf", column_type) is None


def test_an_opened_value_column_is_read_after_its_file_was_deleted(column_index, tmp_path):
    """What the accessor is for: opened while the file exists, read after another process deleted it."""
    with column_index.reader() as reader:
        leaf = next(leaf for leaf, _offset in reader.leaf_readers())
        perdoc = wp.per_doc_reader(leaf)
        expected = list(leaf.column_reader("shelf", translate=False))
        assert wp.open_column_file(perdoc, "shelf")
        (path,) = tmp_path.glob("*.shelf.col")
        path.unlink()
        assert leaf.has_column("shelf") is False, "Whoosh's public reader no longer finds it"
        assert list(wp.opened_value_column(perdoc, "shelf", leaf.schema["shelf"].column_type)) == expected
