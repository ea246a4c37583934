"""Faults against a live multi-worker server (gunicorn): nothing is lost, nothing is half-written, and the
server says what is wrong instead of failing with a 500.

* A worker killed with SIGKILL in the middle of a borrow and of a registration.  The worker is held
  inside its database transaction by a trigger on the table it has just written (a slow computation on
  SQLite, ``pg_sleep`` on PostgreSQL) — a fault injected in the database, with no test hook in the
  application.  Afterwards the database is consistent and the client's retry with its
  ``Idempotency-Key`` is safe.
* The search index deleted or corrupted while the server runs: searches answer 503 naming the
  problem, ``/readyz`` says why, the other endpoints keep answering, ``rebuild_index`` restores it
  while they do.
* The index or media disk unwritable: database writes succeed, the index catches up from its queue.
* PostgreSQL unreachable mid-load (the server reaches it through a TCP proxy the test stops and
  restarts): 503s while it is gone, recovery without a restart when it returns.
"""

import errno
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import token_issue
from core.models import IdempotencyRecord
from events.models import Registration, SeatCounter
from events.services import EventData, event_create
from library.models import CirculationEvent, Copy, Loan
from library.services import book_create, copy_create
from search_index import changelog
from search_index import services as search
from search_index.changelog import waiting_here
from tests.conftest import api_for, apply_index_outbox, copy_barcode, make_user
from tests.live import ROOT, database_url, kill_workers, start_server, wait_until_up

pytestmark = pytest.mark.django_db(transaction=True)


def request(url: str, *, token: str | None = None, payload: dict | None = None, headers: dict | None = None,
            timeout: float = 60) -> tuple[int, dict, dict]:
    """(status, JSON body or {"text": …}, headers)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        h["Content-Type"] = "application/json"
    url = urllib.parse.quote(url, safe=":/?=&%")
    req = urllib.request.Request(url, data=data, headers=h, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), dict(exc.headers)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"text": raw.decode("utf-8", "replace")}
    return status, body, got


# --- a worker killed mid-transaction -----------------------------------------------------------------


def _pause_inserts(table: str) -> None:
    """Make every INSERT into ``table`` stall inside its transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE OR REPLACE FUNCTION fault_pause() RETURNS trigger AS "
                           "$$ BEGIN PERFORM pg_sleep(4); RETURN NEW; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER fault_pause AFTER INSERT ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION fault_pause()")
        else:
            cursor.execute(f"CREATE TRIGGER fault_pause AFTER INSERT ON {table} BEGIN "
                           "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                           "WHERE x < 30000000) SELECT x FROM c); END")


def _resume_inserts(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER fault_pause ON {table}" if connection.vendor == "postgresql"
                       else "DROP TRIGGER fault_pause")


def _a_worker_is_inside_its_transaction() -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event = 'PgSleep'")
            return cursor.fetchone()[0] > 0
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # fails while a writer holds the database
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _kill_mid_request(base: str, send) -> BaseException | None:
    """Send a request in a thread, SIGKILL the server's workers once one is inside its transaction,
    return what the client saw (a dropped connection), and wait for the new workers."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(send)
        deadline = time.monotonic() + 30
        while not _a_worker_is_inside_its_transaction():
            assert not future.done(), f"the request finished before it could be interrupted: {future.result()}"
            assert time.monotonic() < deadline, "no worker ever entered the transaction"
            time.sleep(0.05)
        assert kill_workers(base)
        try:
            outcome = future.result(timeout=60)
        except (ConnectionError, urllib.error.URLError, OSError) as exc:
            outcome = exc
    wait_until_up(base)
    return outcome


def test_a_worker_killed_mid_borrow_leaves_no_loan_and_the_retry_lends_once(server):
    base, _log = server
    book = book_create(title="民法典评注（断电）")
    copy_create(book=book, barcode="KILL1")
    judge = make_user("killjudge", Role.JUDGE)
    token = token_issue(user=judge, name="fault").raw
    key = {"Idempotency-Key": "borrow-after-crash-1"}
    _pause_inserts("library_loan")
    try:
        outcome = _kill_mid_request(base, lambda: request(f"{base}/api/v1/loans", token=token,
                                                          payload={"barcode": copy_barcode(book)}, headers=key))
    finally:
        _resume_inserts("library_loan")
    assert isinstance(outcome, BaseException), f"the client got an answer from a killed worker: {outcome}"
    # Nothing of the interrupted transaction is left: no loan, the copy on the shelf, the key free.
    assert not Loan.objects.exists()
    assert Copy.objects.get(barcode="KILL1").status == Copy.Status.AVAILABLE
    assert not IdempotencyRecord.objects.exists() and not CirculationEvent.objects.exists()

    status, body, _ = request(f"{base}/api/v1/loans", token=token, payload={"barcode": copy_barcode(book)}, headers=key)
    assert status == 201, body
    status, again, headers = request(f"{base}/api/v1/loans", token=token, payload={"barcode": copy_barcode(book)}, headers=key)
    assert status == 201 and again == body and headers.get("Idempotent-Replayed") == "true"
    assert Loan.objects.filter(status="active").count() == 1
    assert Copy.objects.get(barcode="KILL1").status == Copy.Status.ON_LOAN
    assert CirculationEvent.objects.filter(action="checkout").count() == 1


def test_a_worker_killed_mid_registration_counts_no_seat_and_the_retry_registers_once(server, organizer):
    base, _log = server
    from django.utils import timezone

    start = timezone.now() + timezone.timedelta(days=5)
    event = event_create(data=EventData(kind="tea_talk", title="法官茶座（断电）", start=start,
                                        end=start + timezone.timedelta(hours=1), capacity=2), actor=organizer)
    judge = make_user("killreader", Role.JUDGE)
    token = token_issue(user=judge, name="fault").raw
    key = {"Idempotency-Key": "register-after-crash"}
    _pause_inserts("events_registration")
    try:
        outcome = _kill_mid_request(base, lambda: request(f"{base}/api/v1/events/{event.pk}/registrations",
                                                          token=token, payload={}, headers=key))
    finally:
        _resume_inserts("events_registration")
    assert isinstance(outcome, BaseException), f"the client got an answer from a killed worker: {outcome}"
    assert not Registration.objects.exists()
    assert sum(SeatCounter.objects.values_list("taken", flat=True)) == 0

    status, body, _ = request(f"{base}/api/v1/events/{event.pk}/registrations", token=token, payload={}, headers=key)
    assert status == 201 and body["status"] == "confirmed", body
    status, again, _ = request(f"{base}/api/v1/events/{event.pk}/registrations", token=token, payload={}, headers=key)
    assert status == 201 and again == body
    assert Registration.objects.filter(event=event).count() == 1
    assert sum(SeatCounter.objects.values_list("taken", flat=True)) == 1


# --- the search index broken while serving ------------------------------------------------------------


def _server_env(base: str, tmp_path) -> dict:
    import os

    return {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "True", "SEARCH_INDEX_DIR": str(tmp_path / "index"),
            "MEDIA_ROOT": str(tmp_path / "media"), "SITE_URL": base}


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_a_broken_index_gives_503_with_the_reason_and_a_rebuild_restores_it_without_downtime(
        server, tmp_path, settings, damage):
    base, log = server
    # On PostgreSQL the ids below the book's entry (taken by earlier tests; sequences are not reset by a flush)
    # would be gaps the rebuild waits for, holding the node's position — and the prune below — at 0: settled
    # at once here, as entries older than SEARCH_LOG_GAP_SECONDS are.
    settings.SEARCH_LOG_GAP_SECONDS = 0
    book = book_create(title="担保物权实现程序研究")
    copy_create(book=book, barcode="IDX1")
    search.index_rebuild()
    # What the node's worker does within a minute: the log no longer holds the book, so an empty index could
    # not be filled from it (with the log whole, a lost index is replaced by an empty one the log fills).
    changelog.prune()
    status, body, _ = request(f"{base}/api/v1/search?q=担保物权")
    assert status == 200 and body["count"] == 1

    index_dir = tmp_path / "index"
    if damage == "deleted":
        shutil.rmtree(index_dir)
    else:
        for path in index_dir.rglob("*"):
            if path.is_file():
                path.write_bytes(b"\x00garbage\xff" * 64)

    answers = [request(f"{base}/api/v1/search?q=担保物权")[:2] for _ in range(8)]
    for status, body in answers:
        if damage == "deleted" or status != 200:
            assert status == 503 and "rebuild_index" in body["detail"], body
        else:
            # Overwritten files keep their names: a worker that read the index before keeps its intact
            # copy in memory and may go on answering correctly — never a 500.
            assert body["count"] == 1, body
    # A process opening the index now (a new worker, a restarted one) is told what to do.
    from search_index import searcher
    from search_index.services import Filters, SearchUnavailable

    searcher.reset()
    with pytest.raises(SearchUnavailable, match="rebuild_index"):
        search.search("担保物权", filters=Filters())
    status, body, _ = request(f"{base}/readyz")
    assert status == 503 and body["search_index"].startswith("unavailable"), body
    status, page, _ = request(f"{base}/?q=担保物权")
    assert status == 503 if damage == "deleted" else status in (200, 503)
    assert "rebuild_index" not in page["text"]  # readers get a plain message, not commands
    assert request(f"{base}/api/v1/books/{book.pk}")[0] == 200

    # The rebuild runs while other endpoints are being used: none of them fails meanwhile.
    answers: list[int] = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            answers.append(request(f"{base}/api/v1/books/{book.pk}")[0])
            answers.append(request(f"{base}/healthz")[0])

    thread = threading.Thread(target=keep_asking)
    thread.start()
    try:
        rebuild = subprocess.run([sys.executable, "manage.py", "rebuild_index", "--quiet"], cwd=ROOT,
                                 env=_server_env(base, tmp_path), capture_output=True, text=True, timeout=300)
    finally:
        stop.set()
        thread.join()
    assert rebuild.returncode == 0, rebuild.stderr
    assert answers and set(answers) == {200}
    for _ in range(8):
        status, body, _ = request(f"{base}/api/v1/search?q=担保物权")
        assert status == 200 and body["count"] == 1, body
    assert request(f"{base}/readyz")[0] == 200
    text = log.read_text()
    assert '" 500 ' not in text, text[-3000:]
    # The damage itself is logged with its traceback, for the operator (search index unreadable …); no other
    # error is.
    lines = text.splitlines()
    tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    for i in tracebacks:
        assert "search index unreadable" in lines[i - 1], "\n".join(lines[max(0, i - 5):i + 30])


# --- an unwritable disk ---------------------------------------------------------------------------------


def test_with_the_index_disk_unwritable_writes_succeed_and_the_index_catches_up(monkeypatch, librarian):
    from search_index import indexer

    search.index_rebuild()
    real_writer = indexer._writer

    def read_only(ix):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(indexer, "_writer", read_only)
    api = api_for(librarian)
    response = api.post("/api/v1/books", {"title": "执行异议之诉研究"})
    assert response.status_code == 201, response.content
    assert waiting_here() >= 1  # in the change log, not lost
    with pytest.raises(OSError):
        apply_index_outbox()  # the worker's loop fails (its thread logs and tries again later)
    assert waiting_here() >= 1
    assert api.get("/api/v1/search", {"q": "执行异议"}).json()["count"] == 0

    monkeypatch.setattr(indexer, "_writer", real_writer)  # the disk is back
    apply_index_outbox()  # what the worker's next round (or `manage.py process_index_queue`) does
    assert waiting_here() == 0
    assert api.get("/api/v1/search", {"q": "执行异议"}).json()["count"] == 1


def test_with_the_media_disk_unwritable_an_upload_is_refused_cleanly_and_nothing_changes(monkeypatch, librarian):
    from django.core.files.storage import FileSystemStorage

    from library.models import Paper
    from library.services import paper_create

    paper = paper_create(title="关于担保物权实现程序问题的研究", visibility="public")

    def full_disk(self, name, content, max_length=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", full_disk)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api_for(librarian).upload(f"/api/v1/papers/{paper.pk}/file",
                                         {"file": SimpleUploadedFile("paper.txt", "担保物权实现程序".encode())})
    assert response.status_code == 503, response.content
    assert response.json()["detail"] == "文件存储暂时不可写，请稍后再试"
    paper = Paper.objects.get(pk=paper.pk)
    assert not paper.file and paper.full_text == ""


# --- PostgreSQL unreachable ------------------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> → PostgreSQL; ``stop()`` drops the listener and every connection, as a stopped
    server or a cut network would."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.sockets: list[socket.socket] = []
        self.listener = None

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(); close() alone does not
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.sockets = []


def test_postgresql_going_away_gives_503_and_recovers_by_itself(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: runs in `make test-pg` (SQLite is a file, not a server that can go away)")
    s = connection.settings_dict
    proxy = TcpProxy(int(s["PORT"] or 5432))
    proxy.start()
    book = book_create(title="民事诉讼法学")
    search.index_rebuild()  # the server's index directory: only the database goes away
    database = f"postgres://{s['USER']}@127.0.0.1:{proxy.port}/{s['NAME']}"
    env = {"DEBUG": "False", "SECRET_KEY": "fault-test-" + "k3Y" * 20, "ALLOWED_HOSTS": "127.0.0.1",
           "LOG_FORMAT": "json"}
    with start_server(tmp_path, database=database, workers=2, env=env) as (base, log):
        assert request(f"{base}/api/v1/books/{book.pk}")[0] == 200
        # Load from four clients throughout: before, during and after the outage.
        seen: list[int | str] = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    seen.append(request(f"{base}/api/v1/books/{book.pk}", timeout=30)[0])
                except OSError as exc:  # a dropped connection would be a failure of the server
                    seen.append(repr(exc))

        clients = [threading.Thread(target=load) for _ in range(4)]
        for c in clients:
            c.start()
        time.sleep(1)
        proxy.stop()
        for _ in range(6):
            status, body, headers = request(f"{base}/api/v1/books/{book.pk}")
            assert status == 503 and body["code"] == "unavailable", body
            assert headers.get("Retry-After")
        status, page, _ = request(f"{base}/events")
        assert status == 503 and "Traceback" not in page["text"] and "psycopg" not in page["text"]
        status, body, _ = request(f"{base}/readyz")
        assert status == 503 and body["database"].startswith("unavailable")
        assert request(f"{base}/healthz")[0] == 200  # the process itself is fine

        proxy.start()  # PostgreSQL is back: the next requests reconnect, no restart needed
        for _ in range(6):
            status, body, _ = request(f"{base}/api/v1/books/{book.pk}")
            assert status == 200 and body["title"] == "民事诉讼法学", body
        assert request(f"{base}/readyz")[0] == 200
        time.sleep(1)
        stop.set()
        for c in clients:
            c.join()
        assert set(seen) == {200, 503}, set(seen)  # nothing else: no 500, no dropped connection
        assert seen[-4:] == [200] * 4  # and the load recovered by itself
        text = log.read_text()
        assert '"status": 500' not in text and '"status": 503' in text  # each outage answer was logged
    proxy.stop()
