"""``job_task``: a Tasks API task that runs one ``Job``.

    @job_task()
    def extract_paper_text(job, progress):
        ...                       # the work; progress(done, total) as it goes; return a summary dict

    job_enqueue(extract_paper_text, key=f"paper_extract:{paper.pk}", payload={"paper_id": paper.pk})

The decorated name is the Tasks API task (its module path is the work's), so the database and RQ
backends find it by name; its only argument is the job's id.
"""

from collections.abc import Callable

from django_tasks import task

from jobs.services import job_execute


def job_task(**task_options) -> Callable:
    def decorate(work: Callable):
        def run(job_id: int) -> None:
            job_execute(job_id, work)

        run.__module__ = work.__module__
        run.__name__ = work.__name__
        run.__qualname__ = work.__qualname__
        run.__doc__ = work.__doc__
        return task(**task_options)(run)

    return decorate
