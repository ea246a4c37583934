"""The index never drifts from the database: the outbox, the drain, rebuild and check_index."""

import io
import multiprocessing
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from library.models import Book, Copy
from library.services import (
    Person,
    book_create,
    book_delete,
    book_update,
    copy_create,
    copy_update,
    paper_attach_file,
    paper_create,
)
from search_index import generations, indexer, postings_cache, searcher, services, worker
from search_index.changelog import waiting_here
from search_index.models import IndexChange
from search_index.services import Filters
from tests.conftest import apply_index_outbox

PUBLIC = Filters()


def found(query, **filters):
    searcher.reset()
    return [(h.type, h.id) for h in services.search(query, filters=Filters(**filters)).items]


@pytest.fixture
def empty_index(db):
    services.index_rebuild()


@pytest.mark.django_db
def test_create_update_delete_reach_the_index_after_commit(empty_index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book = book_create(title="多元化纠纷解决机制研究", contributors=[Person("龙宗智")])
    apply_index_outbox()
    assert found("多元化纠纷解决") == [("book", book.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        book_update(book=book, changes={"title": "诉源治理研究"})
    apply_index_outbox()
    assert found("诉源治理") == [("book", book.pk)]
    assert found("多元化纠纷解决") == []
    with django_capture_on_commit_callbacks(execute=True):
        book_delete(book=book)
    apply_index_outbox()
    assert found("诉源治理") == []
    assert waiting_here() == 0


@pytest.mark.django_db
def test_availability_follows_copy_changes(empty_index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book = book_create(title="民事执行法")
        copy = copy_create(book=book, barcode="X1")
    apply_index_outbox()
    assert found("", available=True) == [("book", book.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        copy_update(copy=copy, changes={"status": Copy.Status.REPAIR})
    apply_index_outbox()
    assert found("", available=True) == []
    assert services.search("民事执行法", filters=PUBLIC).items[0].available_copies == 0


@pytest.mark.django_db
def test_contributor_only_change_reaches_the_index(empty_index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book = book_create(title="合同法研究")
    apply_index_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        book_update(book=book, changes={}, contributors=[Person("王利明")])
    apply_index_outbox()
    assert found("王利明") == [("book", book.pk)]


@pytest.mark.django_db
def test_paper_file_text_becomes_searchable(empty_index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        paper = paper_create(title="家事审判改革调研", visibility="public")
        paper_attach_file(paper=paper, data="第三章 讨论离婚冷静期的适用。".encode(), filename="a.txt")
    apply_index_outbox()
    assert found("离婚冷静期") == [("paper", paper.pk)]


@pytest.mark.django_db
def test_a_searcher_kept_across_updates_finds_each_record_once_as_last_written(
    empty_index, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """One hit with the latest availability after every update, from the searcher this thread keeps (as a
    server process keeps it across requests); a dozen drains also make the worker's loop merge segments."""
    settings.SEARCH_MERGE_SEGMENTS = 3
    monkeypatch.setattr(worker, "_state", worker.LoopState())
    monkeypatch.setattr(worker, "IDLE_SECONDS", 0)
    with django_capture_on_commit_callbacks(execute=True):
        book = book_create(title="破产重整实务")
        copy = copy_create(book=book, barcode="R1")
    apply_index_outbox()
    seen = []
    for i in range(12):
        status = Copy.Status.REPAIR if i % 2 == 0 else Copy.Status.AVAILABLE
        with django_capture_on_commit_callbacks(execute=True):
            copy_update(copy=copy, changes={"status": status})
        apply_index_outbox()
        seen.append([(h.id, h.available_copies) for h in services.search("破产重整", filters=PUBLIC).items])
    assert seen == [[(book.pk, 0 if i % 2 == 0 else 1)] for i in range(12)]


@pytest.mark.django_db
def test_a_reader_whose_segments_a_merge_deleted_is_replaced_by_a_complete_one(
    empty_index, django_capture_on_commit_callbacks
):
    """Whoosh opens stored fields lazily: a reader opened just before another process's merge must not be used."""
    with django_capture_on_commit_callbacks(execute=True):
        first = book_create(title="执行和解研究")
    apply_index_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        second = book_create(title="执行回转研究")
    apply_index_outbox()
    ix = generations.open_index()
    before = ix.searcher()
    merge = indexer._writer(ix)
    merge.commit(optimize=True)  # one segment now; the files of the two it replaces are deleted

    assert postings_cache.open_columns(before.reader()) is False
    before.close()
    after = searcher._open_searcher(ix)
    assert sorted(int(f["pk"]) for f in after.all_stored_fields()) == [first.pk, second.pk]
    after.close()


@pytest.mark.django_db
def test_a_crash_between_commit_and_indexing_is_replayed_by_the_queue(empty_index):
    # No on-commit callbacks run here: the process "died" right after the commit.
    book = book_create(title="执行异议之诉研究")
    assert waiting_here() == 1 and IndexChange.objects.filter(kind="book", object_id=book.pk).exists()
    assert found("执行异议") == []
    out = io.StringIO()
    call_command("process_index_queue", stdout=out)
    assert found("执行异议") == [("book", book.pk)]
    assert waiting_here() == 0
    assert "已更新 1 条" in out.getvalue()


@pytest.mark.django_db
def test_drain_leaves_work_queued_while_another_writer_holds_the_lock(empty_index):
    book = book_create(title="小额诉讼程序研究")
    ix = generations.open_index()
    lock = ix.lock("WRITELOCK")
    assert lock.acquire(blocking=False)
    try:
        result = indexer.drain()
        assert (result.busy, result.indexed) == (True, 0)
        assert waiting_here() == 1
    finally:
        lock.release()
    assert indexer.drain().indexed == 1
    assert found("小额诉讼") == [("book", book.pk)]


@pytest.mark.django_db
def test_without_an_index_work_stays_queued_and_rebuild_applies_it(db):
    book = book_create(title="司法确认程序")
    # A record the outbox does not hold (written without signals): the drain may not create an empty index.
    Book.objects.bulk_create([Book(title="未入队的书")])
    assert indexer.drain().missing is True
    with pytest.raises(services.SearchUnavailable, match="rebuild_index"):
        services.search("司法确认", filters=PUBLIC)
    call_command("rebuild_index", quiet=True, stdout=io.StringIO())
    assert found("司法确认") == [("book", book.pk)]
    assert waiting_here() == 0


@pytest.mark.django_db
def test_rebuild_swaps_a_new_generation_in_and_removes_the_old(empty_index):
    first = generations.current_generation()
    book_create(title="再审程序研究")
    services.index_rebuild()
    second = generations.current_generation()
    assert first != second
    assert [p.name for p in generations.root().glob("gen-*")] == [second]
    assert found("再审程序") != []


@pytest.mark.django_db
def test_check_index_reports_and_fixes_drift(empty_index):
    kept = book_create(title="诉讼时效制度研究")
    gone = book_create(title="表见代理研究")
    services.index_rebuild()
    # Drift behind the index's back: a change with its queue row lost, a row deleted.
    Book.objects.filter(pk=kept.pk).update(title="除斥期间制度研究")
    Book.objects.filter(pk=gone.pk).delete()
    IndexChange.objects.all().delete()
    new = Book.objects.create(title="善意取得研究")
    IndexChange.objects.all().delete()
    out = io.StringIO()
    with pytest.raises(CommandError, match="不一致"):
        call_command("check_index", stdout=out)
    assert f"缺失: 1  (book:{new.pk})" in out.getvalue()
    assert f"过期: 1  (book:{kept.pk})" in out.getvalue()
    assert f"多余: 1  (book:{gone.pk})" in out.getvalue()
    call_command("check_index", "--fix", stdout=io.StringIO())
    assert services.index_check().ok
    assert found("除斥期间") == [("book", kept.pk)]
    assert found("表见代理") == []


@pytest.mark.django_db(transaction=True)
def test_searches_keep_answering_during_a_rebuild():
    for i in range(30):
        book_create(title=f"担保物权第{i}卷")
    services.index_rebuild()
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def search_loop():
        try:
            while not stop.is_set():
                counts.append(services.search("担保物权", filters=PUBLIC).count)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            searcher.reset()
            connection.close()

    thread = threading.Thread(target=search_loop)
    thread.start()
    try:
        for _ in range(3):
            services.index_rebuild()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert counts and set(counts) == {30}


def _writer_process(db_settings, index_dir, worker, books, queue):
    """A separate process: create books, each committing and then applying the outbox as a worker's loop does
    (several processes drain at once, as several workers do)."""
    import django
    from django.conf import settings

    connections.close_all()
    settings.DATABASES["default"].update(db_settings)
    settings.SEARCH_INDEX_DIR = index_dir
    django.setup()
    try:
        for i in range(books):
            book_create(title=f"并发写入{worker}号第{i}本", contributors=[Person(f"作者{worker}")])
            apply_index_outbox()
        queue.put(None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc))
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_several_processes_write_at_once_without_failing_or_losing_updates(settings):
    services.index_rebuild()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    db_settings = {"NAME": connection.settings_dict["NAME"]}
    connections.close_all()
    workers = [
        ctx.Process(target=_writer_process, args=(db_settings, settings.SEARCH_INDEX_DIR, w, 8, queue))
        for w in range(4)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    results = [queue.get(timeout=5) for _ in workers]
    assert results == [None] * 4
    assert Book.objects.count() == 32
    # Every process drained after its commits, whoever held the writer: nothing is left behind in the queue.
    assert waiting_here() == 0
    assert services.index_check().ok
    assert services.search("并发写入", filters=PUBLIC, limit=50).count == 32


def test_a_failed_reopen_leaves_no_closed_searcher_cached(db, monkeypatch):
    """Was "Reader already closed" (a 500) on the next search: the cached searcher was closed before the
    reopen, and when the reopen failed (the index swapped underneath) the closed one stayed cached."""
    from search_index import generations

    book_create(title="担保物权第一卷")
    services.index_rebuild()
    assert services.search("担保物权", filters=PUBLIC).count == 1
    book_create(title="担保物权第二卷")
    services.index_drain()  # the cached searcher is now out of date
    real_open = searcher._open_searcher
    calls = []

    def failing_once(ix):
        calls.append(ix)
        if len(calls) == 1:
            raise generations.IndexMissing("swapped underneath")
        return real_open(ix)

    monkeypatch.setattr(searcher, "_open_searcher", failing_once)

    with pytest.raises(services.SearchUnavailable):
        services.search("担保物权", filters=PUBLIC)
    assert services.search("担保物权", filters=PUBLIC).count == 2


def test_a_search_the_index_keeps_moving_under_runs_at_most_search_attempts_times(empty_index, monkeypatch):
    """The searcher runs a search again when its files vanished because the index moved on (SEARCH_ATTEMPTS), and
    services.search ran the whole of that again when the generation had changed: one search up to six runs
    (review of issue 21).  The retry is the searcher's alone."""
    runs = []
    names = iter(f"gen-{n}" for n in range(100))

    def vanished(*args, **kwargs):
        runs.append(1)
        raise FileNotFoundError("_MAIN_3.toc")

    monkeypatch.setattr(searcher, "_search", vanished)
    monkeypatch.setattr(searcher, "_moved_on", lambda s: True)

    class Swapping:
        """generations as services.search sees it: a rebuild swapped a new generation in during each attempt."""

        def __getattr__(self, name):
            return getattr(generations, name)

        def current_generation(self):
            return next(names)

    monkeypatch.setattr(services, "generations", Swapping())

    with pytest.raises(services.SearchUnavailable):
        services.search("担保", filters=services.Filters())
    assert len(runs) == searcher.SEARCH_ATTEMPTS
