"""Several search nodes on one database, as real worker processes: each ``manage.py run_worker`` keeps its own
index directory (``SEARCH_INDEX_DIR``, ``SEARCH_NODE`` differing) current from the change log.

A change committed here is searchable in both nodes' indexes; a node stopped while changes are made catches up
when it starts again; a new node, with an empty directory and a log pruned since the catalogue was written,
rebuilds from the database and catches up.  Each node's worker has a wake-up directory of its own, so it is
woken by PostgreSQL's NOTIFY (or its poll on SQLite), never by this process's local socket.  The worker
processes are the pieces the two-gunicorn test builds on: every setting of a node comes from its environment.
"""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import override_settings

from library.services import book_create
from search_index import changelog, searcher, services, wake
from search_index.models import IndexChange, IndexNode
from search_index.services import Filters
from tests.conftest import wake_dir_for
from tests.jobs.test_worker_live import Worker, wait_for

#: Longer than any test waits.
NEVER = 600

pytestmark = pytest.mark.usefixtures("log_ids_from_one")


@contextmanager
def reading(index: Path):
    """Search ``index`` (another node's directory on this machine) from this process."""
    searcher.reset()
    try:
        with override_settings(SEARCH_INDEX_DIR=str(index)):
            yield
    finally:
        searcher.reset()


def found_on(settings, index: Path, query: str) -> list[tuple[str, int]]:
    with reading(index):
        try:
            return sorted((h.type, h.id) for h in services.search(query, filters=Filters()).items)
        except services.SearchUnavailable:
            return []


def start_node(tmp_path: Path, name: str) -> Worker:
    return Worker(tmp_path, {"SEARCH_NODE": name, "SEARCH_INDEX_DIR": str(tmp_path / name),
                             "SEARCH_WAKE_DIR": wake_dir_for(tmp_path / name)}, name)


@pytest.mark.django_db(transaction=True)
def test_two_nodes_each_apply_every_change_a_stopped_node_catches_up_and_a_new_node_rebuilds(settings, tmp_path):
    a, b = start_node(tmp_path, "node-a"), start_node(tmp_path, "node-b")
    nodes = [a, b]
    logs = [w.log for w in nodes]
    try:
        first = book_create(title="多元化纠纷解决机制研究")
        for name in ("node-a", "node-b"):  # each new node fills its empty index from the log, then applies
            wait_for(lambda name=name: found_on(settings, tmp_path / name, "多元化纠纷") == [("book", first.pk)],
                     timeout=120, what=f"{name} to index the book", logs=logs)

        b.stop()
        while_away = book_create(title="诉源治理实践研究")
        wait_for(lambda: found_on(settings, tmp_path / "node-a", "诉源治理") == [("book", while_away.pk)],
                 timeout=60, what="node-a to index the second book", logs=logs)
        assert found_on(settings, tmp_path / "node-b", "诉源治理") == []
        b = start_node(tmp_path, "node-b")
        nodes.append(b)
        wait_for(lambda: found_on(settings, tmp_path / "node-b", "诉源治理") == [("book", while_away.pk)],
                 timeout=120, what="node-b to catch up after its restart", logs=[b.log])
        assert "rebuilding it" not in b.log.read_text()  # from the log, not by a rebuild

        # Both nodes applied everything: the workers' pruning (or this one) empties the log behind them.
        wait_for(lambda: all(changelog.lag(node)[0] == 0 for node in IndexNode.objects.all()), timeout=60,
                 what="both nodes to apply the log", logs=logs)
        changelog.prune()
        assert not IndexChange.objects.filter(id__lte=changelog.pruned_through()).exists()
        assert changelog.pruned_through() > 0

        c = start_node(tmp_path, "node-c")  # new, and the log no longer holds the first two books: it rebuilds
        nodes.append(c)
        wait_for(lambda: (found_on(settings, tmp_path / "node-c", "多元化纠纷"),
                          found_on(settings, tmp_path / "node-c", "诉源治理"))
                 == ([("book", first.pk)], [("book", while_away.pk)]),
                 timeout=180, what="node-c to rebuild from the database", logs=[c.log])
        third = book_create(title="多元化纠纷解决机制新论")
        for name in ("node-a", "node-b", "node-c"):
            wait_for(lambda name=name: ("book", third.pk) in found_on(settings, tmp_path / name, "多元化纠纷"),
                     timeout=60, what=f"{name} to index the third book", logs=[w.log for w in nodes])
    finally:
        for worker_process in nodes:
            worker_process.stop(grace=5)
    assert "rebuilding it" in c.log.read_text()
    assert sorted(IndexNode.objects.values_list("name", flat=True)) == ["node-a", "node-b", "node-c"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_on_postgresql_a_commit_wakes_the_index_loops_of_every_node(settings, tmp_path):
    settings.SEARCH_WAKE_DIR = str(tmp_path / ("x" * 120))  # no socket: only the database can wake this loop
    alarm = wake.Alarm()
    try:
        assert alarm.sock is None and alarm.listener is not None
        with transaction.atomic():
            book_create(title="担保物权研究")
            assert alarm.sleep(0.2) is False  # delivered on commit, not before
        assert alarm.sleep(NEVER) is True
        with transaction.atomic():
            book_create(title="民法典评注")
            transaction.set_rollback(True)
        assert alarm.sleep(0.2) is False  # a rollback wakes no one
    finally:
        alarm.close()
