"""Asking for background work, running it, and recovering it.

Application code enqueues through ``job_enqueue(task, …)`` only; the task is a Tasks API task made with
``jobs.tasks.job_task``.  The backend (database or RQ) is configuration (``settings.TASKS``).

Life of a job: ``job_enqueue`` writes the ``Job`` row in the caller's transaction and, on commit, hands
the job's id to the backend.  A worker runs the task, which claims the row (queued → running, one
conditional update, so a job handed over twice runs once), calls the work with a progress callback and
records the outcome.  A failure is retried with backoff up to ``max_attempts`` unless the work raised
``JobFailure`` (a final answer, such as a file that cannot be read).  ``jobs_recover`` (run by every
worker every few seconds) queues again what a dead worker was running and hands over what never
reached the backend, so a SIGKILL, an out-of-memory kill or a lost Redis loses no job.
"""

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from jobs.models import Job, WorkerBeat

logger = logging.getLogger(__name__)

#: This process's name in ``Job.worker`` and ``WorkerBeat``.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobYield(Exception):
    """Raised by a long job between two of its steps when others wait: it is queued again behind them and
    resumes where it stopped (its steps are committed).  One catalogue import held the only worker for
    seven minutes while judges' uploads waited (the eighth attack)."""


def others_waiting(job) -> bool:
    """Whether jobs other than ``job`` are queued and due: a long job should make way (``JobYield``)."""
    due = Q(run_after__isnull=True) | Q(run_after__lte=timezone.now())
    return Job.objects.filter(due, state=Job.State.QUEUED).exclude(pk=job.pk).exists()


class JobFailure(Exception):
    """A final answer: the job cannot succeed however often it is tried.  The message is shown as is."""


def job_enqueue(task, *, kind: str | None = None, key: str = "", payload: dict | None = None,
                created_by=None, max_attempts: int = 3, total: int | None = None,
                run_after: datetime | None = None) -> Job:
    """Ask for ``task`` to run with ``payload`` (not before ``run_after``, when given); returns the job (an
    already queued one with the same ``key``, whatever its ``run_after``).

    The work runs with the default language (``settings.LANGUAGE_CODE``) active, or with
    ``payload["language"]`` when the payload names one: a job that writes text for the person who
    asked for it (an import's report) passes the language of that person's request.

    Call it inside the transaction that makes the work necessary: the job exists exactly when that
    transaction commits, and the backend hears of it only then.
    """
    with transaction.atomic():
        if key:
            queued = Job.objects.filter(key=key, state=Job.State.QUEUED).first()
            if queued is not None:
                return queued
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=kind or task.name, task_path=task.module_path, key=key, payload=payload or {},
                    created_by=created_by, max_attempts=max_attempts, progress_total=total, run_after=run_after,
                )
        except IntegrityError:
            # Another transaction queued the same key meanwhile (the conditional unique constraint).
            return Job.objects.get(key=key, state=Job.State.QUEUED)
    transaction.on_commit(partial(hand_over, job.pk))
    return job


def hand_over(job_id: int) -> bool:
    """Give a queued job to the backend; True if it took it.  A backend that is down leaves the job for
    ``jobs_recover``."""
    job = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).first()
    if job is None:
        return False
    try:
        task = import_string(job.task_path)
        if job.run_after and job.run_after > timezone.now() and task.get_backend().supports_defer:
            task = task.using(run_after=job.run_after)
        result = task.enqueue(job.pk)
    except Exception:  # noqa: BLE001 - Redis down, database busy: the recovery tries again
        logger.warning("job %s could not be handed to the task backend; it stays queued", job_id, exc_info=True)
        return False
    Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(enqueued_at=timezone.now(),
                                                                  backend_id=str(result.id)[:64])
    return True


def _claimed(job: Job):
    """The job's row while this attempt still holds it (a recovered or finished job is no longer ours)."""
    return Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, worker=job.worker, attempts=job.attempts)


@dataclass
class Progress:
    """Passed to the work: ``progress(done, total)`` records how far it got (and proves it is alive)."""

    job: Job

    def __call__(self, done: int, total: int | None = None) -> None:
        changes = {"progress_done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            changes["progress_total"] = total
        _claimed(self.job).update(**changes)


class _Heartbeat(threading.Thread):
    """Keeps a running job's heartbeat fresh while its work is busy in one long step."""

    def __init__(self, job: Job) -> None:
        super().__init__(daemon=True, name=f"job-{job.pk}-heartbeat")
        self.job = job
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    _claimed(self.job).update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a busy database: the next beat tries again
                    logger.debug("heartbeat of job %s not written", self.job.pk, exc_info=True)
        finally:
            connection.close()


def job_execute(job_id: int, work: Callable) -> None:
    """Run ``work(job, progress)`` for a queued job, at most once at a time; record how it ended."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now,
        worker=WORKER_ID, finished_at=None,
    )
    if not claimed:
        # Done already, running elsewhere, or gone: a task handed over twice is harmless.
        logger.info("job %s is not queued; nothing to run", job_id)
        return
    job = Job.objects.get(pk=job_id)
    mine = _claimed(job)  # job.worker is WORKER_ID: this process claimed it just above
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    language = job.payload.get("language") if isinstance(job.payload, dict) else None
    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            summary = work(job, Progress(job))
    except JobYield:
        # Not an attempt used up: the same run, continued later.
        if mine.update(state=Job.State.QUEUED, enqueued_at=None, run_after=None, attempts=F("attempts") - 1,
                       heartbeat_at=None):
            logger.info("job %s (%s) makes way for waiting jobs; queued again", job.pk, job.kind)
            hand_over(job.pk)
    except JobFailure as exc:
        mine.update(state=Job.State.FAILED, error=str(exc)[:500], error_detail=traceback.format_exc(),
                    finished_at=timezone.now())
        logger.info("job %s (%s) failed: %s", job.pk, job.kind, exc)
    except Exception as exc:  # noqa: BLE001 - any other failure is retried, then recorded
        _retry_or_fail(job, mine, exc, traceback.format_exc())
    else:
        total = Job.objects.filter(pk=job.pk).values_list("progress_total", flat=True).first()
        mine.update(state=Job.State.DONE, summary=summary or {}, finished_at=timezone.now(), error="",
                    **({"progress_done": total} if total else {}))
    finally:
        heartbeat.stopped.set()
        heartbeat.join()


def _retry_or_fail(job: Job, mine, exc: BaseException, detail: str) -> None:
    message = f"{exc.__class__.__name__}: {exc}"[:300]
    if job.attempts < job.max_attempts:
        delay = settings.JOBS_RETRY_SECONDS * 2 ** (job.attempts - 1)
        if mine.update(state=Job.State.QUEUED, enqueued_at=None, run_after=timezone.now() + timedelta(seconds=delay),
                       error=_("第 %(n)s 次尝试失败，稍后重试") % {"n": job.attempts},
                       error_detail=detail):
            logger.warning("job %s (%s) attempt %s failed, retried in %ss: %s", job.pk, job.kind, job.attempts,
                           delay, message)
            hand_over(job.pk)
        return
    mine.update(state=Job.State.FAILED, finished_at=timezone.now(), error_detail=detail,
                error=_("任务失败，已尝试 %(n)s 次") % {"n": job.attempts})
    logger.error("job %s (%s) failed after %s attempts: %s", job.pk, job.kind, job.attempts, message)


def jobs_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again the jobs of dead workers; hand over queued jobs the backend never took or lost."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "handed_over": 0}
    for job in Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=stale):
        mine = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, heartbeat_at=job.heartbeat_at)
        if job.attempts < job.max_attempts:
            try:
                changed = mine.update(state=Job.State.QUEUED, enqueued_at=None, run_after=None,
                                      error=_("工作进程中断，已重新排队"))
            except IntegrityError:
                # A queued job with the same key exists: it does the same work.
                changed = mine.update(state=Job.State.FAILED, finished_at=now,
                                      error=_("工作进程中断；同一任务已在排队"))
                counts["failed"] += changed
                continue
            if changed:
                counts["requeued"] += 1
                hand_over(job.pk)
        else:
            counts["failed"] += mine.update(
                state=Job.State.FAILED, finished_at=now,
                error=_("工作进程中断，已尝试 %(n)s 次") % {"n": job.attempts})
    waiting = Job.objects.filter(state=Job.State.QUEUED).exclude(run_after__gt=now)
    for job in waiting.filter(enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=5)):
        counts["handed_over"] += hand_over(job.pk)
    # Handed over long ago and never started: ask the backend whether it still has it (a Redis restart
    # loses RQ's queues).
    for job in waiting.filter(enqueued_at__lt=now - timedelta(seconds=settings.JOBS_LOST_SECONDS)):
        if not _backend_has(job):
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED, enqueued_at=job.enqueued_at).update(enqueued_at=None)
            counts["handed_over"] += hand_over(job.pk)
    return counts


def _backend_has(job: Job) -> bool:
    try:
        task = import_string(job.task_path)
        backend = task.get_backend()
        if not backend.supports_get_result or not job.backend_id:
            return True
        result = backend.get_result(job.backend_id)
    except Exception:  # noqa: BLE001 - TaskResultDoesNotExist, or a backend that cannot tell
        return False
    return result.status not in ("SUCCESSFUL", "FAILED")


def worker_beat(*, started_at: datetime, backend: str) -> None:
    # Heartbeats are written and judged with the database's clock: workers on several machines, whose clocks may
    # differ, are compared with each other and with the node that asks (queue_health).
    WorkerBeat.objects.update_or_create(
        worker_id=WORKER_ID,
        defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "backend": backend,
                  "started_at": started_at, "seen_at": Now()},
    )
    # Workers gone for a day are forgotten.
    WorkerBeat.objects.filter(seen_at__lt=Now() - timedelta(days=1)).delete()


def queue_health(*, now: datetime | None = None) -> str:
    """``"ok"``, or why the queue is stuck: jobs wait and no worker was seen for JOBS_WORKER_GRACE_SECONDS
    (heartbeats by the database's clock)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.JOBS_WORKER_GRACE_SECONDS)
    waiting = Job.objects.filter(state=Job.State.QUEUED, created_at__lt=now - grace).exclude(run_after__gt=now).count()
    if not waiting or WorkerBeat.objects.filter(seen_at__gte=Now() - grace).exists():
        return "ok"
    minutes = settings.JOBS_WORKER_GRACE_SECONDS // 60
    return "unavailable: " + _("%(waiting)s 个任务在等待，%(minutes)s 分钟内没有工作进程（请启动 manage.py run_worker）") % {
        "waiting": waiting, "minutes": minutes}

