"""A search never fails, and never answers differently, because a writer in another process committed.

Whoosh's commit deletes the files of the segments its merge replaced, and the previous table of contents,
right after it writes the new one.  A file already open stays readable on Linux; one not yet opened is gone.
Each test below lets a real second process commit (a merge of every segment, as the worker's loop merges) at
the one moment of a search where that used to hurt, held there by a hook in this process: the writer's
commit happens while the search is paused, and the search then goes on.  No test measures time; a stuck
writer fails the test after a generous bound.
"""

import logging
import multiprocessing
import random

import pytest
from whoosh.filedb.filestore import FileStorage

from library.services import Person, book_create
from search_index import generations, indexer, postings_cache, searcher, services
from search_index.index_schema import INDEX_NAME
from search_index.services import Filters
from tests.conftest import apply_index_outbox

#: How long the test waits for the other process's commit before failing (a loaded machine is slow).
WRITER_BOUND_SECONDS = 120


def _writer_process(index_dir: str, conn) -> None:
    """Another process's index writer: each request commits once; ``"merge"`` merges every segment into one
    (Whoosh then deletes the replaced segments' files and the previous table of contents), ``"churn"``
    keeps writing the stored documents again (their stored fields only: no ``body``, no sort column) in small
    commits, merging every fourth, until told to stop."""
    from whoosh import index as whoosh_index

    try:
        while True:
            command = conn.recv()
            if command == "stop":
                return
            ix = whoosh_index.open_dir(index_dir, indexname=INDEX_NAME)
            if command == "merge":
                indexer._writer(ix).commit(optimize=True)
                conn.send(("done", ix.latest_generation()))
            elif command == "churn":
                with ix.searcher() as s:
                    stored = [dict(fields) for fields in s.all_stored_fields()]
                rnd = random.Random(7)
                commits = 0
                while not conn.poll():
                    writer = indexer._writer(ix)
                    for fields in rnd.sample(stored, min(3, len(stored))):
                        writer.update_document(**fields)
                    writer.commit(optimize=commits % 4 == 3, merge=False)
                    commits += 1
                conn.recv()  # "stop churning"
                conn.send(("done", commits))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        conn.send(("error", repr(exc)))


class OtherProcess:
    """A second process writing the current index generation, on request."""

    def __init__(self):
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        path = str(generations.root() / generations.current_generation())
        self.process = ctx.Process(target=_writer_process, args=(path, child), daemon=True)
        self.process.start()
        self.commits = 0

    def _answer(self):
        assert self.conn.poll(WRITER_BOUND_SECONDS), "the other process's commit did not finish"
        status, value = self.conn.recv()
        assert status == "done", value
        return value

    def merge(self) -> int:
        """Commit a merge of every segment in the other process; returns the new generation number."""
        self.conn.send("merge")
        self.commits += 1
        return self._answer()

    def start_churning(self) -> None:
        self.conn.send("churn")

    def stop_churning(self) -> int:
        self.conn.send("stop churning")
        return self._answer()

    def close(self) -> None:
        self.conn.send("stop")
        self.process.join(WRITER_BOUND_SECONDS)


@pytest.fixture
def catalog(db):
    """Twelve books in several segments (one drain each), with call numbers whose shelf order is not the
    order they were added in."""
    services.index_rebuild()
    books = []
    for i in range(12):
        books.append(book_create(
            title=f"担保物权研究第{i}卷", contributors=[Person(f"王{'甲乙丙'[i % 3]}")], clc="D923.2",
            call_number=f"D923.2/{(i * 7) % 12 + 1}", year=2000 + i % 4,
            summary="抵押权与质权的执行和解" if i % 2 else "留置权的善意取得",
        ))
        apply_index_outbox()
    return books


@pytest.fixture
def other_process(catalog):
    other = OtherProcess()
    yield other
    other.close()


def _answer(result) -> tuple:
    """What a reader sees of a result (scores rounded: a merge may sum the same terms in another order)."""
    return (
        result.count,
        [(h.type, h.id, h.title, round(h.score, 6), h.highlights, h.call_number) for h in result.items],
        result.facets, result.suggestion, result.query,
    )


QUERY_SHAPES = [
    pytest.param({"text": "担保物权"}, id="relevance-highlights-facets"),
    pytest.param({"text": "", "sort": "call_number"}, id="shelf-order"),
    pytest.param({"text": "物权", "sort": "call_number", "offset": 3, "limit": 4}, id="shelf-order-page"),
    pytest.param({"text": "研究", "sort": "year", "limit": 5, "offset": 5}, id="year-page"),
    pytest.param({"text": "执行和解", "filters": Filters(year_from=2001, year_to=2002)}, id="years-filter"),
    pytest.param({"text": "王甲", "highlight": False}, id="people-no-highlight"),
    pytest.param({"text": "danbao wuquan"}, id="pinyin"),
    pytest.param({"text": "担保物全"}, id="did-you-mean"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", QUERY_SHAPES)
def test_a_merge_committed_by_another_process_during_a_search_changes_nothing_in_its_answer(
    other_process, monkeypatch, query
):
    query = {"filters": Filters(), **query}
    expected = _answer(services.search(**query))
    searcher.reset()
    searcher.clear_caches()  # as a process that has not read these segments yet (a new segment is read first here)
    real = searcher._searcher

    def merge_right_after_opening():
        opened = real()
        if not other_process.commits:
            other_process.merge()  # the files of every segment this searcher reads are deleted now
        return opened

    monkeypatch.setattr(searcher, "_searcher", merge_right_after_opening)
    assert _answer(services.search(**query)) == expected
    assert other_process.commits == 1


def _hold_first(monkeypatch, method: str, wanted, then):
    """Run ``then()`` inside the first call of ``FileStorage.<method>`` on a file named as ``wanted`` says,
    before (``open_file``) or after (``file_exists``) the real call."""
    real = getattr(FileStorage, method)
    done = []

    def held(self, name, *args, **kwargs):
        if done or not wanted(name):
            return real(self, name, *args, **kwargs)
        done.append(name)
        if method == "open_file":
            then()
            return real(self, name, *args, **kwargs)
        answer = real(self, name, *args, **kwargs)
        then()
        return answer

    monkeypatch.setattr(FileStorage, method, held)
    return done


@pytest.mark.django_db
def test_a_column_file_deleted_between_its_check_and_its_opening_is_read_from_the_next_generation(
    other_process, catalog, monkeypatch
):
    """The searcher opens every column file of every segment as it opens: Whoosh checks that the file exists,
    then opens it.  A merge committed in between left a FileNotFoundError: a 503 "全文索引无法读取"."""
    services.search("担保物权", filters=Filters())  # an index that opens
    searcher.reset()
    held = _hold_first(monkeypatch, "file_exists", lambda name: name.endswith(".col"), other_process.merge)
    result = services.search("担保物权", filters=Filters(), limit=20)
    assert held and other_process.commits == 1
    assert sorted(h.id for h in result.items) == sorted(b.pk for b in catalog)


@pytest.mark.django_db
def test_a_table_of_contents_deleted_between_listing_and_reading_is_read_again(other_process, catalog, monkeypatch):
    """Opening the index lists the newest table of contents, then reads it; a commit in between deletes it."""
    services.search("担保物权", filters=Filters())
    searcher.reset()
    held = _hold_first(monkeypatch, "open_file", lambda name: name.endswith(".toc"), other_process.merge)
    result = services.search("担保物权", filters=Filters(), limit=20)
    assert held and other_process.commits == 1
    assert result.count == len(catalog)


@pytest.mark.django_db
def test_a_file_vanishing_under_a_search_after_another_process_committed_is_searched_again(
    other_process, catalog, monkeypatch
):
    """Whatever else Whoosh opens lazily: a search whose file vanished because the index moved on since its
    searcher opened is answered by a fresh searcher."""
    expected = _answer(services.search("担保物权", filters=Filters()))
    real = postings_cache.facet_column
    calls = []

    def vanished_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            other_process.merge()
            raise FileNotFoundError(2, "No such file or directory", "catalog_gone.col")
        return real(*args, **kwargs)

    monkeypatch.setattr(postings_cache, "facet_column", vanished_once)
    assert _answer(services.search("担保物权", filters=Filters())) == expected
    assert len(calls) > 1


@pytest.mark.django_db
def test_a_file_missing_from_an_index_nobody_changed_is_still_reported_with_its_traceback(catalog, monkeypatch,
                                                                                          caplog):
    """Damage is not retried away: with no commit since the searcher opened, a missing file is a 503."""
    services.search("担保物权", filters=Filters())

    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "catalog_gone.col")

    monkeypatch.setattr(postings_cache, "facet_column", missing)
    with caplog.at_level(logging.ERROR, logger="search_index.services"):
        with pytest.raises(services.SearchUnavailable, match="FileNotFoundError"):
            services.search("担保物权", filters=Filters())
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.django_db
def test_searches_of_every_shape_keep_answering_while_another_process_commits_and_merges(other_process, catalog):
    """The stress run: another process commits small segments and merges them, as fast as it can, while this
    one searches in every shape, each search on a searcher reopened after the latest commit."""
    shapes = [{"filters": Filters(), **param.values[0]} for param in QUERY_SHAPES]
    errors: list[str] = []
    counts: list[int] = []
    other_process.start_churning()
    try:
        for _round in range(25):
            for query in shapes:
                try:
                    counts.append(services.search(**query).count)
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(repr(exc))
    finally:
        commits = other_process.stop_churning()
    assert errors == []
    assert commits > 0 and len(counts) == 25 * len(shapes)
