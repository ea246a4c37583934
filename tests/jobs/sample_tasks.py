"""Jobs for the tests of the job machinery (the worker imports them by name, like any task)."""

import os
import time
from pathlib import Path

from jobs.services import JobFailure
from jobs.tasks import job_task


@job_task()
def count_to(job, progress):
    """Counts to payload["n"], one step per payload["pause"] seconds; appends each attempt to payload["log"]."""
    if job.payload.get("log"):
        with Path(job.payload["log"]).open("a") as log:
            log.write(f"{os.getpid()} attempt {job.attempts}\n")
    n = job.payload.get("n", 3)
    for i in range(1, n + 1):
        time.sleep(job.payload.get("pause", 0))
        progress(i, n)
    return {"counted": n, "attempt": job.attempts}


@job_task()
def fail_until(job, progress):
    """Raises until attempt payload["succeed_at"]."""
    if job.attempts < job.payload["succeed_at"]:
        raise RuntimeError(f"attempt {job.attempts} breaks")
    return {"attempt": job.attempts}


@job_task()
def refuse(job, progress):
    raise JobFailure("文件无法读取")
