"""Index upkeep leaves the request: requests only queue, the workers' loop applies and merges, a rebuild is a job."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from whoosh.index import FileIndex

from accounts.models import Role
from jobs.models import Job
from jobs.services import Progress
from library.models import Book
from library.services import book_create, copy_create
from search_index import (
    changelog,
    generations,
    indexer,
    postings_cache,
    searcher,
    services,
    tasks,
    whoosh_codec,
    whoosh_private,
    worker,
)
from search_index.changelog import waiting_here
from search_index.models import IndexChange, IndexNode
from search_index.services import Filters
from tests.conftest import copy_barcode, make_user
from tests.jobs.test_worker_live import Worker, wait_for

pytestmark = pytest.mark.django_db


def waiting_records() -> set[tuple[str, int]]:
    """The records of the change-log entries this node has not applied."""
    node = IndexNode.objects.filter(name=changelog.node_name()).first()
    return set(IndexChange.objects.filter(id__gt=node.applied_to if node else 0).values_list("kind", "object_id"))


def this_cursor() -> changelog.Cursor:
    return changelog.cursor(generations.current_generation())


def found(query: str) -> list[tuple[str, int]]:
    searcher.reset()
    return [(h.type, h.id) for h in services.search(query, filters=Filters()).items]


def segment_count() -> int:
    ix = generations.open_index()
    try:
        return len(whoosh_codec.segment_sizes(ix))
    finally:
        ix.close()


@pytest.fixture
def empty_index(db):
    services.index_rebuild()


@pytest.fixture
def merge_now(monkeypatch):
    """A fresh loop, as in a worker just started, for which the outbox is idle as soon as it is empty."""
    monkeypatch.setattr(worker, "_state", worker.LoopState())
    monkeypatch.setattr(worker, "IDLE_SECONDS", 0)


def test_a_book_written_through_the_api_is_searchable_only_after_the_worker_loop_runs(
    empty_index, librarian_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = librarian_api.post("/api/v1/books", {"title": "诉源治理实践研究"})
    assert response.status_code == 201, response.content
    book_id = response.json()["id"]
    assert list(IndexChange.objects.values_list("kind", "object_id", "op")) == [("book", book_id, "save")]
    assert found("诉源治理") == []

    pause = worker.apply_outbox()

    assert found("诉源治理") == [("book", book_id)]
    assert waiting_here() == 0
    assert 0 < pause <= 0.05


def test_a_borrow_request_never_opens_the_index_writer(
    empty_index, judge_api, django_capture_on_commit_callbacks, monkeypatch
):
    book = book_create(title="民法典评注", clc="D923")
    copy_create(book=book, barcode="C1")
    worker.apply_outbox()

    def no_writer(*args, **kwargs):
        raise AssertionError("a request opened the index writer")

    monkeypatch.setattr(FileIndex, "writer", no_writer)
    with django_capture_on_commit_callbacks(execute=True):
        response = judge_api.post("/api/v1/loans", {"barcode": copy_barcode(book)})

    assert response.status_code == 201, response.content
    assert waiting_records() == {("book", book.pk)}  # in the log, for the worker


def test_the_drain_after_commit_comes_back_with_search_drain_in_request(
    empty_index, librarian_api, settings, django_capture_on_commit_callbacks
):
    settings.SEARCH_DRAIN_IN_REQUEST = True
    with django_capture_on_commit_callbacks(execute=True):
        book_id = librarian_api.post("/api/v1/books", {"title": "家事审判改革"}).json()["id"]

    assert found("家事审判") == [("book", book_id)]
    assert waiting_here() == 0


def test_the_loops_drain_folds_tiny_segments_into_its_own(empty_index, monkeypatch):
    """Each drain used to leave one more segment until the idle merge, and every segment slows the next drain
    and every reader's reopen (commit to searchable came out at twice the in-request figure)."""
    for i in range(5):
        book_create(title=f"执行和解第{i}卷")
        indexer.drain(merge=False)
    monkeypatch.setattr(indexer, "TINY_SEGMENT_DOCS", 3)
    for i in range(3):
        book_create(title=f"执行和解汇编第{i}卷")
    indexer.drain(merge=False)  # a segment of 3 documents: not tiny
    assert segment_count() == 6

    book_create(title="执行和解补编")
    worker.apply_outbox()

    assert segment_count() == 2  # the 3-document segment, and the 5 tiny ones folded into the drain's own
    assert len(services.search("执行和解", filters=Filters(), limit=20).items) == 9


def test_the_loop_merges_small_segments_once_they_pile_up_and_the_outbox_is_idle(empty_index, settings, merge_now,
                                                                                 monkeypatch):
    monkeypatch.setattr(indexer, "TINY_SEGMENT_DOCS", 1)  # segments past what a drain folds in
    settings.SEARCH_MERGE_SEGMENTS = 3
    for i in range(5):
        book_create(title=f"执行和解第{i}卷")
        indexer.drain(merge=False)
    assert segment_count() == 5

    book_create(title="执行和解补编")
    worker.apply_outbox()  # the outbox was not idle: it drains, and 6 small segments are not over the forced 2 × 3
    assert segment_count() == 6

    pause = worker.apply_outbox()  # idle now: merge

    assert (pause, segment_count()) == (0.0, 1)
    assert len(services.search("执行和解", filters=Filters(), limit=20).items) == 6
    assert worker.apply_outbox() == settings.SEARCH_OUTBOX_POLL  # nothing more to do


def test_the_loop_merges_between_drains_when_the_outbox_is_never_idle(empty_index, settings, merge_now):
    settings.SEARCH_MERGE_SEGMENTS = 1
    for i in range(5):
        book_create(title=f"破产重整第{i}卷")
        indexer.drain(merge=False)
    book_create(title="破产重整补编")

    worker.apply_outbox()  # 6 small segments, over 2 × SEARCH_MERGE_SEGMENTS: merged although rows were queued

    assert segment_count() == 1
    assert waiting_here() == 0


def test_a_merge_leaves_large_segments_alone(db, settings, merge_now, monkeypatch):
    monkeypatch.setattr(indexer, "SMALL_SEGMENT_FLOOR", 3)
    settings.SEARCH_MERGE_SEGMENTS = 1
    for i in range(40):
        book_create(title=f"刑事诉讼第{i}卷")
    services.index_rebuild()  # one segment of 40 documents
    for i in range(2):
        book_create(title=f"刑事诉讼补编{i}")
        indexer.drain(merge=False)

    result = indexer.merge_segments(max_small=1)

    ix = generations.open_index()
    assert sorted(docs for docs, _ in whoosh_codec.segment_sizes(ix)) == [2, 40]
    ix.close()
    assert (result.segments_before, result.segments_after, result.merged) == (3, 2, 2)


def test_a_merge_leaves_the_work_queued_while_another_process_holds_the_writer(empty_index, settings, merge_now):
    settings.SEARCH_MERGE_SEGMENTS = 1
    for i in range(3):
        book_create(title=f"调解第{i}卷")
        indexer.drain(merge=False)
    ix = generations.open_index()
    lock = ix.lock("WRITELOCK")
    assert lock.acquire(blocking=False)
    try:
        assert indexer.merge_segments(max_small=1).busy is True
    finally:
        lock.release()
        ix.close()
    assert segment_count() == 3


def test_segment_sizes_read_from_the_table_of_contents_match_whoosh_readers(empty_index):
    """Fails loudly when a Whoosh upgrade changes the private FileIndex._segments() (whoosh_private.toc_segments)."""
    for i in range(3):
        book = book_create(title=f"海事审判第{i}卷")
        indexer.drain(merge=False)
    book.delete()
    indexer.drain(merge=False)
    ix = generations.open_index()
    with ix.reader() as reader:
        leaves = [(leaf.doc_count_all(), leaf.doc_count_all() - leaf.doc_count()) for leaf, _ in reader.leaf_readers()]
    assert whoosh_codec.segment_sizes(ix) == leaves
    ix.close()


def test_the_loop_rebuilds_a_new_nodes_index_that_the_log_cannot_fill(db):
    book = book_create(title="司法确认程序")
    Book.objects.bulk_create([Book(title="未入日志的书")])  # not fillable from the log: no empty index is made
    assert indexer.drain().missing is True

    assert worker.apply_outbox() == 0.0  # rebuilt from the database in the loop, and applied from its position

    assert sorted(found("司法确认") + found("未入日志")) == sorted([("book", book.pk),
                                                         ("book", Book.objects.get(title="未入日志的书").pk)])
    assert waiting_here() == 0


def test_a_failed_rebuild_is_tried_again_after_a_pause_that_doubles_up_to_five_minutes(db, monkeypatch, caplog):
    """A rebuild that failed (a full disk, a database error) was tried again every 5 s — and at once whenever a
    commit woke the loop — each attempt reading the whole catalogue again (review of issue 21)."""
    Book.objects.bulk_create([Book(title="未入日志的书")])  # no index, and the log cannot fill one
    attempts = []

    def fails(**kwargs):
        attempts.append(1)
        raise OSError("No space left on device")

    real_rebuild = worker.tasks.rebuild
    monkeypatch.setattr(worker.tasks, "rebuild", fails)
    monkeypatch.setattr(worker, "_state", worker.LoopState())
    now = [1000.0]
    monkeypatch.setattr(worker, "_clock", lambda: now[0])

    with caplog.at_level("ERROR", logger="search_index.worker"):
        pauses = [worker.apply_outbox()]
        now[0] += 1
        pauses.append(worker.apply_outbox())  # woken by a commit within the pause: no rebuild
        for _ in range(9):
            now[0] += pauses[-1] if pauses[-1] else 1
            pauses.append(worker.apply_outbox())

    assert pauses[:3] == [worker.MISSING_PAUSE, worker.MISSING_PAUSE - 1, 2 * worker.MISSING_PAUSE]
    assert pauses[-1] == worker.REBUILD_BACKOFF_MAX and len(attempts) == 10
    assert "No space left on device" in caplog.text
    monkeypatch.setattr(worker.tasks, "rebuild", real_rebuild)
    now[0] += worker.REBUILD_BACKOFF_MAX
    assert worker.apply_outbox() == 0.0 and generations.index_exists()  # rebuilt: the pause starts again at 5 s
    assert worker._state.rebuild_failures == 0


def test_the_loop_waits_while_another_process_of_the_node_rebuilds(db):
    Book.objects.bulk_create([Book(title="未入日志的书")])
    with indexer.rebuild_lock(blocking=True):  # another process's rebuild
        assert worker.apply_outbox() == worker.MISSING_PAUSE
    assert not generations.index_exists()


def test_the_rebuild_job_reports_progress_and_swaps_the_new_index_in(empty_index, monkeypatch):
    before = generations.current_generation()
    Book.objects.bulk_create([Book(title=f"未入队的判例汇编{i}") for i in range(5)])  # no signals: only a rebuild finds them
    monkeypatch.setattr(tasks, "PROGRESS_SECONDS", 0)
    reported = []
    record = Progress.__call__

    def spy(self, done, total=None):
        record(self, done, total)
        reported.append(Job.objects.values_list("progress_done", "progress_total").get(pk=self.job.pk))

    monkeypatch.setattr(Progress, "__call__", spy)
    with transaction.atomic():
        job, created = services.index_rebuild_enqueue()
    assert (created, job.progress_total) == (True, 5)
    assert services.index_rebuild_enqueue() == (job, False)

    tasks.rebuild_index.call(job.pk)  # what the worker does with the backend's task

    job.refresh_from_db()
    assert (job.state, job.progress_done, job.progress_total) == ("done", 5, 5)
    assert job.summary["records"] == 5 and job.summary["generation"] == generations.current_generation() != before
    assert reported == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (5, 5)]
    assert len(found("判例汇编")) == 5


def test_a_librarian_starts_a_rebuild_from_the_admin_and_lands_on_its_job(empty_index):
    librarian = make_user("librarian9", Role.LIBRARIAN)
    client = Client()
    client.force_login(librarian)
    url = reverse("admin:search_index_rebuild")

    page = client.get(reverse("admin:search_index_indexchange_changelist"))
    confirm = client.get(url)  # the button asks first (routine walk: it started a rebuild on one click)
    assert not Job.objects.exists()
    first = client.post(url)
    second = client.post(url)

    assert page.status_code == 200 and url in page.content.decode()
    assert confirm.status_code == 200 and "确认重建" in confirm.content.decode()
    job = Job.objects.get()
    assert (job.kind, job.state, job.created_by) == (services.REBUILD_JOB_KIND, "queued", librarian)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    assert client.put(url).status_code == 405


def test_an_organizer_may_not_start_a_rebuild(empty_index):
    client = Client()
    client.force_login(make_user("organizer9", Role.ORGANIZER))

    response = client.post(reverse("admin:search_index_rebuild"))

    assert response.status_code == 403
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_makes_an_api_write_searchable(tmp_path, librarian_api):
    services.index_rebuild()
    worker_process = Worker(tmp_path, {}, "index")
    try:
        response = librarian_api.post("/api/v1/books", {"title": "多元化纠纷解决机制"})
        assert response.status_code == 201, response.content
        book_id = response.json()["id"]

        wait_for(lambda: found("多元化纠纷解决") == [("book", book_id)], timeout=60,
                 what="the worker to apply the outbox", logs=[worker_process.log])
        # The worker deletes the applied rows just after the index commit that made the book searchable.
        wait_for(lambda: not waiting_here(), timeout=60, what="the applied outbox rows to be deleted",
                 logs=[worker_process.log])
    finally:
        worker_process.stop()


def test_merges_take_the_smallest_size_class_that_piled_up():
    sizes = lambda *docs: [(d, 0) for d in docs]  # noqa: E731

    assert indexer.merge_limit(sizes(50_000, 50_000, 1, 1, 1), 3) is None
    assert indexer.merge_limit(sizes(50_000, 50_000, 1, 2, 1, 1), 3) == 10
    assert indexer.merge_limit(sizes(50_000, 50_000, 40, 7, 1, 1), 3) == 100
    assert indexer.merge_limit(sizes(50_000, 50_000, 900, 400, 60, 3), 3) == 1000
    assert indexer.merge_limit(sizes(5, 5, 5, 5), 3) == 10


def test_a_merge_in_the_loop_writes_the_merged_segments_postings_sidecar(empty_index, settings, merge_now,
                                                                          monkeypatch):
    """The searchers memory-map the decoded long lists of a segment a merge made, instead of decoding them
    on their first read (the first run of a 32-word query cost 15× the ordinary p95 without them)."""

    monkeypatch.setattr(postings_cache, "SIDECAR_MIN_POSTINGS", 4)
    settings.SEARCH_MERGE_SEGMENTS = 3
    for i in range(5):
        book_create(title=f"执行和解第{i}卷")
        indexer.drain(merge=False)
    generation = generations.root() / generations.current_generation()
    assert list(generation.glob("*.cols")) == []

    pause = worker.apply_outbox()

    assert (pause, segment_count()) == (0.0, 1)
    ix = generations.open_index()
    try:
        (segment_id,) = [leaf.segment().segment_id() for leaf, _ in ix.reader().leaf_readers()]
    finally:
        ix.close()
    assert [p.name for p in generation.glob("*.cols")] == [f"{segment_id}.cols"]


# --- a stream of writes that never stops (attack round 12) -------------------------------------------------
# A judge saved 20 papers 1,000 times with 20,000-character abstracts: the index went from 13 MB to 590 MB in
# four minutes with 74 segments and no merge while the saves kept coming (a drain went on for as long as rows
# kept arriving), then one merge of them all held the writer four minutes while a librarian's new book waited.


def segment_file_bytes() -> list[int]:
    """Bytes on disk of each segment's files (not its postings sidecar), smallest first."""
    ix = generations.open_index()
    try:
        folder = generations.root() / generations.current_generation()
        return sorted(sum(f.stat().st_size for f in folder.glob(f"{segment.segment_id()}.*") if f.suffix != ".cols")
                      for segment in ix._segments())
    finally:
        ix.close()


def test_a_stream_of_commits_that_never_lets_the_outbox_go_idle_keeps_the_segments_bounded(
    empty_index, settings, merge_now, monkeypatch
):
    settings.SEARCH_MERGE_SEGMENTS = 3
    real_batch, counts, batches = indexer._apply_one_batch, [], 40

    def commits_arrive_while_the_worker_drains(writer, current, result, *, merge):
        real_batch(writer, current, result, merge=merge)
        counts.append(segment_count())
        if len(counts) < batches:  # the next commit is there before the drain looks at the outbox again
            for i in range(indexer.TINY_SEGMENT_DOCS):  # segments too large to be folded into the next drain
                book_create(title=f"审判流程管理第{len(counts)}批第{i}册")

    monkeypatch.setattr(indexer, "_apply_one_batch", commits_arrive_while_the_worker_drains)
    for i in range(indexer.TINY_SEGMENT_DOCS):
        book_create(title=f"审判流程管理第0批第{i}册")
    for _ in range(10 * batches):
        worker.apply_outbox()
        if len(counts) >= batches and not waiting_here():
            break

    assert len(counts) == batches and not waiting_here()
    # A step of merging every DRAIN_ROUNDS commits: each size class keeps at most 2 × SEARCH_MERGE_SEGMENTS
    # segments (the limit under load), plus the commits since the last step.
    assert max(counts) <= 2 * settings.SEARCH_MERGE_SEGMENTS * worker.FORCE_MERGE_FACTOR + 4, counts  # 4: DRAIN_ROUNDS
    assert services.search("审判流程管理", filters=Filters(), limit=1).count == batches * indexer.TINY_SEGMENT_DOCS


def test_one_merge_step_reads_at_most_merge_step_bytes_and_new_records_are_drained_between_steps(
    empty_index, settings, merge_now, monkeypatch
):
    monkeypatch.setattr(indexer, "TINY_SEGMENT_DOCS", 1)  # segments past what a drain folds in
    settings.SEARCH_MERGE_SEGMENTS = 1
    for i in range(9):
        book_create(title=f"合同纠纷第{i}卷")
        indexer.drain(merge=False)
    budget = sum(segment_file_bytes()[:3])  # room for three segments a step
    monkeypatch.setattr(indexer, "MERGE_STEP_BYTES", budget)
    read, real_fold = [], indexer._fold

    def fold(writer, segments, chosen):
        read.append(sum(indexer.segment_bytes(writer.storage, [s for s in segments if s.segment_id() in chosen])
                        .values()))
        return real_fold(writer, segments, chosen)

    monkeypatch.setattr(indexer, "_fold", fold)

    assert worker.apply_outbox() == 0.0  # one step, and another is due
    assert segment_count() == 9 - 3 + 1
    book = book_create(title="新到图书 物权编")  # arrives while steps remain
    worker.apply_outbox()

    assert found("新到图书") == [("book", book.pk)]  # drained before the next step
    assert segment_count() == 7 + 1 - 3 + 1
    for _ in range(20):
        if worker.apply_outbox() != 0.0:
            break
    assert worker.apply_outbox() == settings.SEARCH_OUTBOX_POLL  # settled
    assert 0 < max(read) <= budget and segment_count() < 6
    assert len(services.search("合同纠纷", filters=Filters(), limit=20).items) == 9


def test_a_drain_drops_the_segments_whose_documents_were_all_saved_again_without_reading_them(
    empty_index, monkeypatch
):
    from library.services import paper_create, paper_update

    papers = [paper_create(title=f"诉讼时效制度研究{i}") for i in range(12)]
    indexer.drain(merge=False)
    for draft in range(3):
        for paper in papers:
            paper_update(paper=paper, changes={"abstract": f"第{draft}稿"})
        indexer.drain(merge=False)
    assert segment_count() == 4  # 12 documents each, all but the last segment's deleted

    def no_reading(*args, **kwargs):
        raise AssertionError("a segment of deleted documents was read")

    monkeypatch.setattr(indexer, "SegmentReader", no_reading)
    for paper in papers:
        paper_update(paper=paper, changes={"abstract": "定稿"})
    worker.apply_outbox()

    assert segment_count() == 1
    assert services.search("诉讼时效制度", filters=Filters(include_internal=True), limit=1).count == 12


def test_the_rows_queued_for_one_record_are_applied_in_one_round(empty_index):
    from library.services import paper_create, paper_update

    paper = paper_create(title="诉讼时效制度研究", visibility="public")
    for draft in range(indexer.BATCH_SIZE + 50):
        paper_update(paper=paper, changes={"abstract": f"第{draft}稿 中止中断"})
    assert waiting_here() == indexer.BATCH_SIZE + 51

    result = indexer.drain(merge=False, max_rounds=1)

    assert (result.indexed, waiting_here()) == (1, 0)
    assert found("中止中断") == [("paper", paper.pk)]


def test_a_drain_folds_only_small_tiny_segments(empty_index, monkeypatch):
    """A segment of a few papers with long texts would be read and written again by every later drain."""
    from library.services import paper_create

    book_create(title="执行和解第1卷")
    indexer.drain(merge=False)
    paper_create(title="执行和解长篇调研", abstract="执行和解协议的效力与履行。" * 1500)
    indexer.drain(merge=False)
    small, large = segment_file_bytes()
    monkeypatch.setattr(indexer, "TINY_SEGMENT_BYTES", (small + large) // 2, raising=False)

    book_create(title="执行和解第2卷")
    worker.apply_outbox()

    assert segment_count() == 2  # the long paper's segment, and the two books' folded together


def test_a_segment_of_mostly_deleted_documents_is_rewritten_on_its_own(empty_index, settings, monkeypatch):
    """Verified after the thirteenth attack: a round that re-indexed large records beside one other record
    left a segment of one live and many deleted documents, too large for any size class; such segments
    kept their disk until a rebuild."""
    from library.services import paper_create, paper_update

    settings.SEARCH_MERGE_SEGMENTS = 10  # no size class is due
    papers = [paper_create(title=f"执行异议之诉研究{i}") for i in range(12)]
    indexer.drain(merge=False)
    for paper in papers[1:]:
        paper_update(paper=paper, changes={"abstract": "第二稿"})
    indexer.drain(merge=False)

    def deleted():
        ix = generations.open_index()
        try:
            return sum(s.deleted_count() for s in whoosh_private.toc_segments(ix))
        finally:
            ix.close()

    assert deleted() == 11
    result = indexer.merge_segments(max_small=settings.SEARCH_MERGE_SEGMENTS)

    assert deleted() == 0 and result.segments_after == 2
    assert indexer.merge_segments(max_small=settings.SEARCH_MERGE_SEGMENTS).segments_after == 2  # nothing more to do
    assert services.search("执行异议之诉", filters=Filters(include_internal=True), limit=20).count == 12


def test_a_new_book_far_behind_a_flood_of_saves_is_indexed_in_the_next_commit(empty_index, monkeypatch):
    """The fourteenth attack: librarians re-saved 80 records with 20,000-character random abstracts; one commit of
    90 of them took 60–100 s and every new record waited behind it.  A commit now takes the record queued longest
    and then the cheapest others while they fit in DRAIN_COMMIT_COST, found across the whole queue."""
    from library.services import paper_create, paper_update

    long_text = "执行异议之诉的审查标准与裁判规则。" * 300  # 5,100 characters
    papers = [paper_create(title=f"执行异议之诉研究{i}", abstract=long_text) for i in range(6)]
    for draft in range(20):  # the queue: 126 rows of six long papers
        for paper in papers:
            paper_update(paper=paper, changes={"abstract": f"第{draft}稿 {long_text}"})
    book = book_create(title="新到图书 物权编理解与适用")
    costs = {**documents_costs("paper", [p.pk for p in papers]), ("book", book.pk): 0}
    one_paper = max(cost for key, cost in costs.items() if key[0] == "paper")
    monkeypatch.setattr(indexer, "DRAIN_COMMIT_COST", 2 * one_paper)  # room for two long papers a commit
    monkeypatch.setattr(changelog, "READ_ROWS", 50)  # the book's entry is far behind the first entries read
    commits = []
    real_documents_for = indexer.documents.documents_for

    def documents_for(kind, ids):
        commits.append((kind, sorted(ids)))
        return real_documents_for(kind, ids)

    monkeypatch.setattr(indexer.documents, "documents_for", documents_for)

    result = indexer.drain(merge=False, max_rounds=1)

    assert found("物权编理解") == [("book", book.pk)]
    assert result.indexed == 2 and sorted(commits) == [("book", [book.pk]), ("paper", [papers[0].pk])]
    assert set(this_cursor().pending) == {("paper", p.pk) for p in papers[1:]}  # the other papers wait
    commits.clear()
    indexer.drain(merge=False)
    assert not waiting_here()
    assert all(len(ids) <= 2 for _, ids in commits)  # never more than the budget holds
    assert services.search("第19稿", filters=Filters(include_internal=True), limit=10).count == 6


def documents_costs(kind, ids) -> dict[tuple[str, int], int]:
    from search_index import documents

    return {(kind, pk): cost for pk, cost in documents.index_costs(kind, ids).items()}


def test_index_costs_are_read_in_the_database_and_weigh_short_fields_above_the_full_text(db):
    from library.models import Paper
    from library.services import paper_create
    from search_index import documents

    book = book_create(title="物权法", subjects=["担保", "抵押"], summary="提要" * 50)
    paper = paper_create(title="论文", abstract="摘要" * 100, keywords=["执行"])
    Paper.objects.filter(pk=paper.pk).update(full_text="全文" * 1000)
    weight = documents.SHORT_FIELD_WEIGHT

    # A JSON list is measured as the database writes it: SQLite escapes a Chinese character as six (\\uXXXX).
    costs = documents.index_costs("book", [book.pk, 999_999])
    assert list(costs) == [book.pk]  # a deleted record has no cost: its commit only deletes
    assert weight * (3 + 100 + len('["担保", "抵押"]')) <= costs[book.pk] <= weight * (3 + 100 + 32)
    paper_cost = documents.index_costs("paper", [paper.pk])[paper.pk]
    assert weight * (2 + 200 + len('["执行"]')) + 2000 <= paper_cost <= weight * (2 + 200 + 20) + 2000


def test_a_large_segment_of_many_deleted_documents_is_emptied_through_the_outbox_and_dropped(
    empty_index, settings, merge_now, monkeypatch
):
    """The fourteenth attack left a 117 MB segment of 101 documents, 84 deleted, that no merge would take (too
    large for a step) and the index at 297 MB until a rebuild.  Its live documents are queued, indexed again by
    the drains beside other work, and the emptied segment is dropped unread."""
    from library.services import paper_create, paper_update

    settings.SEARCH_MERGE_SEGMENTS = 10
    long_text = "夫妻共同债务的认定标准与举证责任分配。" * 400
    papers = [paper_create(title=f"夫妻共同债务研究{i}", abstract=long_text) for i in range(9)]
    indexer.drain(merge=False)
    (large,) = segment_file_bytes()
    monkeypatch.setattr(indexer, "MERGE_STEP_BYTES", large)  # over half a step: never merged
    for paper in papers[:3]:  # a third of its documents saved again
        paper_update(paper=paper, changes={"abstract": f"第二稿 {long_text}"})
    indexer.drain(merge=False)
    ix = generations.open_index()
    first = whoosh_private.toc_segments(ix)[0]
    ix.close()
    assert (first.doc_count_all(), first.deleted_count()) == (9, 3)
    merged_ids = []
    real_fold = indexer._fold

    def fold(writer, segments, chosen):
        merged_ids.extend(chosen)
        return real_fold(writer, segments, chosen)

    monkeypatch.setattr(indexer, "_fold", fold)

    for _ in range(10):
        if worker.apply_outbox() != 0.0:
            break

    ix = generations.open_index()
    remaining = {s.segment_id(): (s.doc_count_all(), s.deleted_count()) for s in whoosh_private.toc_segments(ix)}
    ix.close()
    assert first.segment_id() not in remaining and first.segment_id() not in merged_ids
    assert sum(deleted for _, deleted in remaining.values()) == 0 and not waiting_here()
    assert sum(segment_file_bytes()) < large * 1.2  # 12 copies on disk before, 9 now
    assert services.search("夫妻共同债务", filters=Filters(include_internal=True), limit=20).count == 9
    assert services.search("第二稿", filters=Filters(include_internal=True), limit=20).count == 3


def test_an_evacuation_waits_for_an_empty_outbox_and_queues_nothing_twice(empty_index, monkeypatch):
    from library.services import paper_create, paper_update

    papers = [paper_create(title=f"劳动争议研究{i}", abstract="加班费的举证责任。" * 300) for i in range(6)]
    indexer.drain(merge=False)
    monkeypatch.setattr(indexer, "MERGE_STEP_BYTES", segment_file_bytes()[0])
    for paper in papers[:2]:
        paper_update(paper=paper, changes={"title": "劳动争议研究 二稿"})
    indexer.drain(merge=False)
    ix = generations.open_index()
    segments = whoosh_private.toc_segments(ix)
    try:
        book_create(title="排队中的书")
        generation = generations.current_generation()
        assert indexer.evacuate_wasteful(ix, segments, generation=generation) == 0  # what waits first
        indexer.drain(merge=False)
        assert indexer.evacuate_wasteful(ix, segments, generation=generation) == 4  # the large segment's live four
        assert indexer.evacuate_wasteful(ix, segments, generation=generation) == 0  # queued already
    finally:
        ix.close()
    # In this node's own cursor, not in the log: the segment is this node's, the other nodes' are not.
    assert sorted(object_id for _, object_id in this_cursor().local) == sorted(p.pk for p in papers[2:])
    assert not IndexChange.objects.filter(op="reindex").exists()


def test_records_of_about_the_same_cost_are_indexed_in_queue_order_none_starved(empty_index, monkeypatch):
    """The index flood bench: with the exact cost as the order, the papers whose titles were one character
    shorter went first in every commit, the others only as the oldest, and their old segments never emptied."""
    from library.services import paper_create, paper_update

    text = "民间借贷纠纷中的利率保护上限。" * 200
    papers = [paper_create(title=("短" if i % 2 else "长长") + f"题{i}", abstract=text) for i in range(6)]
    indexer.drain(merge=False)
    for paper in papers:
        paper_update(paper=paper, changes={"abstract": f"二稿 {text}"})
    one = max(documents_costs("paper", [p.pk for p in papers]).values())
    monkeypatch.setattr(indexer, "DRAIN_COMMIT_COST", 3 * one)
    commits = []
    real_documents_for = indexer.documents.documents_for
    monkeypatch.setattr(indexer.documents, "documents_for",
                        lambda kind, ids: commits.append(sorted(ids)) or real_documents_for(kind, ids))

    indexer.drain(merge=False)

    assert indexer.cost_class(one) == indexer.cost_class(min(documents_costs("paper", [p.pk for p in papers]).values()))
    assert commits == [sorted(p.pk for p in papers[i:i + 3]) for i in (0, 3)]  # not the three short ones first


def test_cost_classes_are_powers_of_four():
    assert [indexer.cost_class(c) for c in (0, 1, 3, 4, 15, 16, 63, 64, 10**6)] == [0, 0, 0, 1, 1, 2, 2, 3, 9]
