"""Index loops woken on commit (search_index.wake): a change is applied when its transaction commits, not
at the worker's next poll.  Polling stays the guarantee, so every failure of a wake-up is harmless."""

import socket
import threading
from pathlib import Path

import pytest
from django.db import transaction

from library.services import book_create
from search_index import services, wake
from search_index.models import IndexChange
from tests.jobs.test_worker_live import Worker, wait_for
from tests.search_index.test_worker import found

#: Longer than any test waits: a loop that wakes before it was reached by a wake-up, did not poll.
NEVER = 600


@pytest.fixture
def alarm(settings):
    alarm = wake.Alarm()
    yield alarm
    alarm.close()


def test_a_wake_up_ends_the_loops_sleep_at_once(alarm):
    woken = {}
    sleeper = threading.Thread(target=lambda: woken.setdefault("result", alarm.sleep(NEVER)))
    sleeper.start()

    reached = wake.wake_workers()
    sleeper.join(timeout=30)

    assert reached == 1
    assert not sleeper.is_alive() and woken["result"] is True


def test_wake_ups_that_piled_up_count_once_and_an_unwoken_sleep_times_out(alarm):
    for _ in range(5):
        wake.wake_workers()

    assert alarm.sleep(NEVER) is True
    assert alarm.sleep(0.01) is False


def test_a_dead_workers_socket_is_removed_by_the_next_sender(settings):
    directory = Path(settings.SEARCH_WAKE_DIR)
    directory.mkdir(parents=True)
    dead = directory / "4242.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(dead))  # bound, then its process "dies": the file stays, nobody listens

    assert (dead.exists(), wake.wake_workers(), dead.exists()) == (True, 0, False)


def test_no_directory_or_a_path_too_long_for_a_socket_leaves_the_loop_polling(settings, tmp_path, caplog):
    settings.SEARCH_WAKE_DIR = str(tmp_path / ("x" * 120))
    assert wake.wake_workers() == 0

    alarm = wake.Alarm()

    assert alarm.sock is None and "cannot be woken on commit" in caplog.text
    assert alarm.sleep(0.01) is False


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_queues_index_work_wakes_the_loops_once_after_commit(alarm, monkeypatch):
    sent = []
    real = wake.wake_workers
    monkeypatch.setattr(wake, "wake_workers", lambda: sent.append(1) or real())

    with transaction.atomic():
        book_create(title="担保物权研究")
        book_create(title="民法典评注")
        queued_before_commit = (IndexChange.objects.count(), len(sent))

    assert queued_before_commit == (2, 0)
    assert sent == [1]
    assert alarm.sleep(NEVER) is True


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_would_not_poll_for_ten_minutes_applies_a_commit_at_once(tmp_path, librarian_api):
    services.index_rebuild()
    worker_process = Worker(tmp_path, {"SEARCH_OUTBOX_POLL_MS": str(NEVER * 1000)}, "index")
    try:
        # Its loop drains once at start, then binds its socket and sleeps NEVER seconds.
        wait_for(lambda: list(Path(wake.wake_dir()).glob("*.sock")), timeout=60, what="the loop's socket",
                 logs=[worker_process.log])
        response = librarian_api.post("/api/v1/books", {"title": "多元化纠纷解决机制"})
        assert response.status_code == 201, response.content

        wait_for(lambda: found("多元化纠纷解决") == [("book", response.json()["id"])], timeout=60,
                 what="the woken worker to apply the outbox", logs=[worker_process.log])
    finally:
        worker_process.stop()
