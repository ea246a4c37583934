"""The job machinery in one process: enqueue on commit, claim once, progress, retries, recovery, health."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs.models import Job, WorkerBeat
from jobs.schedule import schedule_tick
from jobs.services import hand_over, job_enqueue, jobs_recover, queue_health, worker_beat
from tests.jobs import sample_tasks

pytestmark = pytest.mark.django_db


def run(job: Job) -> Job:
    """What a worker does with the backend's task: run it by the job's id."""
    sample = {t.module_path: t for t in (sample_tasks.count_to, sample_tasks.fail_until, sample_tasks.refuse)}
    sample[job.task_path].call(job.pk)
    job.refresh_from_db()
    return job


def test_the_backend_hears_of_a_job_only_when_its_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            job = job_enqueue(sample_tasks.count_to, payload={"n": 2})
            assert DBTaskResult.objects.count() == 0

    job.refresh_from_db()
    assert len(callbacks) == 1
    task = DBTaskResult.objects.get()
    assert (task.task_path, task.args_kwargs["args"]) == ("tests.jobs.sample_tasks.count_to", [job.pk])
    assert job.enqueued_at is not None and job.backend_id == str(task.id)


def test_a_rolled_back_transaction_leaves_no_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            job_enqueue(sample_tasks.count_to)
            raise RuntimeError("the request failed")

    assert (Job.objects.count(), DBTaskResult.objects.count()) == (0, 0)


def test_a_job_runs_records_progress_and_its_summary():
    job = run(job_enqueue(sample_tasks.count_to, payload={"n": 4}))

    assert (job.state, job.attempts, job.progress_done, job.progress_total) == ("done", 1, 4, 4)
    assert job.summary == {"counted": 4, "attempt": 1}
    assert job.started_at <= job.finished_at and job.percent == 100


def test_a_job_handed_over_twice_runs_once():
    job = job_enqueue(sample_tasks.count_to, payload={"n": 1})
    run(job)
    finished = Job.objects.get(pk=job.pk).finished_at

    again = run(job)

    assert (again.state, again.attempts, again.finished_at) == ("done", 1, finished)


def test_one_queued_job_per_key_while_a_running_one_does_not_block_the_next():
    first = job_enqueue(sample_tasks.count_to, key="drain")
    assert job_enqueue(sample_tasks.count_to, key="drain") == first
    Job.objects.filter(pk=first.pk).update(state=Job.State.RUNNING)

    second = job_enqueue(sample_tasks.count_to, key="drain")

    assert second != first and second.state == "queued"
    assert Job.objects.filter(key="drain").count() == 2


def test_a_failing_job_is_retried_with_backoff_then_succeeds(settings):
    settings.JOBS_RETRY_SECONDS = 30
    job = job_enqueue(sample_tasks.fail_until, payload={"succeed_at": 2})

    job = run(job)
    assert (job.state, job.attempts) == ("queued", 1)
    assert job.error == "第 1 次尝试失败，稍后重试" and "RuntimeError: attempt 1 breaks" in job.error_detail
    assert timedelta(seconds=29) < job.run_after - timezone.now() <= timedelta(seconds=30)

    job = run(job)
    assert (job.state, job.attempts, job.summary) == ("done", 2, {"attempt": 2})
    assert job.error == ""


def test_a_job_failing_every_attempt_ends_failed_without_a_stack_trace_in_its_error():
    job = job_enqueue(sample_tasks.fail_until, payload={"succeed_at": 99}, max_attempts=2)

    job = run(run(job))

    assert (job.state, job.attempts) == ("failed", 2)
    assert job.error == "任务失败，已尝试 2 次"
    assert "Traceback" in job.error_detail and "Traceback" not in job.error


def test_a_final_failure_is_not_retried_and_says_why():
    job = run(job_enqueue(sample_tasks.refuse))

    assert (job.state, job.attempts, job.error) == ("failed", 1, "文件无法读取")


def test_recovery_queues_again_the_job_of_a_dead_worker(settings):
    settings.JOBS_STALE_SECONDS = 60
    job = job_enqueue(sample_tasks.count_to)
    long_ago = timezone.now() - timedelta(seconds=61)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, attempts=1, heartbeat_at=long_ago,
                                         worker="gone:1:x")
    fresh = job_enqueue(sample_tasks.count_to)
    Job.objects.filter(pk=fresh.pk).update(state=Job.State.RUNNING, attempts=1, heartbeat_at=timezone.now())

    counts = jobs_recover()

    job.refresh_from_db()
    assert counts["requeued"] == 1
    assert (job.state, job.enqueued_at is not None) == ("queued", True)
    assert Job.objects.get(pk=fresh.pk).state == "running"
    assert run(job).summary == {"counted": 3, "attempt": 2}


def test_recovery_fails_a_job_whose_attempts_are_spent(settings):
    job = job_enqueue(sample_tasks.count_to, max_attempts=1)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, attempts=1,
                                         heartbeat_at=timezone.now() - timedelta(hours=1))

    assert jobs_recover()["failed"] == 1
    assert Job.objects.get(pk=job.pk).state == "failed"


def test_recovery_hands_over_a_job_the_backend_never_took():
    """A process killed between its commit and the hand-over leaves a queued row only."""
    job = job_enqueue(sample_tasks.count_to)  # on_commit never runs inside the test's transaction
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=10))

    assert jobs_recover()["handed_over"] == 1
    assert DBTaskResult.objects.get().args_kwargs["args"] == [job.pk]


def test_recovery_hands_over_again_a_job_the_backend_lost(settings):
    job = job_enqueue(sample_tasks.count_to)
    assert hand_over(job.pk)
    DBTaskResult.objects.all().delete()  # as a Redis restart loses RQ's queue
    Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(seconds=settings.JOBS_LOST_SECONDS + 1))

    assert jobs_recover()["handed_over"] == 1
    assert DBTaskResult.objects.count() == 1


def test_a_queue_without_a_worker_is_unhealthy_with_the_reason(settings):
    settings.JOBS_WORKER_GRACE_SECONDS = 300
    assert queue_health() == "ok"
    job = job_enqueue(sample_tasks.count_to)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    assert queue_health() == "unavailable: 1 个任务在等待，5 分钟内没有工作进程（请启动 manage.py run_worker）"
    worker_beat(started_at=timezone.now(), backend="db")
    assert queue_health() == "ok"
    WorkerBeat.objects.update(seen_at=timezone.now() - timedelta(minutes=6))
    assert queue_health().startswith("unavailable")


def test_a_worker_whose_clock_is_behind_still_counts_as_seen(settings, monkeypatch):
    """Heartbeats are written with the database's clock: a worker on a machine ten minutes behind kept the queue
    "unavailable" on every node's health page (its heartbeat looked ten minutes old)."""
    settings.JOBS_WORKER_GRACE_SECONDS = 300
    job = job_enqueue(sample_tasks.count_to)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    real_now = timezone.now
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: real_now() - timedelta(minutes=10))
        worker_beat(started_at=timezone.now(), backend="db")

    assert queue_health() == "ok"
    assert abs(WorkerBeat.objects.get().seen_at - real_now()) < timedelta(minutes=1)


def test_the_schedule_enqueues_a_daily_job_once_and_only_after_its_time(settings):
    settings.JOBS_SCHEDULE = [{"task": "tests.jobs.sample_tasks.count_to", "at": "07:30"}]
    morning = timezone.make_aware(timezone.datetime(2026, 12, 7, 7, 0))

    assert schedule_tick(now=morning) == []
    first = schedule_tick(now=morning + timedelta(minutes=31))
    again = schedule_tick(now=morning + timedelta(minutes=45))
    Job.objects.update(state=Job.State.DONE)
    later = schedule_tick(now=morning + timedelta(hours=3))

    assert [j.key for j in first] == ["schedule:tests.jobs.sample_tasks.count_to:2026-12-07"]
    assert (again, later) == ([], [])
    assert [j.key for j in schedule_tick(now=morning + timedelta(days=1, minutes=31))] == [
        "schedule:tests.jobs.sample_tasks.count_to:2026-12-08"]


@pytest.mark.django_db(transaction=True)
def test_a_tick_that_looked_while_another_worker_enqueued_does_not_enqueue_the_job_again(settings):
    """Two workers (on two nodes) tick at once.  The first enqueues an "every" job and a fast worker has already
    finished it when the second, which looked before the first committed, gets to enqueue: the job key only
    keeps one *queued* job per key, so it queued the job again.  Ticks now look again under the schedule's
    lock (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions), and the second enqueues nothing."""
    import threading

    from django.db import connection

    from jobs import schedule

    settings.JOBS_SCHEDULE = [{"task": "tests.jobs.sample_tasks.count_to", "every": 3600}]
    held, looked, release = threading.Event(), threading.Event(), threading.Event()
    found: list = []

    def first_worker() -> None:
        try:
            with transaction.atomic():
                schedule._lock_schedule()
                # Enqueued, and already run to the end by a fast worker, when this transaction commits.
                Job.objects.create(kind="count_to", task_path=sample_tasks.count_to.module_path,
                                   key="schedule:tests.jobs.sample_tasks.count_to", state=Job.State.DONE)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    def spy(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "jobs_job" in sql:
            looked.set()  # the second worker's first look found nothing to wait for
        return result

    def second_worker() -> None:
        try:
            with connection.execute_wrapper(spy):
                found.extend(schedule_tick())
        finally:
            connection.close()

    first = threading.Thread(target=first_worker)
    first.start()
    assert held.wait(30)
    second = threading.Thread(target=second_worker)
    second.start()
    assert looked.wait(30)
    release.set()
    first.join(30)
    second.join(30)

    assert found == []
    assert list(Job.objects.values_list("state", flat=True)) == ["done"]


@pytest.mark.parametrize("query", ["error_detail__startswith=Traceback", "error_detail__icontains=Traceback",
                                   "payload__contains=paper", "worker__startswith=vm"])
def test_the_jobs_list_filters_only_by_what_it_offers(client, query):
    """Attack: a librarian read a superuser-only stack trace through ?error_detail__startswith=… one guessed
    character at a time; ?payload__contains=… was a 500 on SQLite."""
    from tests.conftest import make_user

    librarian = make_user("librarian1", "librarian")
    librarian.is_staff = True
    librarian.save(update_fields=["is_staff"])
    Job.objects.create(kind="x", task_path="tests.jobs.sample_tasks.refuse", state=Job.State.FAILED,
                       error_detail="Traceback (most recent call last): secret", payload={"paper_id": 1})
    client.force_login(librarian)

    refused = client.get(f"/admin/jobs/job/?{query}")
    offered = client.get("/admin/jobs/job/?state=failed&kind=x")

    assert refused.status_code == 400
    assert offered.status_code == 200 and "secret" not in offered.content.decode()


def test_the_jobs_list_names_each_kind_as_people_say_it(client):
    """Routine walk: the list showed code names (library.tasks.import_catalog_file)."""
    from django.utils import translation

    from tests.conftest import make_user

    librarian = make_user("librarian1", "librarian")
    librarian.is_staff = True
    librarian.save(update_fields=["is_staff"])
    for path in ("library.tasks.import_catalog_file", "events.tasks.refresh_listed_occurrences",
                 "tests.jobs.sample_tasks.count_to"):
        Job.objects.create(kind=path, task_path=path)
    client.force_login(librarian)

    page = client.get("/admin/jobs/job/").content.decode()
    with translation.override("en"):
        english = str(__import__("jobs.tasks", fromlist=["label_of"]).label_of("library.tasks.import_catalog_file"))

    assert "书目导入" in page and "活动场次索引" in page
    assert "library.tasks.import_catalog_file</" not in page
    assert "tests.jobs.sample_tasks.count_to" in page  # a task without a label keeps its path
    assert english == "Catalog import"
