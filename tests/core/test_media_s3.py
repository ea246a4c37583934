"""Uploads in an S3-compatible object store (``MEDIA_S3_BUCKET``, django-storages), against a local S3 server
that the tests start (moto in server mode, tests/s3.py): every path that stores, reads or removes an upload
goes through Django's storage API, so it works on the store exactly as on disk.

* a paper's PDF: stored in the bucket, its text read by the job, found by search, downloaded by whoever may
  read the paper and by nobody else, its object removed with the paper (and when replaced);
* event materials: stored, downloaded, removed with their row;
* catalogue imports from an uploaded file: the file in the bucket, read by the job, removed when imported; a
  dry run's file kept for its real import, which reads it from the bucket;
* names that lead outside the uploads are refused for reading and deleting; a store that does not answer is
  a 503 naming the problem, not a 500, and nothing is half-written.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from core.media import OutsideMediaRoot, delete_media, open_media
from events import services as event_services
from events.models import Attachment
from jobs.models import Job
from library.models import Book, CatalogImport, Paper
from library.services import paper_create
from search_index import services as search_services
from tests.conftest import api_for, apply_index_outbox
from tests.jobs.worker import run_queued_jobs
from tests.library.files import make_pdf
from tests.library.test_imports import books_csv
from tests.live import free_port
from tests.s3 import Bucket, storage_settings

pytestmark = pytest.mark.django_db

PDF_TEXT = "Hypothecation of movables in rem"


def media_root_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_papers_pdf_lives_in_the_bucket_from_upload_to_deletion(s3_media, settings, librarian, judge,
                                                                  django_capture_on_commit_callbacks):
    search_services.index_rebuild()
    paper = paper_create(title="动产抵押研究", visibility="public")
    pdf = make_pdf(PDF_TEXT)
    librarian_api, judge_api, anon = api_for(librarian), api_for(judge), Client()

    with django_capture_on_commit_callbacks(execute=True):
        uploaded = librarian_api.upload(f"/api/v1/papers/{paper.pk}/file",
                                        {"file": SimpleUploadedFile("抵押.pdf", pdf, "application/pdf")})

    paper.refresh_from_db()
    assert (uploaded.status_code, uploaded.json()["extraction_status"]) == (200, "pending")
    assert s3_media.keys() == [paper.file.name] and paper.file.name.startswith("papers/")
    assert s3_media.get(paper.file.name) == pdf
    assert media_root_files(settings) == []  # nothing on the local disk

    [job] = run_queued_jobs()  # the worker reads the text from the bucket
    paper.refresh_from_db()
    assert (job.state, paper.extraction_status, paper.full_text.strip()) == ("done", "done", PDF_TEXT)

    apply_index_outbox()
    found = anon.get("/api/v1/search", {"q": "hypothecation movables"}).json()
    assert [(item["type"], item["id"]) for item in found["items"]] == [("paper", paper.pk)]

    download = anon.get(f"/api/v1/papers/{paper.pk}/file")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf
    assert (download["Content-Type"], download["X-Content-Type-Options"]) == ("application/pdf", "nosniff")
    assert download["Content-Disposition"].startswith("attachment;")

    assert librarian_api.patch(f"/api/v1/papers/{paper.pk}", {"visibility": "internal"}).status_code == 200
    assert anon.get(f"/api/v1/papers/{paper.pk}/file").status_code == 404
    assert b"".join(judge_api.get(f"/api/v1/papers/{paper.pk}/file").streaming_content) == pdf

    with django_capture_on_commit_callbacks(execute=True):
        assert librarian_api.delete(f"/api/v1/papers/{paper.pk}").status_code == 204
    assert (s3_media.keys(), Paper.objects.count()) == ([], 0)


def test_a_text_file_in_the_bucket_is_served_in_its_own_encoding(s3_media, librarian):
    paper = paper_create(title="执行异议之诉", visibility="public")
    text = "执行异议之诉的审理范围".encode("gb18030")
    api_for(librarian).upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("gbk.txt", text)})

    download = Client().get(f"/api/v1/papers/{paper.pk}/file")

    assert (download.status_code, download["Content-Type"]) == (200, "text/plain; charset=gb18030")
    assert b"".join(download.streaming_content) == text


def test_replacing_a_papers_file_removes_the_old_object_and_a_failed_upload_leaves_none(
        s3_media, librarian, monkeypatch, django_capture_on_commit_callbacks):
    from library import tasks

    paper = paper_create(title="动产抵押研究", visibility="public")
    api = api_for(librarian)
    with django_capture_on_commit_callbacks(execute=True):
        api.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", "第一稿".encode())})
    first = Paper.objects.get(pk=paper.pk).file.name
    with django_capture_on_commit_callbacks(execute=True):
        api.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("b.txt", "第二稿".encode())})
    second = Paper.objects.get(pk=paper.pk).file.name

    def queue_down(**kwargs):
        raise RuntimeError("the queue is unavailable")

    monkeypatch.setattr(tasks, "paper_extract_enqueue", queue_down)
    with pytest.raises(RuntimeError):
        tasks.paper_upload_file(paper=Paper.objects.get(pk=paper.pk), data="第三稿".encode(), filename="c.txt")

    assert first != second
    assert s3_media.keys() == [second] == [Paper.objects.get(pk=paper.pk).file.name]
    assert s3_media.get(second) == "第二稿".encode()


def test_event_materials_live_in_the_bucket_until_their_row_goes(s3_media, organizer,
                                                                  django_capture_on_commit_callbacks):
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    event = event_services.event_create(data=event_services.EventData(
        title="法学研讨会", kind="seminar", start=start, end=start + timedelta(hours=2)), actor=organizer, force=True)
    pdf = make_pdf("Seminar handout")
    api = api_for(organizer)

    created = api.upload(f"/api/v1/events/{event.pk}/attachments", {"file": SimpleUploadedFile("讲义.pdf", pdf)})
    attachment = Attachment.objects.get(pk=created.json()["id"])
    download = Client().get(f"/api/v1/events/{event.pk}/attachments/{attachment.pk}")

    assert created.status_code == 201
    assert s3_media.keys() == [attachment.file.name] and attachment.file.name.startswith("events/")
    assert b"".join(download.streaming_content) == pdf
    assert download["Content-Disposition"] == "attachment; filename*=utf-8''%E8%AE%B2%E4%B9%89.pdf"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/events/{event.pk}/attachments/{attachment.pk}").status_code == 204
    assert s3_media.keys() == []


def test_a_catalogue_import_reads_its_uploaded_file_from_the_bucket_and_removes_it(s3_media, librarian,
                                                                                   django_capture_on_commit_callbacks):
    api = api_for(librarian)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api.upload("/api/v1/imports", {"file": SimpleUploadedFile("books.csv", books_csv(3), "text/csv")})
    catalog_import = CatalogImport.objects.get()
    assert accepted.status_code == 202
    assert s3_media.keys() == [catalog_import.file.name] and catalog_import.file.name.startswith("imports/")

    with django_capture_on_commit_callbacks(execute=True):
        [job] = run_queued_jobs()

    assert (job.state, job.summary["created"], Book.objects.count()) == ("done", 3, 3)
    assert (s3_media.keys(), CatalogImport.objects.get().file.name) == ([], "")


def test_an_import_whose_job_cannot_be_queued_leaves_no_object(s3_media, librarian, monkeypatch):
    from library import tasks

    def queue_down(*args, **kwargs):
        raise RuntimeError("the queue is unavailable")

    monkeypatch.setattr(tasks, "job_enqueue", queue_down)
    with pytest.raises(RuntimeError):
        tasks.catalog_import_start(data=books_csv(2), filename="books.csv", format=None, location=None,
                                   started_by=librarian)

    assert (s3_media.keys(), CatalogImport.objects.count()) == ([], 0)


def test_a_dry_runs_file_stays_in_the_bucket_for_its_real_import(s3_media, librarian,
                                                                 django_capture_on_commit_callbacks):
    api = api_for(librarian)
    with django_capture_on_commit_callbacks(execute=True):
        api.upload("/api/v1/imports", {"file": SimpleUploadedFile("books.csv", books_csv(2), "text/csv")},
                   data={"dry_run": "true"})
        run_queued_jobs()
    dry_run = CatalogImport.objects.get()
    assert (dry_run.finished, Book.objects.count(), s3_media.keys()) == (True, 0, [dry_run.file.name])

    page = Client()
    page.force_login(librarian)
    with django_capture_on_commit_callbacks(execute=True):
        committed = page.post(f"/catalog/import/{dry_run.pk}/commit")
    real = CatalogImport.objects.exclude(pk=dry_run.pk).get()
    assert committed.status_code == 302
    assert s3_media.keys() == [real.file.name] and s3_media.get(real.file.name) == books_csv(2)

    with django_capture_on_commit_callbacks(execute=True):
        run_queued_jobs()
    assert (Book.objects.count(), s3_media.keys()) == (2, [])


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/passwd", "papers/../../outside.txt", "papers/./x.txt"])
def test_a_name_leading_outside_the_uploads_is_never_read(s3_media, librarian, name):
    paper = paper_create(title="动产抵押研究", visibility="public")
    api_for(librarian).upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"inside")})
    Paper.objects.filter(pk=paper.pk).update(file=name)

    with pytest.raises(OutsideMediaRoot):
        open_media(Paper.objects.get(pk=paper.pk).file)
    response = Client().get(f"/api/v1/papers/{paper.pk}/file")
    assert (response.status_code, response.json()["detail"]) == (404, "全文文件缺失")


def test_only_objects_of_their_own_folder_are_deleted(s3_media):
    from django.core.files.storage import default_storage

    for key in ("papers/a.pdf", "events/b.pdf", "imports/c"):
        s3_media.put(key, b"x")

    refused = [delete_media(default_storage, name, folder="papers")
               for name in ("events/b.pdf", "papers/../imports/c", "imports/c", "", "papers/sub/a.pdf")]
    removed = delete_media(default_storage, "papers/a.pdf", folder="papers")

    assert (refused, removed) == ([False] * 5, True)
    assert s3_media.keys() == ["events/b.pdf", "imports/c"]


def test_a_missing_object_is_404_like_a_missing_file(s3_media, librarian):
    paper = paper_create(title="动产抵押研究", visibility="public")
    api_for(librarian).upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"inside")})
    Paper.objects.filter(pk=paper.pk).update(file="papers/0123456789abcdef.txt")

    response = Client().get(f"/api/v1/papers/{paper.pk}/file")

    assert (response.status_code, response.json()["detail"]) == (404, "全文文件缺失")


def test_a_store_that_does_not_answer_is_a_503_and_nothing_changes(s3_endpoint, settings, librarian):
    """Uploads and downloads while the object store is down: 503 with the reason, the paper unchanged, no job
    queued (a botocore exception was a 500)."""
    paper = paper_create(title="动产抵押研究", visibility="public")
    settings.MEDIA_S3_TIMEOUT = 1
    settings.STORAGES = {**settings.STORAGES,
                         "default": storage_settings(Bucket(f"http://127.0.0.1:{free_port()}", "media-gone"))}
    api = api_for(librarian)

    upload = api.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", "全文".encode())})
    unchanged = Paper.objects.get(pk=paper.pk)
    Paper.objects.filter(pk=paper.pk).update(file="papers/0123456789abcdef.txt", file_type="txt")
    download = api.get(f"/api/v1/papers/{paper.pk}/file")

    assert (upload.status_code, upload.json()["detail"], upload["Retry-After"]) == (503, "文件存储暂时不可写，请稍后再试", "60")
    assert (unchanged.file.name, unchanged.file_name, Job.objects.count()) == ("", "", 0)
    assert (download.status_code, download.json()["detail"]) == (503, "文件存储暂时不可用，请稍后再试")


def test_a_missing_bucket_is_a_503_and_keeps_nothing(s3_media, settings, librarian):
    wrong = storage_settings(s3_media)
    wrong["OPTIONS"] = {**wrong["OPTIONS"], "bucket_name": "media-no-such-bucket"}
    settings.STORAGES = {**settings.STORAGES, "default": wrong}
    paper = paper_create(title="动产抵押研究", visibility="public")

    upload = api_for(librarian).upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"x")})

    assert (upload.status_code, upload.json()["code"]) == (503, "unavailable")
    assert not Paper.objects.get(pk=paper.pk).file
