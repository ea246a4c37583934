"""Circulation under real parallel load: a live multi-process server (gunicorn, 4 workers) on the test
database, hit by many simultaneous requests.  Runs on SQLite and on PostgreSQL (``make test-pg``)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import token_issue
from library.models import CirculationEvent, Copy, Hold, Loan, LoanPolicy
from library.services import book_create, copy_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A gunicorn server with four worker processes on the test database; yields (base URL, log path)."""
    port = _free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "True",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "shuyuan.wsgi:application", "--workers", "4", "--bind",
             f"127.0.0.1:{port}", "--access-logfile", "-", "--error-logfile", "-", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/me", timeout=2)
            except urllib.error.HTTPError:
                break  # 401: the server answers
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield base, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


def _post(url: str, token: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _all_at_once(calls) -> list[tuple[int, dict]]:
    """Run the calls in parallel threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _assert_clean_log(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text and "[ERROR]" not in text, text[-4000:]
    assert '" 500 ' not in text


def _judges(n: int, prefix: str = "pj"):
    users = [make_user(f"{prefix}{i}", Role.JUDGE) for i in range(n)]
    return users, [token_issue(user=u, name="parallel").raw for u in users]


def test_fifty_judges_one_copy_exactly_one_loan(server):
    base, log = server
    book = book_create(title="民法典评注（热门）")
    copy_create(book=book, barcode="HOT1")
    _, tokens = _judges(50)
    results = _all_at_once([lambda t=t: _post(f"{base}/api/v1/loans", t, {"book": book.pk}) for t in tokens])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 49, statuses
    assert {body["code"] for status, body in results if status == 409} == {"not_available"}
    assert Loan.objects.filter(status="active").count() == 1
    assert Copy.objects.get(barcode="HOT1").status == Copy.Status.ON_LOAN
    assert CirculationEvent.objects.filter(action="checkout").count() == 1
    _assert_clean_log(log)


def test_one_judge_twenty_requests_at_once_keeps_the_loan_limit(server):
    base, log = server
    LoanPolicy.objects.create(role=Role.JUDGE, max_loans=10)
    books = []
    for i in range(20):
        b = book_create(title=f"并发借阅{i}")
        copy_create(book=b, barcode=f"LIM{i:02d}")
        books.append(b)
    (judge,), (token,) = _judges(1, "limit")
    results = _all_at_once([lambda b=b: _post(f"{base}/api/v1/loans", token, {"book": b.pk}) for b in books])
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 10, statuses
    assert {body["code"] for status, body in results if status == 409} == {"loan_limit"}
    assert Loan.objects.filter(patron=judge, status="active").count() == 10
    assert Copy.objects.filter(status=Copy.Status.ON_LOAN).count() == 10
    _assert_clean_log(log)


def test_parallel_holds_form_one_queue_served_in_order(server):
    base, log = server
    book = book_create(title="担保物权研究（排队）")
    copy_create(book=book, barcode="Q1")
    (lender,), (lender_token,) = _judges(1, "lender")
    assert _post(f"{base}/api/v1/loans", lender_token, {"book": book.pk})[0] == 201
    users, tokens = _judges(20, "queue")
    results = _all_at_once([lambda t=t: _post(f"{base}/api/v1/holds", t, {"book": book.pk}) for t in tokens])
    assert [status for status, _ in results] == [201] * 20
    assert sorted(body["position"] for _, body in results) == list(range(1, 21))
    first = min(results, key=lambda r: r[1]["position"])[1]["patron"]
    librarian = make_user("desk-parallel", Role.LIBRARIAN)
    desk = token_issue(user=librarian, name="desk").raw
    status, body = _post(f"{base}/api/v1/returns", desk, {"barcode": "Q1"})
    assert (status, body["to_hold"], body["hold_patron"]) == (200, True, first)
    assert Hold.objects.filter(status="ready").count() == 1
    _assert_clean_log(log)


def test_the_same_copy_returned_ten_times_at_once_is_returned_once(server):
    base, log = server
    book = book_create(title="刑法学（还书）")
    copy_create(book=book, barcode="RET1")
    (judge,), (token,) = _judges(1, "ret")
    assert _post(f"{base}/api/v1/loans", token, {"book": book.pk})[0] == 201
    desks = [token_issue(user=make_user(f"desk{i}", Role.LIBRARIAN), name="d").raw for i in range(10)]
    results = _all_at_once([lambda t=t: _post(f"{base}/api/v1/returns", t, {"barcode": "RET1"}) for t in desks])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 9, statuses
    assert CirculationEvent.objects.filter(action="return").count() == 1
    assert Copy.objects.get(barcode="RET1").status == Copy.Status.AVAILABLE
    _assert_clean_log(log)
