"""Catalog imports as background jobs: 202 and a job to follow, batches that commit with their counts and
report, resuming after the last committed batch, the report CSV, the librarians' pages."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from library import importers, imports
from library.models import Book, CatalogImport, ImportRecord
from library.tasks import catalog_import_start
from tests.conftest import api_for, make_user
from tests.jobs.worker import run_queued_jobs
from tests.library.test_import_export import BAD_ISBN, MARC21_POSNER, csv_text, marc, row

pytestmark = pytest.mark.django_db


def books_csv(n: int, *, bad: int = 0) -> bytes:
    rows = [row(title=f"书{i:05d}", year="2020", barcodes=f"IMP{i:05d}") for i in range(n)]
    rows += [row(isbn=BAD_ISBN, title=f"坏书{i}") for i in range(bad)]
    return csv_text(*rows).encode()


def post(client, data: bytes, name: str = "books.csv", **fields):
    return client.upload("/api/v1/imports", {"file": SimpleUploadedFile(name, data, "text/csv")}, data=fields)


def test_an_import_is_accepted_at_once_and_queued(librarian_api, librarian):
    response = post(librarian_api, books_csv(3))

    body = response.json()
    catalog_import = CatalogImport.objects.get()
    assert (response.status_code, body) == (202, {"id": catalog_import.pk, "url": f"/api/v1/imports/{catalog_import.pk}",
                                                  "state": "queued"})
    assert (catalog_import.job.key, catalog_import.job.created_by, catalog_import.file.name.startswith("imports/")) == (
        f"catalog_import:{catalog_import.pk}", librarian, True)
    status = librarian_api.get(body["url"]).json()
    assert (status["state"], status["records_done"], status["records_total"], Book.objects.count()) == ("queued", 0, None, 0)


def test_the_job_imports_in_batches_and_reports_progress_and_counts(librarian_api, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 2)
    seen = []
    real_import_items = importers.import_items

    def watched(items, *, location, **options):
        seen.append(CatalogImport.objects.get().position)  # the batch's claim is in its own transaction
        return real_import_items(items, location=location, **options)

    monkeypatch.setattr(importers, "import_items", watched)
    url = post(librarian_api, books_csv(4, bad=1)).json()["url"]

    [job] = run_queued_jobs()

    status = librarian_api.get(url).json()
    assert seen == [2, 4, 5]
    assert (job.state, job.progress_done, job.progress_total) == ("done", 5, 5)
    assert {k: status[k] for k in ("state", "format", "records_done", "records_total", "percent", "created", "updated",
                                   "unchanged", "failed")} == {
        "state": "done", "format": "csv", "records_done": 5, "records_total": 5, "percent": 100, "created": 4,
        "updated": 0, "unchanged": 0, "failed": 1}
    assert status["errors"] == [{"line": 6, "record": None,
                                 "reason": f"ISBN 校验位错误：{BAD_ISBN}"}]
    assert (Book.objects.count(), CatalogImport.objects.get().file.name) == (4, "")


def test_an_import_started_in_english_writes_its_report_in_english(librarian_api):
    """The job runs in the language of the request that uploaded the file; its stored reasons keep it.  The
    report's header and outcome words follow the language of whoever downloads it."""
    en = {"Accept-Language": "en"}
    upload = librarian_api.upload("/api/v1/imports", {"file": SimpleUploadedFile("books.csv", books_csv(1, bad=1),
                                                                                 "text/csv")}, headers=en)
    url = upload.json()["url"]
    run_queued_jobs()

    status = librarian_api.get(url, headers=en).json()
    english = b"".join(librarian_api.get(status["report_url"], headers=en).streaming_content).decode()
    chinese = b"".join(librarian_api.get(status["report_url"]).streaming_content).decode()

    assert status["errors"] == [{"line": 3, "record": None, "reason": f"Bad ISBN checksum: {BAD_ISBN}"}]
    book = str(Book.objects.get().pk)
    assert list(csv.reader(io.StringIO(english.removeprefix("\ufeff")))) == [
        ["No.", "Line", "Record", "Control number", "ISBN", "Title", "Result", "Reason", "Book id",
         "Differing fields (current → incoming)", "Decision"],
        ["1", "2", "", "", "", "书00000", "Created (created)", "", book, "", ""],
        ["2", "3", "", "", BAD_ISBN, "", "Failed (failed)", f"Bad ISBN checksum: {BAD_ISBN}", "", "", ""],
    ]
    assert list(csv.reader(io.StringIO(chinese.removeprefix("\ufeff"))))[0] == [
        "序号", "行号", "记录号", "控制号", "ISBN", "题名", "结果", "原因", "书目 id", "不一致的字段（现有 → 导入）", "决定"]


def test_status_lists_the_first_twenty_errors_and_the_report_all(librarian_api):
    url = post(librarian_api, books_csv(1, bad=25)).json()["url"]
    run_queued_jobs()

    status = librarian_api.get(url).json()
    report = librarian_api.get(status["report_url"])

    text = b"".join(report.streaming_content).decode()
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert (status["failed"], len(status["errors"]), [e["line"] for e in status["errors"]][:2]) == (25, 20, [3, 4])
    assert (report.status_code, report["Content-Type"], text[0]) == (200, "text/csv; charset=utf-8", "\ufeff")
    assert lines[0] == ["序号", "行号", "记录号", "控制号", "ISBN", "题名", "结果", "原因", "书目 id", "不一致的字段（现有 → 导入）", "决定"]
    assert lines[1] == ["1", "2", "", "", "", "书00000", "新增 (created)", "", str(Book.objects.get().pk), "", ""]
    assert lines[2] == ["2", "3", "", "", BAD_ISBN, "", "失败 (failed)", f"ISBN 校验位错误：{BAD_ISBN}", "", "", ""]
    assert len(lines) == 1 + 26


def test_the_report_neutralizes_formulas(librarian_api):
    data = csv_text(row(isbn="=HYPERLINK(1)", title="=cmd|' /C calc'!A0")).encode()
    url = post(librarian_api, data).json()["url"]
    run_queued_jobs()

    text = b"".join(librarian_api.get(f"{url}/report").streaming_content).decode()

    cells = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1]
    assert cells[4] == "'=HYPERLINK(1)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_a_killed_import_resumes_after_the_last_committed_batch(librarian, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 3)
    catalog_import = catalog_import_start(data=books_csv(7, bad=1), filename="a.csv", format=None, location=None,
                                          started_by=librarian)

    def killed_after_the_first_batch(done, total):
        if done:
            raise KeyboardInterrupt  # as sudden as a SIGKILL for what is committed: the batch is

    with pytest.raises(KeyboardInterrupt):
        imports.catalog_import_run(catalog_import_id=catalog_import.pk, progress=killed_after_the_first_batch)
    halfway = CatalogImport.objects.get()
    assert (halfway.position, halfway.created, ImportRecord.objects.count(), Book.objects.count()) == (3, 3, 3, 3)

    summary = imports.catalog_import_run(catalog_import_id=catalog_import.pk, progress=lambda done, total: None)

    assert summary == {"import_id": catalog_import.pk, "format": "csv", "total": 8, "dry_run": False, "created": 7,
                       "updated": 0, "unchanged": 0, "conflicts": 0, "failed": 1}
    assert list(ImportRecord.objects.order_by("position").values_list("position", flat=True)) == list(range(1, 9))
    assert Book.objects.count() == 7
    # Once more, as a job handed over twice: nothing is read or written again.
    assert imports.catalog_import_run(catalog_import_id=catalog_import.pk, progress=None) == summary


def test_a_long_import_makes_way_for_jobs_queued_behind_it_and_then_goes_on(librarian, judge, monkeypatch, settings):
    """Attack round 8: a 60,000-row import held the only worker for seven minutes; six judges' uploads queued
    behind it waited all that time.  Past JOBS_SLICE_SECONDS, after a batch, it is queued again behind them."""
    from library import services as library_services
    from library import tasks
    from tests.library.files import make_pdf

    monkeypatch.setattr(importers, "BATCH_SIZE", 3)
    settings.JOBS_SLICE_SECONDS = 0
    catalog_import_start(data=books_csv(7), filename="a.csv", format=None, location=None,
                         started_by=librarian)
    paper = library_services.paper_create(title="担保物权研究", created_by=judge)
    tasks.paper_upload_file(paper=paper, data=make_pdf("guarantee"), filename="p.pdf", uploaded_by=judge)

    ran = run_queued_jobs()

    order = [(job.task_path.rsplit(".", 1)[-1], job.state) for job in ran]
    # The import did one batch, made way for the extraction, then went on to the end (a batch at a time only
    # while others wait).
    assert order == [("import_catalog_file", "queued"), ("extract_paper_text", "done"), ("import_catalog_file", "done")]
    job = Job.objects.get(task_path="library.tasks.import_catalog_file")
    assert (job.attempts, job.summary["created"], Book.objects.count()) == (1, 7, 7)
    assert list(ImportRecord.objects.order_by("position").values_list("position", flat=True)) == list(range(1, 8))


def test_a_second_run_that_finds_its_batch_committed_stops_without_writing(librarian):
    catalog_import = catalog_import_start(data=books_csv(2), filename="a.csv", format=None, location=None,
                                          started_by=librarian)
    CatalogImport.objects.filter(pk=catalog_import.pk).update(total=2, position=0)

    def other_run_committed(done, total):
        CatalogImport.objects.filter(pk=catalog_import.pk).update(position=2)

    with pytest.raises(imports.ImportTakenOver):
        imports.catalog_import_run(catalog_import_id=catalog_import.pk, progress=other_run_committed)
    assert (Book.objects.count(), ImportRecord.objects.count()) == (0, 0)


def test_an_unreadable_file_fails_the_job_with_a_readable_reason(librarian_api):
    url = post(librarian_api, "作者,出版社\n王,法律出版社\n".encode()).json()["url"]

    [job] = run_queued_jobs()

    status = librarian_api.get(url).json()
    assert (job.state, job.attempts, status["state"]) == ("failed", 1, "failed")
    assert status["error"].startswith("缺少 title（题名）列")


@pytest.mark.parametrize(("who", "code"), [("anon_api", 401), ("judge_api", 403), ("organizer_api", 403)])
def test_only_librarians_start_or_follow_imports(request, librarian, who, code):
    catalog_import = catalog_import_start(data=books_csv(1), filename="a.csv", format=None, location=None,
                                          started_by=librarian)
    client = request.getfixturevalue(who)

    responses = [post(client, books_csv(1)), client.get(f"/api/v1/imports/{catalog_import.pk}"),
                 client.get(f"/api/v1/imports/{catalog_import.pk}/report")]

    assert [r.status_code for r in responses] == [code, code, code]
    assert Job.objects.count() == 1


def test_another_librarian_may_follow_an_import(librarian):
    catalog_import = catalog_import_start(data=books_csv(1), filename="a.csv", format=None, location=None,
                                          started_by=librarian)
    colleague = api_for(make_user("librarian2", "librarian"))

    status = colleague.get(f"/api/v1/imports/{catalog_import.pk}").json()

    assert (status["id"], status["created_by"], status["state"]) == (catalog_import.pk, "librarian1", "queued")


def test_an_unknown_import_is_404(librarian_api):
    assert librarian_api.get("/api/v1/imports/4242").json()["detail"] == "导入 4242 不存在"


def test_the_import_page_uploads_and_redirects_to_the_job_page_that_refreshes_until_done(client, librarian):
    client.force_login(librarian)
    form = client.get("/catalog/import")

    response = client.post("/catalog/import", {"file": SimpleUploadedFile("馆藏.csv", books_csv(2, bad=1)),
                                               "format": "csv", "location": "棋盘井法庭"})

    catalog_import = CatalogImport.objects.get()
    assert (form.status_code, response.status_code, response["Location"]) == (
        200, 302, f"/catalog/import/{catalog_import.pk}")
    waiting = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in waiting and 'data-state="queued"' in waiting
    run_queued_jobs()
    done = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in done and 'data-state="done"' in done
    assert "<th>新增</th><td>2</td>" in done and "<th>失败</th><td>1</td>" in done
    assert f"ISBN 校验位错误：{BAD_ISBN}" in done
    # Each record's book by its title (a link) and call number, not by its internal id (routine walk).
    first = Book.objects.get(title="书00000")
    assert f'<a href="/books/{first.pk}">书00000</a>' in done and f"(id {first.pk})" not in done
    assert f'href="/api/v1/imports/{catalog_import.pk}/report"' in done
    # What to do next (routine walk: the page ended at the counts): fix and import again, look, import more.
    assert "重新导入同一文件即可" in done and "在目录中检索导入的书目" in done and "导入另一个文件" in done
    assert set(Book.objects.values_list("copies__location", flat=True)) == {"棋盘井法庭"}
    # The list says how each import ended in words, and that one row failed (not a bare "done", "3 / 3").
    listed = client.get("/catalog/import").content.decode()
    assert "<td>已完成</td><td>3 / 3 · 1 条失败</td>" in listed


def test_the_csv_template_lists_the_columns_and_imports_as_it_is(client, librarian):
    """The import page gave no column list or template (routine walk): its template, imported unchanged, makes the
    example book with its copy, so every header in it is one the importer reads."""
    client.force_login(librarian)
    page = client.get("/catalog/import").content.decode()
    template = client.get("/catalog/import/template.csv")
    assert 'id="csv-columns"' in page and 'href="/catalog/import/template.csv"' in page
    assert (template.status_code, template["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert template.content.decode("utf-8").startswith("\ufeffISBN,题名,副题名,责任者,出版者,出版年")

    client.post("/catalog/import", {"file": SimpleUploadedFile("模板.csv", template.content), "format": "csv"})
    run_queued_jobs()

    book = Book.objects.get()
    assert (book.title, book.isbn, book.year, book.clc, book.subjects) == (
        "民法物权", "9787301048153", 2009, "D923.2", ["物权", "民法"])
    assert [c.name for c in book.contributors.all()] == ["王泽鉴"]
    assert list(book.copies.values_list("barcode", "location")) == [("FG100001", "院本部")]
    assert CatalogImport.objects.get().failed == 0


def test_the_import_page_shows_an_unknown_or_empty_file_again_with_the_reason(client, librarian):
    client.force_login(librarian)

    response = client.post("/catalog/import", {"file": SimpleUploadedFile("空.csv", b" \n"), "format": ""})

    assert (response.status_code, CatalogImport.objects.count()) == (400, 0)
    assert "文件为空" in response.content.decode()


def test_the_import_pages_are_for_librarians(client, judge):
    client.force_login(judge)
    assert [client.get("/catalog/import").status_code, client.get("/catalog/import/1").status_code] == [403, 403]


def test_a_file_past_the_record_limit_fails_with_the_reason_and_imports_nothing(librarian_api, settings):
    """Attack: 300,000 one-word rows took the worker to 450 MB and the database's writes for six minutes;
    50 MB of them would be 25 million records."""
    settings.IMPORT_MAX_RECORDS = 5
    url = post(librarian_api, books_csv(6)).json()["url"]

    [job] = run_queued_jobs()

    status = librarian_api.get(url).json()
    assert (job.state, job.error) == ("failed", "文件超过 5 条记录的上限，请分成几个文件导入")
    assert (status["state"], Book.objects.count()) == ("failed", 0)


def test_a_file_far_past_the_record_limit_is_refused_at_upload(librarian_api, settings):
    settings.IMPORT_MAX_RECORDS = 5
    response = post(librarian_api, books_csv(12))

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "file"
    assert (CatalogImport.objects.count(), Job.objects.count()) == (0, 0)


def test_the_limit_counts_marc_records_too(settings):
    settings.IMPORT_MAX_RECORDS = 2
    three = marc(MARC21_POSNER, MARC21_POSNER, MARC21_POSNER)

    with pytest.raises(importers.InvalidInput) as refused:
        importers.read_file(data=three, format="marc21")
    assert refused.value.code == "too_many_records"
    assert len(importers.read_file(data=three[: three.index(b"\x1d") * 2 + 2], format="marc21").items) == 2


def test_the_job_pauses_between_batches_so_requests_can_write(librarian_api, monkeypatch, settings):
    """SQLite has one writer: back-to-back batch transactions starved the requests' writes until their 20 s
    busy timeout (the attack's 150,000-row import made logins answer 503 for three minutes)."""
    monkeypatch.setattr(importers, "BATCH_SIZE", 2)
    settings.BACKGROUND_WRITE_PAUSE_MS = 40
    events = []
    real_import_items = importers.import_items
    monkeypatch.setattr(importers, "import_items",
                        lambda items, *, location, **options: events.append("batch")
                        or real_import_items(items, location=location, **options))
    monkeypatch.setattr(imports.time, "sleep", lambda seconds: events.append(seconds))
    post(librarian_api, books_csv(5))

    run_queued_jobs()

    assert events == ["batch", 0.04, "batch", 0.04, "batch"]
    assert Book.objects.count() == 5
