"""A rebuild's index (search_index.bulk_writer's segments, the indexing formats' postings) answers every query
exactly as the index Whoosh's own writer builds from the same catalogue: the same records, scores and order,
counts, facets, highlights and suggestions — and still after deletions and edits applied on top of it.

The reference is the rebuild as it was before the bulk writer: ``ix.writer()`` (with ``procs`` > 1 Whoosh's
multi-process writer, one segment per process) over a schema with Whoosh's own ``Positions``/``Frequency``
formats.  Each index is a node of its own (its directory, its position in the change log), so the same changes
are applied to both by the ordinary drain.
"""

import dataclasses

import pytest

from bench.corpus import Corpus
from bench.search_bench import load_catalog
from library.models import Book, Copy, Paper
from library.services import book_create, book_delete, book_update, copy_update, paper_delete, paper_update
from search_index import bulk_writer, generations, index_schema, searcher, services, whoosh_private
from search_index.services import Filters
from tests.search_index.conftest import build_catalog

#: Records of the synthetic catalogue (bench/corpus.py: real legal words, 5% papers with full text).
RECORDS = 400

#: Records on a page: more than most queries find, fewer than some (the ties at a full page's end).
LIMIT = 60

FILTERS = [
    Filters(),
    Filters(include_internal=True),
    Filters(type="paper", include_internal=True),
    Filters(available=True),
    Filters(year_from=2010, year_to=2018),
    Filters(clc="D92"),
]

#: Queries of every kind the analysis knows, beside the corpus's own.
EXTRA_QUERIES = [
    "担保物权", "擔保物權", "danbao wuquan", "dbwq", "wang liming", "王泽鉴", "9787301048153", "7-301-04815-7",
    "D923.2", "Judgment enforcement", "judgments", '"担保物权 实现"', "担保 -抵押", "title:担保", "ᠮᠣᠩᠭᠣᠯ",
    "民法典第394条", "民诉法", "草原 生态", "诉源治理", "zzz不存在的词", "担保无权", "fayuan", "沈從文",
]


def whoosh_write_segments(ix, docs, *, prepare, procs, limitmb, codec_factory, after, progress):
    """The rebuild's writing as it was: Whoosh's writer (its pool, runs and per-posting sort), one commit."""
    if procs > 1:
        writer = ix.writer(procs=procs, multisegment=True, limitmb=limitmb, compound=False, codec=codec_factory())
    else:
        writer = ix.writer(limitmb=limitmb, compound=False, codec=codec_factory())
    for doc in docs:
        writer.add_document(**prepare(doc))
        if progress:
            progress(1)
    writer.commit(optimize=True)
    return whoosh_private.toc_segments(ix)


def use_node(settings, root, node: str) -> None:
    """This process is ``node``: its index directory and its position in the change log."""
    settings.SEARCH_NODE, settings.SEARCH_INDEX_DIR = node, str(root / node)
    searcher.reset()


def rebuild_as(settings, root, monkeypatch, node: str, *, whoosh: bool, procs: int) -> None:
    use_node(settings, root, node)
    with monkeypatch.context() as m:
        if whoosh:
            m.setattr(bulk_writer, "write_segments", whoosh_write_segments)
            m.setattr(index_schema, "use_indexing_formats", lambda schema: None)
        services.index_rebuild(procs=procs)
    ix = generations.open_index()
    formats = {type(ix.schema[name].format).__name__ for name in ix.schema.names() if ix.schema[name].format}
    ix.close()
    # Each index holds the formats it was meant to: Whoosh's own for the reference.
    assert ("IndexPositions" in formats) is not whoosh and ("Positions" in formats) is whoosh


def answers(settings, root, node: str, queries: list[str]) -> dict:
    """Everything a search returns, for each query, filter and sort, from ``node``'s index."""
    use_node(settings, root, node)
    out = {}
    for i, text in enumerate(queries):
        # Every query as typed; every third also filtered and sorted by year.
        for n, filters in enumerate(FILTERS if i % 3 == 0 else FILTERS[:1]):
            sorts = ("relevance", "-year") if n == 0 and i % 3 == 0 else ("relevance",)
            for sort in sorts:
                # Highlights (read from the stored fields, two thirds of the comparison's time) for every query as
                # typed; the filtered and sorted answers compare records, scores, order, counts and facets.
                highlight = n == 0 and sort == "relevance"
                result = services.search(text, filters=filters, sort=sort, limit=LIMIT, highlight=highlight)
                out[text, n, sort] = dataclasses.asdict(result)
    searcher.reset()
    return out


def tie_free(answer: dict, sort: str) -> dict:
    """An answer with the records that tie in the sort (equal score; equal year) in one order: which of two
    segments a record went to decides the order of ties, and Whoosh's multi-process writer hands out its batches
    to whichever process is free.  When the page is full, which of the records tied with its last one made it
    onto the page depends on that order too: they are left out, and only their number is compared."""
    answer = dict(answer)
    field = "score" if sort == "relevance" else "year"
    page = answer["items"]
    if len(page) == LIMIT:
        last = page[-1][field]
        answer["tied_at_the_end"] = sum(1 for h in page if h[field] == last)
        page = [h for h in page if h[field] != last]
    # The order itself: the sort's values down the page are the same.
    answer["order"] = [h[field] for h in page]
    answer["items"] = sorted(page, key=lambda h: (h["type"], h["id"]))
    return answer


def first_difference(found: dict, expected: dict) -> str:
    for name in expected:
        if found[name] != expected[name]:
            if name == "items":
                for i, (a, b) in enumerate(zip(found[name], expected[name], strict=False)):
                    if a != b:
                        return f"item {i}: {a} != {b}"
            return f"{name}: {found[name]} != {expected[name]}"
    return ""


def change_the_catalogue(records) -> None:
    """Deletions, edits and new records, each appending to the change log."""
    book_delete(book=records["zhangaijun"])
    book_update(book=records["danbao_book"], changes={"title": "担保物权实现程序研究", "year": 2011})
    copy_update(copy=Copy.objects.get(barcode="A1"), changes={"status": "repair"})
    copy_update(copy=Copy.objects.get(barcode="A2"), changes={"status": "repair"})
    paper_update(paper=records["internal"], changes={"visibility": "public"})
    paper_delete(paper=records["grassland"])
    deletable = Book.objects.exclude(copies__status__in=Copy.CIRCULATING).order_by("id")
    for book in deletable[20:40]:  # bulk-written records
        book_delete(book=book)
    for book in Book.objects.order_by("id")[40:60]:
        book_update(book=book, changes={"title": book.title + " 诉源治理", "summary": ""})
    for paper in Paper.objects.order_by("id")[:5]:
        paper_update(paper=paper, changes={"visibility": "internal"})
    book_create(title="多元化纠纷解决机制与诉源治理", clc="D925.1", year=2024, summary="担保物权的实现。")


@pytest.mark.parametrize("procs", [1, 2])
def test_the_bulk_built_index_answers_every_query_as_whooshs_writer_would(db, settings, tmp_path, monkeypatch,
                                                                          procs, django_capture_on_commit_callbacks):
    settings.SEARCH_TIME_LIMIT = 600  # answers compared, not times: a loaded machine must not cut a search off
    # Sidecars for lists of a few postings, so that the searches read them as at full size.
    monkeypatch.setattr("search_index.postings_cache.SIDECAR_MIN_POSTINGS", 4)
    monkeypatch.setattr(bulk_writer, "BATCH_DOCS", 25)  # both writer processes get records
    records = build_catalog()
    corpus = Corpus(RECORDS, seed=7)
    load_catalog(corpus)  # bulk-inserted, nothing in the change log
    queries = [text for _kind, text in corpus.queries(45)] + EXTRA_QUERIES

    rebuild_as(settings, tmp_path, monkeypatch, "whoosh", whoosh=True, procs=procs)
    rebuild_as(settings, tmp_path, monkeypatch, "bulk", whoosh=False, procs=procs)
    for node in ("whoosh", "bulk"):
        use_node(settings, tmp_path, node)
        ix = generations.open_index()
        assert len(whoosh_private.toc_segments(ix)) == procs
        ix.close()

    def compare():
        expected, found = answers(settings, tmp_path, "whoosh", queries), answers(settings, tmp_path, "bulk", queries)
        assert found.keys() == expected.keys()
        def normal(key, answer):
            return answer if procs == 1 else tie_free(answer, key[2])

        differing = [key for key in expected if normal(key, found[key]) != normal(key, expected[key])]
        assert differing == [], first_difference(normal(differing[0], found[differing[0]]),
                                                 normal(differing[0], expected[differing[0]]))
        return expected

    before = compare()
    # The comparison is not vacuous: most queries find records, with highlights, facets and suggestions.
    relevance = [a for (_t, n, sort), a in before.items() if n == 0 and sort == "relevance"]
    assert sum(1 for a in relevance if a["count"] > 0) >= 0.8 * len(relevance)
    assert sum(a["count"] for a in relevance) > 5 * len(relevance)
    assert any(h["highlights"] for a in relevance for h in a["items"])
    assert any(a["suggestion"] or a["corrected_from"] for a in relevance)
    assert any(a["facets"].get("clc") for a in relevance)
    if procs == 1:  # exact order: scores tie in places, and the order of ties is kept too
        scores = [[h["score"] for h in a["items"]] for a in relevance]
        assert any(len(s) != len(set(s)) for s in scores)

    with django_capture_on_commit_callbacks(execute=True):
        change_the_catalogue(records)
    for node in ("whoosh", "bulk"):
        use_node(settings, tmp_path, node)
        result = services.index_drain()
        assert result.indexed and result.deleted
    after = compare()
    assert after != before
    assert after["诉源治理", 0, "relevance"]["count"] >= 21
