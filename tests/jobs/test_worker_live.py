"""Real worker processes (``manage.py run_worker``) on the test database, with each Tasks backend:
the database backend always, RQ on Redis when a Redis server answers at 127.0.0.1:6379.

A job enqueued and committed here is run by the worker; a worker killed with SIGKILL in the middle of a
job loses nothing: another worker queues it again once its heartbeat stops and runs it to the end.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import override_settings

from jobs.models import Job
from jobs.services import job_enqueue
from tests.conftest import wake_dir_for
from tests.jobs import sample_tasks
from tests.live import ROOT, database_url


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
        return True
    except OSError:
        return False


_claimed_db: list[int] = []


def _drop_dead_claim(claims, key: str) -> None:
    """Free a database claimed by a test process that no longer runs (killed: its atexit never ran), so that a
    run killed by hand does not block the next ones for the claim's hour."""
    held = claims.get(key)
    if held is None:
        return
    try:
        pid = int(held.split(b":", 1)[0])
        os.kill(pid, 0)
    except ProcessLookupError:
        # Deleted only if still that claim (another process may have just replaced it).
        claims.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                    1, key, held)
    except (ValueError, PermissionError):
        return  # not a pid of ours to judge, or a live process of another user


def redis_url() -> str:
    """A Redis database of this test process's own, claimed in database 0 for the process's lifetime (an
    hour at most), so that test runs going on at once on one machine (two checkouts, pytest-xdist
    processes) never flush or take each other's queues."""
    import atexit
    import uuid

    import redis

    if not _claimed_db:
        claims = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        token = f"{os.getpid()}:{uuid.uuid4().hex}"
        for db in range(15, 9, -1):
            _drop_dead_claim(claims, f"shuyuan-tests:db{db}")
            if claims.set(f"shuyuan-tests:db{db}", token, nx=True, ex=3600):
                _claimed_db.append(db)
                atexit.register(lambda key=f"shuyuan-tests:db{db}": claims.delete(key)
                                if claims.get(key) == token.encode() else None)
                break
        else:
            raise RuntimeError("every test Redis database (10-15) is claimed by other test processes")
    return f"redis://127.0.0.1:6379/{_claimed_db[0]}"


BACKENDS = [
    "db",
    pytest.param("redis", marks=pytest.mark.skipif(not redis_answers(), reason="no Redis at 127.0.0.1:6379")),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "db":
        yield {}
        return
    import redis

    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    settings = {"TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
                "RQ_QUEUES": {"default": {"URL": url, "DEFAULT_TIMEOUT": 600}}}
    with override_settings(**settings):
        yield {"TASKS_URL": url}
    redis.Redis.from_url(url).flushdb()


class Worker:
    def __init__(self, tmp_path: Path, env: dict, name: str) -> None:
        self.log = tmp_path / f"worker-{name}.log"
        full_env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "True", "PYTHONUNBUFFERED": "1",
                    "SEARCH_INDEX_DIR": str(tmp_path / "index"), "MEDIA_ROOT": str(tmp_path / "media"),
                    "CACHE_DIR": str(tmp_path / "cache"), "SEARCH_WAKE_DIR": wake_dir_for(tmp_path),
                    "JOBS_HEARTBEAT_SECONDS": "1", "MEDIA_S3_BUCKET": "", "CACHE_URL": "", "RATELIMIT_URL": "", **env}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker", "--interval", "0.1", "--housekeeping", "0.5"],
                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
        found, frontier = [], [self.proc.pid]
        while frontier:
            children = [pid for pid, parent in parents.items() if parent in frontier]
            found += children
            frontier = children
        return found

    def kill(self) -> None:
        """SIGKILL the worker and every process under it (RQ runs each job in a forked "work horse" in a
        session of its own, which a process-group kill would miss)."""
        for pid in [self.proc.pid, *self.descendants()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL (with the work horses) after ``grace`` seconds."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(tmp_path, backend):
    started: list[Worker] = []

    def start(name: str, **env) -> Worker:
        worker = Worker(tmp_path, {**backend, **env}, name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        # The test is over: an RQ worker's warm shutdown waits for a work horse of the killed worker's job
        # (10 s of every such test's teardown); nothing is checked of it here.
        worker.stop(grace=2)


def wait_for(predicate, *, timeout: float, what: str, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n" + "\n".join(log.read_text()[-3000:] for log in logs))


def enqueue(task, **kwargs) -> Job:
    with transaction.atomic():
        job = job_enqueue(task, **kwargs)
    return job


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_a_committed_job_to_the_end(workers):
    worker = workers("a")
    job = enqueue(sample_tasks.count_to, payload={"n": 3})

    done = wait_for(lambda: Job.objects.filter(pk=job.pk, state="done").first(), timeout=60,
                    what="the job to finish", logs=[worker.log])

    assert (done.progress_done, done.progress_total, done.summary) == (3, 3, {"counted": 3, "attempt": 1})


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_mid_job_is_run_again_by_another_worker(workers, tmp_path):
    log = tmp_path / "attempts.log"
    first = workers("first", JOBS_STALE_SECONDS="3")
    job = enqueue(sample_tasks.count_to, payload={"n": 6, "pause": 1, "log": str(log)})
    wait_for(lambda: Job.objects.filter(pk=job.pk, state="running", progress_done__gte=2).exists(), timeout=60,
             what="the job to be half done", logs=[first.log])

    first.kill()
    second = workers("second", JOBS_STALE_SECONDS="3")
    done = wait_for(lambda: Job.objects.filter(pk=job.pk, state="done").first(), timeout=90,
                    what="the job to be recovered and finished", logs=[first.log, second.log])

    assert done.summary == {"counted": 6, "attempt": 2}
    attempts = log.read_text().splitlines()
    assert [line.split()[1:] for line in attempts] == [["attempt", "1"], ["attempt", "2"]]


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_queue_share_the_jobs_and_run_each_once(workers, tmp_path):
    """Workers on any node take jobs from the one queue (a database table, or RQ's list on Redis): both take
    some, and each job runs exactly once, also when it is handed to the backend a second time (a recovery
    racing the hand-over on commit)."""
    from jobs.services import hand_over

    log = tmp_path / "attempts.log"
    first, second = workers("first", NOTICES_AT="off"), workers("second", NOTICES_AT="off")
    # Both idle: started, and done with the jobs their clocks found due at start (the hourly listings …).
    wait_for(lambda: all(w.log.exists() and "已启动" in w.log.read_text() for w in (first, second))
             and Job.objects.exists() and not Job.objects.filter(state__in=Job.OPEN).exists(), timeout=120,
             what="both workers to start and finish the scheduled jobs", logs=[first.log, second.log])
    jobs = [enqueue(sample_tasks.count_to, payload={"n": 1, "pause": 1, "log": str(log)}) for _ in range(6)]
    twice = [hand_over(job.pk) for job in jobs]  # a second hand-over of each job still queued

    wait_for(lambda: Job.objects.filter(pk__in=[job.pk for job in jobs], state="done").count() == 6, timeout=120,
             what="the six jobs to finish", logs=[first.log, second.log])

    done = Job.objects.filter(pk__in=[job.pk for job in jobs])
    assert sorted(done.values_list("attempts", flat=True)) == [1] * 6
    assert len(log.read_text().splitlines()) == 6  # each job's work ran once, whatever was handed over twice
    assert any(twice)
    assert len(set(done.values_list("worker", flat=True))) == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_retried_by_the_worker_and_then_succeeds(workers, settings):
    worker = workers("a", JOBS_RETRY_SECONDS="1")
    settings.JOBS_RETRY_SECONDS = 1
    job = enqueue(sample_tasks.fail_until, payload={"succeed_at": 2})

    done = wait_for(lambda: Job.objects.filter(pk=job.pk, state="done").first(), timeout=60,
                    what="the retried job to finish", logs=[worker.log])

    assert (done.attempts, done.summary) == (2, {"attempt": 2})


@pytest.mark.django_db(transaction=True)
def test_a_worker_outlives_a_write_lock_held_past_its_busy_timeout(tmp_path):
    """Attack round 7: a request held SQLite's write lock past the busy timeout; django-tasks-db's worker ended
    on "database is locked" and nothing started it again, so every job after it waited for ever."""
    worker = Worker(tmp_path, {"SQLITE_BUSY_SECONDS": "1"}, "a")
    try:
        wait_for(lambda: worker.log.exists() and "已启动" in worker.log.read_text(), timeout=60,
                 what="the worker to start", logs=[worker.log])
        with transaction.atomic():  # BEGIN IMMEDIATE on SQLite: the write lock, held until the worker hit it
            Job.objects.filter(pk=-1).update(state="queued")
            if connection.vendor == "sqlite":
                # Held until the worker has met it and restarted (a fixed 4 s passed unmet on a loaded machine).
                wait_for(lambda: "starting it again" in worker.log.read_text(), timeout=90,
                         what="the worker to meet the write lock", logs=[worker.log])
            else:
                time.sleep(4)  # PostgreSQL: the worker's own writes never wait on this one
        job = enqueue(sample_tasks.count_to, payload={"n": 2})

        wait_for(lambda: Job.objects.filter(pk=job.pk, state="done").exists(), timeout=90,
                 what="the job to run after the lock was released", logs=[worker.log])
        assert worker.proc.poll() is None
    finally:
        worker.stop()
    if connection.vendor == "sqlite":
        assert "starting it again" in worker.log.read_text()


@pytest.mark.skipif(not redis_answers(), reason="no Redis at 127.0.0.1:6379")
def test_rqs_blocking_wait_for_a_job_outlasts_the_timeout_requests_have_on_tasks_url():
    """TASKS_URL's connections give up after TASKS_REDIS_SECONDS (a request must not wait long on a Redis that
    does not answer), while RQ's worker waits for a job in one BLPOP of minutes: RQ raises its own connection's
    read timeout above that wait, so an idle worker is not cut off every 2 s."""
    import django_rq
    from rq import Queue
    from rq.exceptions import DequeueTimeout

    from shuyuan.settings import TASKS_REDIS_SECONDS, rq_queues

    with override_settings(RQ_QUEUES=rq_queues(redis_url())):
        assert django_rq.get_connection().connection_pool.connection_kwargs["socket_timeout"] == TASKS_REDIS_SECONDS
        worker = django_rq.get_worker("default", worker_class="rq.worker.SimpleWorker")
        assert worker.connection.connection_pool.connection_kwargs["socket_timeout"] > worker.dequeue_timeout
        started = time.monotonic()
        with pytest.raises(DequeueTimeout):  # not redis' TimeoutError after 2 s
            Queue.dequeue_any(worker.queues, TASKS_REDIS_SECONDS + 1, connection=worker.connection)
        assert time.monotonic() - started >= TASKS_REDIS_SECONDS + 1
