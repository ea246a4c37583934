"""Running queued jobs inside a test, the way a worker would: the backend's task, called with the job's id."""

from django.utils.module_loading import import_string

from jobs.models import Job


def run_queued_jobs(*, kind: str | None = None) -> list[Job]:
    """Run every queued job (oldest first, including jobs the ones run enqueue); returns them as they ended."""
    ran = []
    while True:
        queued = Job.objects.filter(state=Job.State.QUEUED).order_by("id")
        if kind:
            queued = queued.filter(kind=kind)
        job = queued.exclude(pk__in=[j.pk for j in ran]).first()
        if job is None:
            return [Job.objects.get(pk=j.pk) for j in ran]
        import_string(job.task_path).call(job.pk)
        ran.append(job)
