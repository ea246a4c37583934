"""Running queued jobs in the test process, the way a worker does: each job's Tasks API task called with
the job's id (claim, work, outcome), for tests whose assertions follow work a request only queued."""

from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job


def run_queued_jobs(**filters) -> list[Job]:
    """Run every queued job that is due (``filters`` narrow them: ``key="notices.send"``), then any they
    queued in turn; returns the jobs run, as they ended."""
    ran: list[Job] = []
    for _ in range(10):  # a job may queue another (a notice recorded by the daily round queues its delivery)
        due = Job.objects.filter(state=Job.State.QUEUED, **filters).exclude(run_after__gt=timezone.now())
        batch = list(due.order_by("id"))
        if not batch:
            break
        for job in batch:
            import_string(job.task_path).call(job.pk)
            job.refresh_from_db()
            ran.append(job)
    return ran
