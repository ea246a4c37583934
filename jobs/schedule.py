"""Work that runs by the clock, started by the workers themselves (no cron needed on a laptop).

``settings.JOBS_SCHEDULE`` lists entries: ``{"task": "library.tasks.send_daily_notices", "at": "07:30"}``
runs once a day at or after that library time; ``{"task": "…", "every": 3600}`` at most once per period.
Every worker ticks the schedule; the job key (one per day, or one queued per task) makes a tick on a
second worker or node a no-op, so several workers never send a day's notices twice — and the notices
are recorded under unique keys anyway.
"""

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job
from jobs.services import job_enqueue

logger = logging.getLogger(__name__)


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
            if Job.objects.filter(key=key).exists():
                continue
        else:
            key = f"schedule:{task_path}"
            since = now - timedelta(seconds=entry["every"])
            if Job.objects.filter(key=key, created_at__gte=since).exists():
                continue
        task = import_string(task_path)
        job = job_enqueue(task, key=key, payload=entry.get("payload", {}))
        logger.info("scheduled %s (job %s)", task_path, job.pk)
        enqueued.append(job)
    return enqueued
