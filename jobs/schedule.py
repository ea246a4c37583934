"""Work that runs by the clock, started by the workers themselves (no cron needed on a laptop).

``settings.JOBS_SCHEDULE`` lists entries: ``{"task": "library.tasks.send_daily_notices", "at": "07:30"}``
runs once a day at or after that library time; ``{"task": "…", "every": 3600}`` at most once per period.
Every worker, on every node, ticks the schedule; each entry is looked at and enqueued in one transaction
that holds the schedule's lock (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions take the one
write lock at BEGIN), so a tick on a second worker or node sees the job the first one enqueued, whatever
became of it meanwhile: a day's job runs once a day and an "every" job once per period across all the
workers, however many nodes run them.  Without the lock, a tick that looked before the first one committed
and enqueued after a fast worker had already started that job queued it again (the job key only keeps one
*queued* job per key).  The notices are recorded under unique keys anyway.
"""

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job
from jobs.services import job_enqueue

logger = logging.getLogger(__name__)

#: The PostgreSQL advisory lock that ticks take in turn ("fgsc").
SCHEDULE_LOCK_KEY = 0x66677363


def _lock_schedule() -> None:
    """Inside a transaction: wait for any other tick's transaction to end (PostgreSQL; on SQLite the
    transaction's BEGIN IMMEDIATE already did)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULE_LOCK_KEY])


def schedule_tick(*, now: datetime | None = None) -> list[Job]:
    """Enqueue every scheduled job that is due; returns the jobs enqueued."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    enqueued = []
    for entry in settings.JOBS_SCHEDULE:
        task_path = entry["task"]
        if "at" in entry:
            hour, minute = (int(x) for x in entry["at"].split(":"))
            if local.time() < time(hour, minute):
                continue
            key = f"schedule:{task_path}:{local.date().isoformat()}"
            done = Job.objects.filter(key=key)
        else:
            key = f"schedule:{task_path}"
            done = Job.objects.filter(key=key, created_at__gte=now - timedelta(seconds=entry["every"]))
        if done.exists():  # the common case, answered without the lock
            continue
        with transaction.atomic():
            _lock_schedule()
            if done.exists():  # another worker enqueued it while this one waited
                continue
            job = job_enqueue(import_string(task_path), key=key, payload=entry.get("payload", {}))
        logger.info("scheduled %s (job %s)", task_path, job.pk)
        enqueued.append(job)
    return enqueued
