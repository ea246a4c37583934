"""The library's jobs run by real worker processes (``manage.py run_worker``) on the test database, and
survive a worker killed with SIGKILL in the middle: another worker runs them again, to the same end."""

import pytest
from django.db import transaction

from jobs.models import Job
from library import services, tasks
from tests.jobs import test_worker_live
from tests.jobs.test_worker_live import wait_for
from tests.library.files import make_shared_stream_pdf

# The live-worker fixtures (each test runs with the database backend, and with RQ when Redis answers).
backend = test_worker_live.backend
workers = test_worker_live.workers

#: The parser's limits, raised so that the slow PDF below is read to the end (about 5 s) rather than refused.
# The second attempt parses for tens of seconds on a loaded machine: a heartbeat (every second) late by more than
# JOBS_STALE_SECONDS would have the second worker's own recovery queue it a third time, so this one allows 8.
SLOW_PARSER = {"PAPER_EXTRACT_WALL_SECONDS": "120", "PAPER_EXTRACT_CPU_SECONDS": "120",
               "PAPER_EXTRACT_MAX_DECODED_BYTES": str(10**9), "JOBS_STALE_SECONDS": "8"}


@pytest.mark.django_db(transaction=True)
def test_an_extraction_whose_worker_is_killed_is_run_again_and_ends_done(workers, judge):
    paper = services.paper_create(title="关于担保物权实现程序问题的研究", visibility="public", created_by=judge)
    data = make_shared_stream_pdf(30, stream_bytes=64 * 1024)
    with transaction.atomic():
        tasks.paper_upload_file(paper=paper, data=data, filename="课题.pdf", uploaded_by=judge)
    first = workers("first", **SLOW_PARSER)
    # Killed while the sandboxed parser (the worker's child process) is reading the file.
    # (The workers also run the scheduled jobs, such as the hourly refresh of listed occurrences.)
    extraction = Job.objects.filter(task_path="library.tasks.extract_paper_text")
    wait_for(lambda: extraction.filter(state="running").exists() and first.descendants(), timeout=60,
             what="the parser to start", logs=[first.log])

    first.kill()
    paper.refresh_from_db()
    assert (paper.extraction_status, paper.full_text) == ("pending", "")
    second = workers("second", **SLOW_PARSER)
    job = wait_for(lambda: extraction.filter(state="done").first(), timeout=120,
                   what="the extraction to be recovered and finished", logs=[first.log, second.log])

    paper.refresh_from_db()
    assert (job.attempts, job.summary) == (2, {"extraction": "done", "ran": True})
    assert (paper.extraction_status, paper.extraction_error, paper.full_text.split()) == ("done", "", ["shared"] * 30)


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_is_killed_resumes_and_ends_as_a_clean_run_would(workers, librarian):
    from django.db.models import Count

    from library.models import Book, CatalogImport, ImportRecord
    from tests.library.test_imports import books_csv

    # Batches of 50 (IMPORT_BATCH_SIZE): the first worker is killed after two or more have committed, with
    # several still to come.
    n, batches = 500, {"JOBS_STALE_SECONDS": "3", "IMPORT_BATCH_SIZE": "50"}
    with transaction.atomic():
        catalog_import = tasks.catalog_import_start(data=books_csv(n, bad=3), filename="big.csv", format=None,
                                                    location=None, started_by=librarian)
    first = workers("first", **batches)
    wait_for(lambda: CatalogImport.objects.filter(pk=catalog_import.pk, position__gte=100).exists(), timeout=120,
             what="some batches to commit", logs=[first.log])

    first.kill()
    killed_at = CatalogImport.objects.get(pk=catalog_import.pk)
    assert (ImportRecord.objects.count(), Book.objects.count()) == (killed_at.position, killed_at.created)
    assert killed_at.position % 50 == 0  # whole batches: none half written
    second = workers("second", **batches)
    job = wait_for(lambda: Job.objects.filter(pk=catalog_import.job_id, state="done").first(), timeout=240,
                   what="the import to be recovered and finished", logs=[first.log, second.log])

    done = CatalogImport.objects.get(pk=catalog_import.pk)
    # At least the killed attempt and the one that finished (a busy SQLite may make one more retry).
    assert (job.attempts >= 2, 0 < killed_at.position < n) == (True, True), job.error_detail
    assert (done.total, done.position, done.created, done.updated, done.unchanged, done.failed) == (n + 3, n + 3, n, 0, 0, 3)
    assert (Book.objects.count(), ImportRecord.objects.count()) == (n, n + 3)
    assert not Book.objects.values("title").annotate(c=Count("id")).filter(c__gt=1).exists()
