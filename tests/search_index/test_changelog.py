"""The index change log: each node applies the entries after its own position, waits for the gaps a later
commit may fill, prunes behind the slowest live node, and rebuilds when it is new or too far behind.

Two "nodes" in one process are two index directories: the node's name follows ``SEARCH_INDEX_DIR``
(``changelog.node_name``), as it does on two machines.  These tests run on SQLite and on PostgreSQL; the
one with a real concurrent transaction runs on PostgreSQL only (on SQLite writers are serialised: a second
writer waits for the first one's COMMIT, so an id is never seen before a lower one).
"""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from library.models import Book
from library.services import book_create, book_update
from search_index import changelog, generations, indexer, searcher, services, worker
from search_index.models import IndexChange, IndexLogState, IndexNode
from search_index.services import Filters

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("log_ids_from_one")]


@contextmanager
def on_node(settings, path: Path):
    """Run as the node whose index is ``path`` (its own name: changelog.node_name)."""
    searcher.reset()
    try:
        with override_settings(SEARCH_INDEX_DIR=str(path)):
            yield changelog.node_name()
    finally:
        searcher.reset()


def found(query: str) -> list[tuple[str, int]]:
    searcher.reset()
    return sorted((h.type, h.id) for h in services.search(query, filters=Filters()).items)


def row(name: str) -> tuple[str, int, int]:
    node = IndexNode.objects.get(name=name)
    return node.generation, node.position, node.applied_to


def last_id() -> int:
    return IndexChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def this_cursor() -> changelog.Cursor:
    return changelog.cursor(generations.current_generation())


# --- position ------------------------------------------------------------------------------------------


def a_rolled_back_id_between_two(monkeypatch, titles=("民法典物权编", "民法典合同编", "民法典侵权责任编")):
    """Three books written and the middle one's log entry deleted, as if its transaction had rolled back after
    taking the id, on a database whose writers are not serialised (PostgreSQL): a gap in the log.  The middle book."""
    _first, middle, _last = [book_create(title=title) for title in titles]
    IndexChange.objects.filter(object_id=middle.pk).delete()
    monkeypatch.setattr(changelog, "_serialised_writes", lambda: False)
    return middle


def test_each_node_applies_the_log_after_its_own_position_and_nothing_is_consumed(settings, tmp_path):
    services.index_rebuild()  # node a
    book = book_create(title="多元化纠纷解决机制")
    with on_node(settings, tmp_path / "b") as b:
        services.index_rebuild()  # node b starts at the log's end: the book is in its build
        assert found("多元化纠纷") == [("book", book.pk)]
    second = book_create(title="诉源治理研究")
    entries = IndexChange.objects.count()

    a = changelog.node_name()
    assert found("诉源治理") == []
    indexer.drain()
    assert found("诉源治理") == [("book", second.pk)]
    assert (IndexChange.objects.count(), row(a)[1:]) == (entries, (last_id(), last_id()))
    with on_node(settings, tmp_path / "b"):
        assert found("诉源治理") == []  # node a's drain applied nothing of b's
        indexer.drain()
        assert found("诉源治理") == [("book", second.pk)]
        assert row(b)[1:] == (last_id(), last_id())


def test_applying_the_same_entries_again_is_harmless(settings):
    services.index_rebuild()
    book = book_create(title="执行异议之诉研究")
    book_update(book=book, changes={"title": "执行异议之诉实务"})
    indexer.drain()
    IndexNode.objects.filter(name=changelog.node_name()).update(position=0, applied_to=0)  # a crash before it was saved
    changelog.forget()

    result = indexer.drain()

    assert result.indexed == 1
    assert found("执行异议之诉") == [("book", book.pk)]
    assert services.index_check().ok


def test_a_new_node_with_an_empty_directory_fills_itself_from_the_log_when_the_log_holds_every_record(settings, tmp_path):
    book = book_create(title="担保物权研究")
    services.index_rebuild()
    with on_node(settings, tmp_path / "new") as new:
        assert not generations.index_exists()

        worker.apply_outbox()

        # Nothing was ever pruned, so every record has an entry: an empty index read from the log's start.
        assert generations.log_position(generations.current_generation()) == 0
        assert found("担保物权") == [("book", book.pk)]
        assert row(new)[1] == last_id()


# --- gaps ---------------------------------------------------------------------------------------------------


def test_an_id_missing_below_one_read_holds_the_position_but_not_the_entries_above_it(settings, monkeypatch):
    """A transaction that took an id may commit after a higher one was read (PostgreSQL).  Here the
    database's answers are those of such a moment: an id below the last one read is missing, and the snapshot
    says a transaction that may hold it is still running."""
    services.index_rebuild()
    node = changelog.node_name()
    first = book_create(title="民法典物权编")
    late = book_create(title="民法典合同编")
    second = book_create(title="民法典侵权责任编")
    late_entry = IndexChange.objects.get(object_id=late.pk)
    kept = {"id": late_entry.id, "kind": "book", "object_id": late.pk, "created_at": late_entry.created_at}
    late_entry.delete()  # not committed yet, as far as any reader knows
    running = {"xmin": 10, "xmax": 20}
    monkeypatch.setattr(changelog, "_serialised_writes", lambda: False)
    monkeypatch.setattr(changelog, "_snapshot", lambda: (running["xmin"], running["xmax"]))
    monkeypatch.setattr(changelog, "SETTLE_SECONDS", 0)

    indexer.drain()

    assert found("民法典") == sorted([("book", first.pk), ("book", second.pk)])
    assert row(node)[1:] == (kept["id"] - 1, last_id())  # the position waits below the gap
    assert [(gap.lo, gap.hi) for gap in this_cursor().gaps] == [(kept["id"], kept["id"])]

    indexer.drain()  # the transaction is still running (xmin 10 is below the snapshot's xmax 20): it waits
    assert row(node)[1] == kept["id"] - 1

    IndexChange.objects.create(**kept)  # it commits
    indexer.drain()

    assert found("民法典") == sorted([("book", first.pk), ("book", late.pk), ("book", second.pk)])
    assert row(node)[1:] == (last_id(), last_id()) and this_cursor().gaps == []


def test_a_gap_is_settled_once_every_transaction_running_when_it_was_seen_has_ended(settings, monkeypatch):
    services.index_rebuild()
    node = changelog.node_name()
    a_rolled_back_id_between_two(monkeypatch)
    snapshots = iter([(10, 20), (20, 21)])  # the first look takes the gap's horizon (20); then xmin is past it
    monkeypatch.setattr(changelog, "_snapshot", lambda: next(snapshots))
    monkeypatch.setattr(changelog, "SETTLE_SECONDS", 0)

    indexer.drain()  # reads the gap; its next round looks again: horizon 20 taken, xmin 10 (they still run)
    assert row(node)[1] < last_id() and [gap.horizon for gap in this_cursor().gaps] == [20]
    indexer.drain()  # xmin 20: every one of them has ended, and the id is still missing

    assert row(node)[1] == last_id() and this_cursor().gaps == []


def test_a_gap_older_than_the_longest_transaction_allowed_is_given_up(settings, monkeypatch, caplog):
    services.index_rebuild()
    node = changelog.node_name()
    a_rolled_back_id_between_two(monkeypatch)
    monkeypatch.setattr(changelog, "_snapshot", lambda: (10, 20))  # a transaction that never ends
    indexer.drain()
    assert row(node)[1] < last_id()

    this_cursor().gaps[0].noticed -= settings.SEARCH_LOG_GAP_SECONDS + 1
    indexer.drain()

    assert row(node)[1] == last_id()
    assert "not committed after 300 s" in caplog.text


def test_on_sqlite_a_gap_is_settled_at_the_next_look(settings):
    """Writers are serialised on SQLite: when an id is visible every lower one is committed or never will be."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single writer")
    services.index_rebuild()
    node = changelog.node_name()
    book_create(title="民法典物权编")
    gone = book_create(title="民法典合同编")
    book_create(title="民法典侵权责任编")
    IndexChange.objects.filter(object_id=gone.pk).delete()

    indexer.drain()

    assert row(node)[1] == last_id() and this_cursor().gaps == []


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_after_a_later_one_is_applied_when_it_commits(settings, monkeypatch):
    """Two real connections on PostgreSQL: the first takes its log id, the second takes a higher one and commits,
    the node applies the second and keeps its position below the first until it commits."""
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the second writer waits for the first one's COMMIT: ids are seen in order")
    monkeypatch.setattr(changelog, "SETTLE_SECONDS", 0)
    services.index_rebuild()
    node = changelog.node_name()
    written, go, outcome = threading.Event(), threading.Event(), {}

    def slow_writer(commit: bool):
        try:
            with transaction.atomic():
                outcome["book"] = book_create(title="民法典合同编通则").pk
                written.set()
                go.wait(60)
                if not commit:
                    transaction.set_rollback(True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc
            written.set()
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer, args=(True,))
    thread.start()
    try:
        assert written.wait(60) and "error" not in outcome
        quick = book_create(title="民法典物权编通则")  # a higher id, committed first
        indexer.drain()
        assert found("通则") == [("book", quick.pk)]
        gap = this_cursor().gaps
        assert len(gap) == 1 and row(node)[1] == gap[0].lo - 1 < last_id()
        for _ in range(3):  # it keeps waiting while that transaction runs
            indexer.drain()
        assert row(node)[1] == gap[0].lo - 1
    finally:
        go.set()
        thread.join(60)
    indexer.drain()

    assert found("通则") == sorted([("book", quick.pk), ("book", outcome["book"])])
    assert row(node)[1:] == (last_id(), last_id())

    # A rollback leaves a gap that no commit fills: settled once the transactions running when it was seen
    # (on the whole server: other databases' too) have ended.
    written.clear()
    go.clear()
    thread = threading.Thread(target=slow_writer, args=(False,))
    thread.start()
    try:
        assert written.wait(60)
        third = book_create(title="民法典婚姻家庭编通则")
        indexer.drain()
    finally:
        go.set()
        thread.join(60)
    # Generous: the snapshot's xmin is the whole server's, and the suite's other processes run transactions of
    # their own (a long test holds one for a minute) on other databases of the same server.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        indexer.drain()
        if row(node)[1] == last_id():
            break
        threading.Event().wait(0.1)
    assert row(node)[1] == last_id() and this_cursor().gaps == []
    assert ("book", third.pk) in found("通则") and Book.objects.filter(title="民法典合同编通则").count() == 1


# --- pruning ------------------------------------------------------------------------------------------------


def make_node(name: str, position: int, *, seen_ago: float = 0) -> None:
    IndexNode.objects.create(name=name, generation="gen-x", position=position, applied_to=position,
                             seen_at=timezone.now() - timedelta(seconds=seen_ago))


def test_pruning_deletes_what_every_live_node_applied_and_a_dead_node_holds_nothing(settings):
    ids = [IndexChange.objects.create(kind="book", object_id=i).id for i in range(1, 11)]
    make_node("fast", ids[7])
    make_node("slow", ids[3])
    make_node("dead", ids[0], seen_ago=settings.SEARCH_NODE_LIVE_SECONDS + 60)

    assert changelog.prune() == 4

    assert list(IndexChange.objects.values_list("id", flat=True)) == ids[4:]
    assert changelog.pruned_through() == ids[3]
    assert changelog.prune() == 0  # nothing more until the slowest moves
    IndexNode.objects.filter(name="slow").update(position=ids[9], applied_to=ids[9])
    assert changelog.prune() == 4 and changelog.pruned_through() == ids[7]


def test_entries_older_than_the_keep_bound_are_pruned_whatever_the_nodes(settings):
    ids = [IndexChange.objects.create(kind="book", object_id=i).id for i in range(1, 6)]
    IndexChange.objects.filter(id__in=ids[:3]).update(
        created_at=timezone.now() - timedelta(seconds=settings.SEARCH_LOG_KEEP_SECONDS + 60))
    make_node("stuck", 0)  # live, and has applied nothing
    make_node("forgotten", 0, seen_ago=settings.SEARCH_LOG_KEEP_SECONDS + 60)

    assert changelog.prune() == 3

    assert list(IndexChange.objects.values_list("id", flat=True)) == ids[3:]
    assert changelog.pruned_through() == ids[2]
    assert list(IndexNode.objects.values_list("name", flat=True)) == ["stuck"]  # silent past the bound: forgotten


def test_a_node_with_no_live_peer_prunes_nothing_by_position():
    IndexChange.objects.create(kind="book", object_id=1)
    make_node("dead", 10**6, seen_ago=10**5)

    assert changelog.prune() == 0 and IndexChange.objects.count() == 1


def test_a_drain_prunes_the_log_when_its_process_has_not_for_a_while(monkeypatch):
    services.index_rebuild()
    book_create(title="证据法学")
    monkeypatch.setattr(changelog, "PRUNE_SECONDS", 60)
    monkeypatch.setattr(changelog, "_last_prune", [0.0])

    indexer.drain()  # applies, then prunes what this node (the only live one) applied
    book_create(title="证据法学新编")
    indexer.drain()  # within the minute: no prune

    assert IndexChange.objects.count() == 1 and changelog.pruned_through() == last_id() - 1


def test_pruning_runs_in_batches_and_records_each(settings, monkeypatch):
    monkeypatch.setattr(changelog, "PRUNE_BATCH", 3)
    ids = [IndexChange.objects.create(kind="book", object_id=i).id for i in range(1, 9)]
    make_node("only", ids[6])

    assert changelog.prune() == 7

    assert list(IndexChange.objects.values_list("id", flat=True)) == ids[7:]
    assert IndexLogState.objects.get().pruned_through == ids[6]


# --- rebuild ------------------------------------------------------------------------------------------------


def test_a_node_behind_the_pruned_log_rebuilds_and_goes_on_from_the_position_it_took_first(settings, tmp_path):
    services.index_rebuild()
    a = changelog.node_name()
    with on_node(settings, tmp_path / "b") as b:
        services.index_rebuild()
    old = book_create(title="刑事诉讼法学")
    indexer.drain()  # node a applies; node b is stopped
    IndexNode.objects.filter(name=b).update(seen_at=timezone.now() - timedelta(
        seconds=settings.SEARCH_NODE_LIVE_SECONDS + 1))
    assert changelog.prune() >= 1  # behind node a: node b (not live) held nothing
    assert changelog.pruned_through() == row(a)[1]

    with on_node(settings, tmp_path / "b"):
        changelog.forget()  # node b starts again (a new process)
        generation = generations.current_generation()
        assert indexer.drain().behind is True
        assert found("刑事诉讼") == []  # still the old index meanwhile

        worker.apply_outbox()  # the node's loop rebuilds from the database

        assert generations.current_generation() != generation
        assert found("刑事诉讼") == [("book", old.pk)]
        assert row(b)[1] == changelog.pruned_through() == generations.log_position(generations.current_generation())
        new = book_create(title="刑事诉讼法学新论")
        indexer.drain()
        assert found("刑事诉讼") == sorted([("book", old.pk), ("book", new.pk)])


def test_a_running_node_taken_for_dead_finds_at_its_heartbeat_that_the_log_was_pruned_past_it(settings, monkeypatch):
    services.index_rebuild()
    node = changelog.node_name()
    indexer.drain()
    book_create(title="刑事诉讼法学")
    IndexNode.objects.filter(name=node).update(seen_at=timezone.now() - timedelta(days=1))  # stuck for a day
    make_node("other", last_id())
    assert changelog.prune() == 1
    monkeypatch.setattr(changelog, "HEARTBEAT_SECONDS", 0)

    assert indexer.drain().behind is True
    worker.apply_outbox()
    assert found("刑事诉讼") == [("book", Book.objects.get().pk)]


def test_a_new_node_rebuilds_when_the_log_no_longer_holds_every_record(settings, tmp_path):
    services.index_rebuild()
    book = book_create(title="行政诉讼法学")
    indexer.drain()
    assert changelog.prune() >= 1  # the only live node applied it: gone from the log

    with on_node(settings, tmp_path / "new") as new:
        assert indexer.drain().missing is True  # an empty index would not hold the book
        worker.apply_outbox()
        assert found("行政诉讼") == [("book", book.pk)]
        assert row(new)[1] == changelog.pruned_through()


def test_a_rebuild_holds_the_log_from_its_start_while_it_builds(settings, monkeypatch):
    services.index_rebuild()
    node = changelog.node_name()
    book_create(title="证据法学")
    indexer.drain()
    held = {}
    real_all_documents = indexer.documents.all_documents

    def meanwhile():
        # During the build: a change is committed and the log is pruned by the nodes' loops.
        held["book"] = book_create(title="证据法学新编").pk
        changelog.prune()
        held["row"] = row(node)
        yield from real_all_documents()

    monkeypatch.setattr(indexer.documents, "all_documents", meanwhile)
    start = changelog.start_point().position  # the last entry (no gaps here)

    services.index_rebuild()

    assert held["row"][1] == start and changelog.pruned_through() <= start  # the change after it was kept
    assert found("证据法学") == sorted([("book", book.pk) for book in Book.objects.all()])
    assert row(node)[1:] == (last_id(), last_id())


def test_an_index_from_before_the_change_log_is_read_from_the_start_until_the_log_is_pruned(settings):
    """An upgrade: the index was built from the outbox's days (no LOG_POSITION in its generation) and the
    outbox's rows were copied into the log by the migration."""
    book = book_create(title="国家赔偿法")
    services.index_rebuild()
    IndexNode.objects.all().delete()
    (generations.root() / generations.current_generation() / generations.LOG_POSITION_FILE).unlink()
    changelog.forget()
    Book.objects.filter(pk=book.pk).update(title="国家赔偿法新论")
    IndexChange.objects.create(kind="book", object_id=book.pk)  # the copied outbox row

    indexer.drain()

    assert found("国家赔偿法新论") == [("book", book.pk)]
    IndexNode.objects.all().delete()
    changelog.forget()
    IndexLogState.objects.update_or_create(pk=1, defaults={"pruned_through": 1})
    assert indexer.drain().behind is True


def test_a_node_that_waits_in_the_admin_shows_its_lag(librarian):
    from django.test import Client
    from django.urls import reverse

    services.index_rebuild()
    book_create(title="诉讼时效制度")
    client = Client()
    client.force_login(librarian)

    waiting = client.get(reverse("admin:search_index_indexchange_changelist") + "?waiting=here")
    nodes = client.get(reverse("admin:search_index_indexnode_changelist"))

    assert waiting.status_code == nodes.status_code == 200
    assert "等待 1 条" in waiting.content.decode() and "诉讼时效" not in waiting.content.decode()
    assert changelog.node_name() in nodes.content.decode()
    assert waiting.context["cl"].result_count == 1


def test_the_nodes_page_counts_each_nodes_lag_once(librarian, monkeypatch):
    """The waiting and lag columns each counted the node's waiting entries (two queries per column per row)."""
    from django.urls import reverse

    make_node("a", 0)
    make_node("b", 0)
    counted = []
    real_lag = changelog.lag
    monkeypatch.setattr(changelog, "lag", lambda node, **kw: counted.append(node.name) or real_lag(node, **kw))
    client = Client()
    client.force_login(librarian)

    assert client.get(reverse("admin:search_index_indexnode_changelist")).status_code == 200
    assert sorted(counted) == ["a", "b"]


def test_the_nodes_page_tells_live_from_dead_by_the_databases_clock(librarian, settings, monkeypatch):
    """The 在线 column compared each heartbeat with the viewing node's clock: seen from a node an hour ahead,
    every node looked dead."""
    from django.urls import reverse

    make_node("a", 0)
    make_node("dead", 0, seen_ago=settings.SEARCH_NODE_LIVE_SECONDS + 60)
    client = Client()
    client.force_login(librarian)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1))

    response = client.get(reverse("admin:search_index_indexnode_changelist"))

    assert sorted((node.name, node.is_live) for node in response.context["cl"].result_list) == [
        ("a", True), ("dead", False)]
    assert response.content.decode().count('alt="True"') == 1


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_copies_the_outbox_rows_waiting_into_the_log_in_their_order():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("search_index", "0004_load_law_names")], [("search_index", "0005_change_log")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    outbox = executor.loader.project_state(before).apps.get_model("search_index", "IndexTask")
    for kind, object_id in [("book", 7), ("paper", 3), ("book", 7)]:
        outbox.objects.create(kind=kind, object_id=object_id)
    made = timezone.now() - timedelta(hours=2)
    outbox.objects.update(created_at=made)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    assert list(IndexChange.objects.order_by("id").values_list("kind", "object_id", "op", "created_at")) == [
        ("book", 7, "save", made), ("paper", 3, "save", made), ("book", 7, "save", made)]


# --- a name shared by two nodes ---------------------------------------------------------------------------


def test_two_nodes_sharing_a_name_are_reported_not_shown_as_caught_up(settings, tmp_path, caplog):
    """SEARCH_NODE copied to two nodes (attack round 21): both write one row, each over the other's position.  The
    node whose worker had stopped showed the other's position in /readyz ("waiting": 0) while its own index
    missed every change since; now the row of another index directory is named as a conflict, never as this
    node's lag, and each node's worker logs the error."""
    settings.SEARCH_NODE = "node-shared"
    services.index_rebuild()  # the first node, here
    with on_node(settings, tmp_path / "twin"):
        services.index_rebuild()  # the twin: the row now names its generation
        twin_generation = row("node-shared")[0]
        book_create(title="诉源治理研究")
        indexer.drain()  # the twin is up to date; this node's worker is stopped
        assert changelog.node_state()["waiting"] == 0
    assert found("诉源治理") == []  # this node's index misses the book

    state = changelog.node_state()
    assert state["position"] is None and state["waiting"] is None
    assert twin_generation in state["problem"] and "SEARCH_NODE" in state["problem"]
    assert "problem" in Client().get("/readyz").json()["search_node"]

    with caplog.at_level("ERROR", logger="search_index.changelog"):
        indexer.drain()  # this node's worker starts again: it catches up, writes the row and says why
    assert found("诉源治理") != []
    assert any("SEARCH_NODE" in r.getMessage() and twin_generation in r.getMessage() for r in caplog.records)
    assert "problem" not in changelog.node_state()  # the row is this node's again (until the twin writes it)


def test_a_node_the_log_was_pruned_past_is_shown_as_needing_a_rebuild_not_as_caught_up(settings):
    """A node away longer than the live window (its worker stopped) while the others pruned: the entries it never
    applied are gone, so counting what is left after its position showed "waiting": 0 in /readyz and the admin
    for an index that missed them all (attack round 21)."""
    services.index_rebuild()
    node = changelog.node_name()
    indexer.drain()
    book_create(title="刑事诉讼法学")
    IndexNode.objects.filter(name=node).update(seen_at=timezone.now() - timedelta(days=1))  # its worker stopped
    make_node("other", last_id())
    assert changelog.prune() == 1 and IndexChange.objects.count() == 0

    state = changelog.node_state()
    assert state["waiting"] is None and state["position"] < changelog.pruned_through()
    assert str(changelog.pruned_through()) in state["problem"]
    assert Client().get("/readyz").json()["search_node"]["waiting"] is None


# --- review of issue 21 -------------------------------------------------------------------------------------


def test_an_interrupted_rebuild_of_a_node_whose_row_was_forgotten_does_not_vouch_for_the_old_index(settings,
                                                                                                   monkeypatch):
    """A node away longer than SEARCH_LOG_KEEP_SECONDS: the others forget its row and prune the log by age.  Its
    rebuild's hold() used to write the old generation's name at the log's end — vouching for an index that misses
    what came between — so /readyz said ready during the build, and a restart after an interrupted build trusted
    the row and lost those changes for good."""
    services.index_rebuild()
    node = changelog.node_name()
    indexer.drain()
    book = book_create(title="刑事诉讼法学")  # after the index was made: only the log holds it
    away = timezone.now() - timedelta(seconds=settings.SEARCH_LOG_KEEP_SECONDS + 60)
    IndexNode.objects.filter(name=node).update(seen_at=away)
    IndexChange.objects.update(created_at=away)
    make_node("other", last_id())
    assert changelog.prune() >= 1 and not IndexNode.objects.filter(name=node).exists()
    changelog.forget()  # the node starts again
    assert indexer.drain().behind is True

    def interrupted():
        raise RuntimeError("the rebuild was stopped")
        yield  # pragma: no cover

    monkeypatch.setattr(indexer.documents, "all_documents", interrupted)
    with pytest.raises(RuntimeError):
        indexer.rebuild()
    monkeypatch.undo()

    assert row(node)[0] == ""  # the log is kept from the rebuild's start, for no index
    assert changelog.node_state()["behind"] is True
    assert Client().get("/readyz").status_code == 503
    changelog.forget()  # restarted after the interruption: still behind, not caught up from the held position
    assert indexer.drain().behind is True
    assert found("刑事诉讼") == []

    worker.apply_outbox()  # the node's loop rebuilds

    assert found("刑事诉讼") == [("book", book.pk)]
    assert "behind" not in changelog.node_state() and row(node)[0] == generations.current_generation()


def test_a_gap_another_process_of_the_node_settled_and_pruned_past_restarts_the_cursor_from_the_row(monkeypatch):
    """Two processes of one node both see a gap (a rolled-back id).  One settles it, saves and prunes past it; the
    other, settling it later, took the pruned gap for entries it never read and rebuilt the whole index."""
    services.index_rebuild()
    node = changelog.node_name()
    a_rolled_back_id_between_two(monkeypatch)
    snapshot = {"now": (10, 20)}
    monkeypatch.setattr(changelog, "_snapshot", lambda: snapshot["now"])
    monkeypatch.setattr(changelog, "SETTLE_SECONDS", 0)
    generation = generations.current_generation()
    start = changelog.cursor(generation).position
    other = changelog.Cursor(node=node, generation=generation, position=start, read_to=start)  # process B
    other.read()
    other.read()  # B takes the gap's horizon (20): transactions below it still run
    assert [gap.horizon for gap in other.gaps] == [20]

    indexer.drain()  # process A: the same gap, its horizon taken
    snapshot["now"] = (20, 21)  # every transaction running then has ended
    indexer.drain()  # A settles it and saves the log's end
    end = last_id()
    assert row(node)[1] == end
    changelog.prune()
    assert changelog.pruned_through() == end

    other.read()  # B settles it too: the row says A applied past it, so B goes on from there

    assert (other.position, other.gaps) == (end, [])
    late = book_create(title="民法典婚姻家庭编")
    fresh = changelog.Cursor(node=node, generation=generation, position=start, read_to=start)  # a third, idle since
    fresh.read()  # entries after its read_to were pruned, but the row is past them
    assert fresh.position == last_id() - 1 and list(fresh.pending) == [("book", late.pk)]


def test_heartbeats_and_the_ages_of_entries_are_read_on_the_databases_clock_not_the_nodes(settings, monkeypatch):
    """Each node wrote its heartbeat from its own clock, and judged the entries' ages (written by the database's
    clock) with it: a node whose clock is an hour behind looked dead to the others' pruning, and one an hour ahead
    took a missing id among the last entries for settled when its rebuild started."""
    services.index_rebuild()
    node = changelog.node_name()
    real_now = timezone.now
    book_create(title="民法典物权编")
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: real_now() - timedelta(seconds=settings.SEARCH_NODE_LIVE_SECONDS + 60))
        indexer.drain()  # a node whose clock is behind writes its row
    assert changelog.is_live(IndexNode.objects.get(name=node))
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1))  # asked by a node whose clock is ahead
        assert changelog.is_live(IndexNode.objects.get(name=node))

    a_rolled_back_id_between_two(monkeypatch, ("民法典合同编", "民法典侵权责任编", "民法典婚姻家庭编"))
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1))  # a node whose clock is ahead
        start = changelog.start_point()
    assert [(gap.lo, gap.hi) for gap in start.gaps if gap.lo > row(node)[1]] == [(last_id() - 1, last_id() - 1)]


def test_whether_every_record_is_in_the_log_is_asked_with_not_exists():
    """NOT IN (subquery) over the whole log: an anti-join only while PostgreSQL can hash the log in work_mem, a
    subplan run per record past that.  Asked as NOT EXISTS, on the log's (kind, object_id) index."""
    from django.test.utils import CaptureQueriesContext

    from search_index import documents

    book = book_create(title="担保法")
    Book.objects.bulk_create([Book(title="未入日志的书")])
    with CaptureQueriesContext(connection) as queries:
        assert documents.unlogged_records_exist() is True
    IndexChange.objects.create(kind="book", object_id=Book.objects.get(title="未入日志的书").pk)
    assert documents.unlogged_records_exist() is False and book.pk

    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "NOT IN" not in sql and "NOT EXISTS" in sql
