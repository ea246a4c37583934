"""``job_task``: a Tasks API task that runs one ``Job``.

    @job_task(label=_("论文全文提取"))
    def extract_paper_text(job, progress):
        ...                       # the work; progress(done, total) as it goes; return a summary dict

    job_enqueue(extract_paper_text, key=f"paper_extract:{paper.pk}", payload={"paper_id": paper.pk})

The decorated name is the Tasks API task (its module path is the work's), so the database and RQ
backends find it by name; its only argument is the job's id.
"""

from collections.abc import Callable

from django.utils.module_loading import import_string
from django_tasks import task

from jobs.services import job_execute

#: What people call each kind of job (the admin's job list), by task path; filled as tasks are defined.
LABELS: dict[str, str] = {}


def label_of(task_path: str) -> str:
    """The human name of the jobs of ``task_path`` (its path when it has none)."""
    if task_path not in LABELS:
        try:
            import_string(task_path)  # defines the task, and so its label
        except ImportError:
            pass
    return str(LABELS.get(task_path, task_path))


def job_task(*, label: str = "", **task_options) -> Callable:
    def decorate(work: Callable):
        if label:
            LABELS[f"{work.__module__}.{work.__name__}"] = label
        def run(job_id: int) -> None:
            job_execute(job_id, work)

        run.__module__ = work.__module__
        run.__name__ = work.__name__
        run.__qualname__ = work.__qualname__
        run.__doc__ = work.__doc__
        return task(**task_options)(run)

    return decorate
