"""The library's background jobs run in one process: reading a paper's text after its upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from library import services, tasks
from library.fulltext import Extraction
from library.models import Paper
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper(judge):
    return services.paper_create(title="关于担保物权实现程序问题的研究", visibility="public", created_by=judge)


def test_an_upload_answers_pending_and_queues_one_job_per_paper(judge_api, judge, paper):
    url = f"/api/v1/papers/{paper.pk}/file"

    first = judge_api.upload(url, {"file": SimpleUploadedFile("a.txt", "第一稿".encode())})
    second = judge_api.upload(url, {"file": SimpleUploadedFile("b.txt", "第二稿".encode())})

    assert [r.json()["extraction_status"] for r in (first, second)] == ["pending", "pending"]
    job = Job.objects.get()
    assert (job.key, job.payload, job.state, job.created_by) == (f"paper_extract:{paper.pk}", {"paper_id": paper.pk},
                                                                 "queued", judge)
    [ran] = run_queued_jobs()
    paper.refresh_from_db()
    assert (ran.state, paper.extraction_status, paper.full_text, paper.file_name) == ("done", "done", "第二稿", "b.txt")


def test_the_paper_page_says_the_text_is_pending_until_the_job_ran(client, judge_api, paper):
    judge_api.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", "全文".encode())})
    before = client.get(f"/papers/{paper.pk}").content.decode()

    run_queued_jobs()

    after = client.get(f"/papers/{paper.pk}").content.decode()
    assert ('id="extraction-pending"' in before, 'id="extraction-pending"' in after) == (True, False)
    # The page refreshes itself while the worker reads the text, then says it is searchable.
    assert ('http-equiv="refresh"' in before, 'http-equiv="refresh"' in after) == (True, False)
    assert 'id="extraction-done"' in after
    # A text file can be read on the page's 在线阅读 as well as downloaded.
    assert f'href="/api/v1/papers/{paper.pk}/file?view=true" id="read-online"' in after


def test_a_file_whose_text_cannot_be_read_fails_its_job_with_the_reason(paper):
    """The routine walk: a broken PDF's job showed 已完成 in the jobs list while its paper could not be
    searched; a librarian watching the jobs now sees why."""
    tasks.paper_upload_file(paper=paper, data=b"%PDF-1.4\n% broken, no objects\n%%EOF", filename="broken.pdf")

    [ran] = run_queued_jobs()

    paper.refresh_from_db()
    assert paper.extraction_status == "failed" and paper.file
    assert (ran.state, ran.attempts, ran.error) == ("failed", 1, f"调研成果 #{paper.pk}：{paper.extraction_error}")


def test_running_the_job_again_for_a_paper_already_read_changes_nothing(paper, monkeypatch):
    tasks.paper_upload_file(paper=paper, data="全文".encode(), filename="a.txt")
    run_queued_jobs()
    done = Paper.objects.get(pk=paper.pk)
    monkeypatch.setattr(services, "extract_text", None)  # the parser must not run again

    tasks.paper_extract_enqueue(paper=paper)
    [again] = run_queued_jobs()

    paper.refresh_from_db()
    assert (again.state, again.summary) == ("done", {"extraction": "done", "ran": False})
    assert (paper.full_text, paper.updated_at) == ("全文", done.updated_at)


def test_a_file_replaced_while_the_parser_ran_is_read_by_the_next_job(paper, monkeypatch):
    tasks.paper_upload_file(paper=paper, data="旧稿".encode(), filename="old.txt")
    real_extract = services.extract_text

    def replaced_meanwhile(data, file_type):
        monkeypatch.setattr(services, "extract_text", real_extract)
        tasks.paper_upload_file(paper=Paper.objects.get(pk=paper.pk), data="新稿".encode(), filename="new.txt")
        return Extraction(text="旧稿")

    monkeypatch.setattr(services, "extract_text", replaced_meanwhile)
    first, second = run_queued_jobs()

    paper.refresh_from_db()
    assert (first.state, second.state) == ("done", "done")
    assert (paper.full_text, paper.file_name, paper.extraction_status) == ("新稿", "new.txt", "done")


def test_a_paper_deleted_before_its_job_ran_ends_the_job_quietly(paper):
    tasks.paper_upload_file(paper=paper, data="全文".encode(), filename="a.txt")
    services.paper_delete(paper=paper)

    [job] = run_queued_jobs()

    assert (job.state, job.summary) == ("done", {"extraction": "gone", "ran": False})
