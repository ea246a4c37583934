"""The library's background jobs, and the two requests that ask for them.

Reading a paper's text runs the sandboxed parser (seconds, up to ``PAPER_EXTRACT_WALL_SECONDS``) and a
catalog import writes thousands of books: neither runs inside a request.  The request stores the file,
writes its rows and enqueues (``paper_upload_file``, ``catalog_import_start``); a worker runs the job.
"""

import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.media import delete_media
from jobs.services import JobFailure, job_enqueue, others_waiting
from jobs.tasks import job_task
from library import imports, services
from library.models import CatalogImport, Paper


@job_task(label=_("论文全文提取"))
def extract_paper_text(job, progress):
    """Read the text of paper ``payload["paper_id"]``'s current file, if it still waits for it.

    Running it twice is harmless: a paper whose text is no longer pending (done, failed, file removed)
    is left alone, and a file replaced while the parser ran is not written over (``paper_extract_text``).
    """
    paper = Paper.objects.filter(pk=job.payload["paper_id"]).first()
    if paper is None or not paper.file or paper.extraction_status != Paper.ExtractionStatus.PENDING:
        return {"extraction": paper.extraction_status if paper else "gone", "ran": False}
    paper = services.paper_extract_text(paper=paper)
    if paper.extraction_status == Paper.ExtractionStatus.FAILED:
        # The file is kept and the paper says why; the job says so too, so a librarian watching the jobs
        # sees that this paper cannot be searched by its full text (retrying would not help).
        raise JobFailure(_("调研成果 #%(id)s：%(error)s") % {"id": paper.pk, "error": paper.extraction_error})
    return {"extraction": paper.extraction_status, "ran": True}


def paper_extract_enqueue(*, paper: Paper, requested_by: AbstractBaseUser | None = None):
    """Queue the reading of ``paper``'s text; a job already waiting for the same paper does it."""
    return job_enqueue(extract_paper_text, key=f"paper_extract:{paper.pk}", payload={"paper_id": paper.pk},
                       created_by=requested_by)


def paper_upload_file(*, paper: Paper, data: bytes, filename: str,
                      uploaded_by: AbstractBaseUser | None = None) -> Paper:
    """Check and store a paper's full-text file (``paper_store_file``) and queue the reading of its text.

    Returns at once with ``extraction_status`` pending; the job sets done or failed.  For requests; a
    command may call ``services.paper_attach_file``, which reads the text before returning.
    """
    stored = None
    try:
        with transaction.atomic():
            services.paper_store_file(paper=paper, data=data, filename=filename)
            stored = paper.file.name
            paper_extract_enqueue(paper=paper, requested_by=uploaded_by)
    except BaseException:
        if stored:  # stored, then the transaction failed: the file is no paper's
            services.paper_file_discard(name=stored)
        raise
    return paper


@job_task(label=_("书目导入"))
def import_catalog_file(job, progress):
    """Import the catalog file of ``CatalogImport`` ``payload["import_id"]``, resuming where a killed run stopped."""
    started = time.monotonic()

    def make_way() -> bool:
        # After JOBS_SLICE_SECONDS of importing, queued jobs (a judge's upload, the notices) go first.
        return time.monotonic() - started > settings.JOBS_SLICE_SECONDS and others_waiting(job)

    return imports.catalog_import_run(catalog_import_id=job.payload["import_id"], progress=progress,
                                      make_way=make_way)


@job_task(label=_("清理过期试导入文件"))
def discard_stale_dry_runs(job, progress) -> dict:
    """The files of dry runs older than IMPORT_DRY_RUN_KEEP_DAYS are deleted (settings.JOBS_SCHEDULE)."""
    return {"discarded": imports.dry_runs_discard_stale()}


def catalog_import_start(*, data: bytes, filename: str, format: str | None, location: str | None,
                         started_by: AbstractBaseUser | None, dry_run: bool = False) -> CatalogImport:
    """Store a catalog file and queue its import; returns at once (``imports.catalog_import_create`` checks).

    The job runs in the language active now (the request's): the report it writes (each failed row's
    reason) is stored text, in the language of the librarian who started the import."""
    catalog_import = None
    try:
        with transaction.atomic():
            catalog_import = imports.catalog_import_create(data=data, filename=filename, format=format,
                                                           location=location, created_by=started_by, dry_run=dry_run)
            catalog_import.job = job_enqueue(import_catalog_file, key=f"catalog_import:{catalog_import.pk}",
                                             payload={"import_id": catalog_import.pk,
                                                      "language": translation.get_language()},
                                             created_by=started_by)
            catalog_import.save(update_fields=["job"])
    except BaseException:
        if catalog_import is not None:  # stored, then the transaction failed: the file is no import's
            delete_media(catalog_import.file.storage, catalog_import.file.name, folder="imports")
        raise
    return catalog_import


def catalog_import_commit(*, dry_run: CatalogImport, started_by: AbstractBaseUser | None) -> CatalogImport:
    """Start the real import of a finished dry run's file (same format and location); the dry run's stored
    copy of the file is then deleted.  Raises ``DomainError`` when ``dry_run`` is not a finished dry run, was
    already imported for real (``already_committed``) or its file is gone.

    Of two commits sent at once exactly one starts an import (attack round 18): the dry run's row is locked
    (PostgreSQL; SQLite's transactions are IMMEDIATE, one writer at a time) and claimed by a conditional
    update of its file in the transaction that starts the import, which names it in ``committed_as``."""
    with transaction.atomic():
        locked = CatalogImport.objects.select_for_update().filter(pk=dry_run.pk).first()
        if locked is None or locked.committed_as_id is not None:
            raise DomainError("already_committed", _("此试导入已经正式导入过（导入 #%(id)s），不能再次导入") % {
                "id": locked.committed_as_id if locked else "—"})
        data = imports.dry_run_file(catalog_import=locked)
        stored, storage = locked.file.name, locked.file.storage
        if not CatalogImport.objects.filter(pk=locked.pk, committed_as__isnull=True, file=stored).update(file=""):
            raise DomainError("already_committed", _("此试导入刚刚已由他人正式导入，不能再次导入"))
        started = catalog_import_start(data=data, filename=locked.file_name, format=locked.format or None,
                                       location=locked.location or None, started_by=started_by)
        CatalogImport.objects.filter(pk=locked.pk).update(committed_as=started)
        transaction.on_commit(lambda: delete_media(storage, stored, folder="imports"))
    return started
