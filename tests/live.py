"""A live multi-process server on the test database, and tools to hit it with simultaneous requests.

Used by the parallel tests of circulation and registration: real worker processes (gunicorn, four
workers) and real parallel HTTP requests, on SQLite and on PostgreSQL alike.
"""

import contextlib
import json
import os
import re
import signal
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

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LIVE_SERVER_APP = "shuyuan-live-server"


SERVERS: dict[str, subprocess.Popen] = {}  # base URL → the gunicorn master process


@contextlib.contextmanager
def start_server(tmp_path: Path, *, database: str | None = None, workers: int = 4, env: dict | None = None):
    """A gunicorn server with several worker processes on the test database (or ``database``);
    yields (base URL, log path)."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database or database_url(),
        "DEBUG": "True",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CACHE_DIR": str(tmp_path / "server-cache"),
        "PYTHONUNBUFFERED": "1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "PGAPPNAME": LIVE_SERVER_APP,  # names the server's PostgreSQL sessions (see the teardown)
        "DJANGO_SETTINGS_MODULE": "tests.live_settings",  # the project's settings with the tests' password hasher
        # Local files, whatever the developer's environment names (a test writes into no real store or Redis);
        # the tests of several nodes pass their own.
        "MEDIA_S3_BUCKET": "", "CACHE_URL": "", "RATELIMIT_URL": "",
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # --preload as `make serve` does: the application is imported once, in the master, and forked.
            [sys.executable, "-m", "gunicorn", "shuyuan.wsgi:application", "--preload", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--error-logfile", "-", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = proc
    try:
        wait_until_up(base, proc, log)
        # Preloaded, the master forks its workers one after another: the first may answer before the last exists.
        deadline = time.monotonic() + 30
        while len(worker_pids(base)) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        yield base, log
    finally:
        SERVERS.pop(base, None)
        # The test is over and nothing is in flight: the master and its workers (its own process group) go at
        # once, rather than in gunicorn's shutdown of a second or two.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        if connection.vendor == "postgresql":
            # Workers that were killed mid-connection can leave sessions behind for a moment; close them so
            # the test database can be flushed and, at the end, dropped.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s",
                    [LIVE_SERVER_APP],
                )


def wait_until_up(base: str, proc: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{log.read_text() if log else ''}")
            time.sleep(0.05)


def worker_pids(base: str) -> list[int]:
    """The worker processes of a live server (children of its gunicorn master)."""
    master = SERVERS[base].pid
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def kill_workers(base: str) -> list[int]:
    """SIGKILL every worker (gunicorn's master starts new ones); returns the killed pids."""
    pids = worker_pids(base)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


@pytest.fixture
def server(tmp_path):
    """A gunicorn server with four worker processes on the test database; yields (base URL, log path)."""
    with start_server(tmp_path) as running:
        yield running


def post(url: str, token: str, payload: dict) -> tuple[int, dict]:
    return send("POST", url, token, payload)


def patch(url: str, token: str, payload: dict) -> tuple[int, dict]:
    return send("PATCH", url, token, payload)


def send(method: str, url: str, token: str, payload: dict | None = None) -> tuple[int, dict]:
    """A request with a bearer token (and a JSON body, when given) to the live server: (status, body)."""
    headers = {"Authorization": f"Bearer {token}"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def all_at_once(calls) -> list[tuple[int, dict]]:
    """Run the calls in parallel threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_clean_log(log: Path) -> None:
    """No traceback, no error line (gunicorn's or the app's) and no 5xx answer in the server's log."""
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    assert not re.search(r"\[ERROR\]| ERROR |\"level\": \"ERROR\"", text), text[-4000:]
    # gunicorn's access log ("GET /x HTTP/1.1" 503 …), the JSON log's status, the request log's last word (not
    # just any line ending in a number from 500 to 599: "Booting worker with pid: 598").
    assert not re.search(r'" 5\d\d |\"status\": 5\d\d|shuyuan\.request .* 5\d\d$', text, re.MULTILINE), text[-4000:]




def delete(url: str, token: str) -> tuple[int, dict]:
    return send("DELETE", url, token)
