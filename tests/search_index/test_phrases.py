"""Quoted phrases matched on arrays of positions: the same documents and scores as Whoosh's own phrase matcher,
across segments and with deleted documents, and positions decoded exactly as Whoosh stores them."""

import pickle
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from library.services import Person, book_create, book_update
from search_index import indexer, postings_cache, searcher, services
from search_index.services import Filters

pytestmark = pytest.mark.django_db

PUBLIC = Filters()
LOGGED_IN = Filters(include_internal=True)


@pytest.fixture
def phrases(catalog, django_capture_on_commit_callbacks):
    """The shared catalog, plus books written after the rebuild (a second segment) and one updated (its old
    version deleted in the first segment)."""
    records = dict(catalog)
    with django_capture_on_commit_callbacks(execute=True):
        records["adjacent"] = book_create(title="Court court court", summary="judgment enforcement in practice")
        records["two"] = book_create(title="Court court", summary="enforcement judgment, judgment of a court")
        records["apart"] = book_create(title="Judgment rules for enforcement", contributors=[Person("Enforcement Judgment")])
        records["gap"] = book_create(title="Notes on judgment", contributors=[Person("Enforcement Li")])
        records["cn"] = book_create(title="担保物权实现程序", summary="物权 担保 实现 担保物权")
        # The rarest word of '"court zebra"' opens a title: its start is one position before 0.
        records["zebra"] = book_create(title="Zebra crossings", summary="a court zebra")
    indexer.drain(merge=False)
    with django_capture_on_commit_callbacks(execute=True):
        book_update(book=catalog["english"], changes={"title": "Enforcement in China"})  # no longer "judgment enforcement"
    indexer.drain(merge=False)  # each write's segment, as the worker's loop leaves them
    searcher.reset()
    return records


def _keys(s, docnums) -> set[str]:
    return {s.stored_fields(d)["key"] for d in docnums}


def _whoosh(q, filters) -> set[str]:
    s = searcher._searcher()
    mask = None if filters.include_internal else wq.Term("visibility", "internal")
    return _keys(s, (hit.docnum for hit in s.search(q, limit=None, mask=mask)))


def _arrays(q, filters) -> set[str]:
    s = searcher._searcher()
    out = set()
    for seg in searcher._segments(s):
        seg.mask = searcher._allowed(seg, filters)
        docs = seg.docs(q)
        if seg.mask is not None:
            docs = docs[seg.mask[docs]]
        out |= _keys(s, (seg.offset + int(d) for d in docs))
    return out


def _key(record) -> str:
    return f"{'paper' if hasattr(record, 'visibility') else 'book'}:{record.pk}"


PHRASES = [
    '"judgment enforcement"',
    '"enforcement judgment"',
    '"court court"',
    '"court court court"',
    '"court court court court"',
    '"judgments enforcing"',
    '"judgment enforcement"~3',
    '"court judgment"~2',
    'title:"court court court"',
    'author:"enforcement judgment"',
    '"notes judgment enforcement"',
    '"担保物权 实现"',
    '"担保物权 实现 程序"',
    '"物权 担保"',
    '"担保 担保"',
    '"担保物权 实现" -程序',
    '"担保物权 实现" OR "court court"',
    'NOT "court court"',
    '"nothing-like-this court"',
    '"court zebra"',
    '"zebra crossings"',
    '"crossings zebra"',
]


@pytest.mark.parametrize("text", PHRASES)
def test_phrases_find_exactly_what_whoosh_finds(phrases, text):
    s = searcher._searcher()
    assert len(searcher._segments(s)) >= 2
    q = searcher.parse(text, s.schema, fields=searcher._fields_for(text, with_bigrams=False))
    for filters in (PUBLIC, LOGGED_IN):
        assert _arrays(q, filters) == _whoosh(q, filters)


@pytest.mark.parametrize("text", PHRASES)
def test_phrases_checked_in_the_blocks_of_their_candidates_find_what_whoosh_finds(phrases, monkeypatch, text):
    """The path for a few candidates among long lists: positions unpacked only in the blocks holding them."""
    monkeypatch.setattr(searcher, "READ_WHOLE_RATIO", 0)
    searcher.clear_caches()
    s = searcher._searcher()
    q = searcher.parse(text, s.schema, fields=searcher._fields_for(text, with_bigrams=False))
    # The words' lists read already (as a query of words reads them), without their positions.
    for seg in searcher._segments(s):
        for phrase in _phrases_in(q):
            for word in phrase.words:
                seg.term(phrase.fieldname, word)

    for filters in (PUBLIC, LOGGED_IN):
        assert _arrays(q, filters) == _whoosh(q, filters)
    assert not [key for key in postings_cache._terms if key[-1] == "positions"]


def _phrases_in(q):
    if isinstance(q, wq.Phrase):
        yield q
    elif not q.is_leaf():
        for sub in q.children():
            yield from _phrases_in(sub)


def test_a_phrase_reads_a_list_not_read_yet_with_its_positions_once(phrases):
    searcher.clear_caches()

    services.search('"court court court"', filters=PUBLIC)

    body = {key[2:] for key in postings_cache._terms if key[1] == "body"}  # (segment, field, term[, "positions"])
    assert {(b"court",), (b"court", "positions")} <= body


def test_phrase_words_must_be_adjacent_and_in_order(phrases):
    found = {h.id for h in services.search('"judgment enforcement"', filters=PUBLIC).items}
    repeated = {h.id for h in services.search('"court court court"', filters=PUBLIC).items}

    # "Judgment rules for enforcement" has both words apart (stop words would not separate them); the English book's old version, deleted in the
    # first segment, had the phrase in its title.
    assert found == {phrases["adjacent"].pk}
    assert repeated == {phrases["adjacent"].pk}


def test_a_phrase_does_not_span_two_sections(phrases):
    """The title ends with "judgment" and the author starts with "Enforcement": sections are positions apart."""
    found = services.search('"judgment enforcement"', filters=PUBLIC)

    assert phrases["gap"].pk not in {h.id for h in found.items}


PHRASE_SCORES = PHRASES[:5] + ['"担保物权 实现"', '"担保物权 实现" OR "court court"', '"court court" judgment', "court OR (judgment enforcement)"]


@pytest.mark.parametrize("text", PHRASE_SCORES)
def test_phrase_scores_equal_whoosh_scores(phrases, text):
    s = searcher._searcher()
    q = searcher.parse(text, s.schema, fields=searcher._fields_for(text, with_bigrams=True))
    expected = {hit.docnum: hit.score for hit in s.search(q, limit=None)}
    got = {}
    for seg in searcher._segments(s):
        docs = seg.docs(q)
        docs = docs[~np.isin(docs, list(seg.reader.deleted_docs_set))] if seg.reader.has_deletions() else docs
        for d, score in zip(docs.tolist(), seg.scores(q, docs, s).tolist(), strict=True):
            got[seg.offset + d] = score
    assert got.keys() == expected.keys()
    for docnum, score in expected.items():
        assert got[docnum] == pytest.approx(score, rel=1e-6)


def test_phrase_search_never_asks_whoosh_to_rank(phrases, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ranked by Whoosh's matchers")

    monkeypatch.setattr(searcher._Run, "_by_whoosh_score", refuse)

    result = services.search('"court court court"', filters=PUBLIC)

    assert [h.id for h in result.items] == [phrases["adjacent"].pk]


# --- decoding ------------------------------------------------------------------------------------------


def _encoded(positions: list[int]) -> bytes:
    """A posting's value as Whoosh's Positions format writes it."""
    deltas, base = [], 0
    for p in positions:
        deltas.append(p - base)
        base = p
    return struct.pack("!I", len(deltas)) + pickle.dumps(deltas, 2)


def test_positions_decode_as_whoosh_decodes_them():
    from whoosh.formats import Positions

    cases = [[0], [5], [0, 0, 3], [1, 2, 255, 256, 65535, 65536, 2**31 - 1], list(range(0, 3000, 2)), [7, 300, 70000]]
    values = [_encoded(c) for c in cases]

    counts, flat = postings_cache.decode_positions(values)

    expected = [Positions().decode_positions(v) for v in values]
    assert counts.tolist() == [len(e) for e in expected]
    assert flat.tolist() == [p for e in expected for p in e]


def test_every_indexed_position_decodes_as_whoosh_decodes_it(phrases):
    s = searcher._searcher()
    for seg in searcher._segments(s):
        reader = seg.reader
        for fieldname in ("body", "title", "people"):
            for btext in reader.lexicon(fieldname):
                _, found = postings_cache.read_positions(reader, fieldname, btext)
                matcher = reader.postings(fieldname, btext)
                if hasattr(matcher, "child"):
                    matcher = matcher.child
                    matcher.reset()
                expected = {}
                while matcher.is_active():
                    expected[matcher.id()] = list(matcher.value_as("positions"))
                    matcher.next()
                got = {
                    int(d): found.pos[found.starts[i] : found.starts[i + 1]].tolist() for i, d in enumerate(found.ids)
                }
                assert got == expected, (fieldname, btext)


# --- the any-word fallback ------------------------------------------------------------------------------

ANY_WORD = [
    "王泽鉴 不存在的词语",
    "担保物权 court judgment 不存在",
    '"court court" enforcement 担保',
    "court -judgment 担保物权",
    "danbao xingfa zhangmingkai",
    "judgment",
]


@pytest.mark.parametrize("text", ANY_WORD)
def test_any_word_scores_equal_whoosh_coordination_scores(phrases, text):
    """Equal to Whoosh's CoordMatcher as built, before its collector prunes exhausted lists (replace=0)."""
    from whoosh import collectors

    s = searcher._searcher()
    q = searcher.parse(text, s.schema, any_term=True, fields=searcher._fields_for(text, with_bigrams=True))
    collector = collectors.TopCollector(limit=10_000, usequality=False, replace=0)
    s.search_with_collector(q, collector)
    expected = {hit.docnum: hit.score for hit in collector.results()}
    assert expected
    got = {}
    for seg in searcher._segments(s):
        docs = seg.docs(q)
        docs = docs[~np.isin(docs, list(seg.reader.deleted_docs_set))] if seg.reader.has_deletions() else docs
        for d, score in zip(docs.tolist(), seg.scores(q, docs, s).tolist(), strict=True):
            got[seg.offset + d] = score
    assert got.keys() == expected.keys()
    for docnum, score in expected.items():
        assert got[docnum] == pytest.approx(score, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("text", ANY_WORD)
def test_any_word_scores_of_a_document_do_not_depend_on_the_others_scored(phrases, text):
    """Many documents are scored by adding each word's postings where they fall, few by looking each part's own
    matches up among them (``_Segment._parts_scores``): one document scored alone, or with a few others, gets
    exactly the score it gets among all the matches."""
    s = searcher._searcher()
    q = searcher.parse(text, s.schema, any_term=True, fields=searcher._fields_for(text, with_bigrams=True))
    checked = 0
    for seg in searcher._segments(s):
        docs = seg.docs(q)
        if not len(docs):
            continue
        together = dict(zip(docs.tolist(), seg.scores(q, docs, s).tolist(), strict=True))
        for d in docs.tolist():
            assert seg.scores(q, np.array([d], dtype=np.int32), s).tolist() == [together[d]]
            checked += 1
        every_other = docs[::2]
        assert seg.scores(q, every_other, s).tolist() == [together[d] for d in every_other.tolist()]
    assert checked


@given(st.lists(st.integers(0, 3000), unique=True), st.lists(st.integers(0, 3000), unique=True))
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_intersections_equal_numpys(a, b):
    a, b = np.array(sorted(a), dtype=np.int32), np.array(sorted(b), dtype=np.int32)
    assert searcher._intersect(a, b).tolist() == np.intersect1d(a, b).tolist()


def test_the_any_word_fallback_is_ranked_on_arrays(phrases, monkeypatch):
    monkeypatch.setattr(searcher._Run, "_by_whoosh_score", lambda *a, **k: pytest.fail("ranked by Whoosh's matchers"))

    loose = services.search("王泽鉴 不存在的词语", filters=PUBLIC)

    assert (loose.matched_all_terms, (loose.items[0].type, loose.items[0].id)) == (False, ("book", phrases["wuquan"].pk))


# --- did-you-mean ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["danbaa", "wuquen", "wuqaun", "judgmant", "enforcemant", "zhangmingkaa", "xx", "d"])
def test_corrections_are_whooshs_one_edit_suggestions_ranked_over_all_segments(phrases, word):
    """The same terms and order as Whoosh's suggest on the whole index (Damerau distance 1, first letter kept)."""
    from whoosh.spelling import ReaderCorrector

    s = searcher._searcher()
    assert len(list(s.leaf_searchers())) >= 2
    for fieldname in ("pinyin", "title"):
        reader = s.reader()
        expected = ReaderCorrector(reader, fieldname, s.schema[fieldname]).suggest(
            word, limit=searcher.SUGGEST_CANDIDATES, maxdist=1, prefix=1
        )

        assert searcher._corrections(s, fieldname, word) == expected
