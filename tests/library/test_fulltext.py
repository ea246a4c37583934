"""Full-text extraction runs in a background job, in a sandboxed child process: hostile files are kept,
fail with a reason, and never tie up the web process."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.services import paper_create
from tests.jobs.worker import run_queued_jobs
from tests.library.files import make_docx, make_docx_with_xml, make_pdf, make_shared_stream_pdf

pytestmark = pytest.mark.django_db

FAILED = "failed"


@pytest.fixture
def paper(judge):
    return paper_create(title="关于担保物权实现程序问题的研究", visibility="public", created_by=judge)


def upload(client, paper, name, data):
    """Upload (answered at once, text pending), run the extraction job as a worker would; the paper after it
    and the time both took."""
    started = time.monotonic()
    response = client.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile(name, data)})
    assert (response.status_code, response.json()["extraction_status"]) == (200, "pending")
    run_queued_jobs()
    return client.get(f"/api/v1/papers/{paper.pk}"), time.monotonic() - started


def assert_kept(client, paper, data, reason):
    paper.refresh_from_db()
    assert (paper.extraction_status, paper.extraction_error, paper.full_text) == (FAILED, reason, "")
    download = client.get(f"/api/v1/papers/{paper.pk}/file")
    assert b"".join(download.streaming_content) == data


def test_pdf_reusing_one_stream_on_every_page_hits_the_decoded_limit(settings, judge_api, paper):
    """Counts the shared stream once per page: each use is under the limit, 3,000 uses are not."""
    settings.PAPER_EXTRACT_MAX_DECODED_BYTES = 256 * 1024
    data = make_shared_stream_pdf(3000, stream_bytes=16 * 1024)
    assert len(data) < 512 * 1024

    response, elapsed = upload(judge_api, paper, "课题.pdf", data)

    assert response.status_code == 200
    reason = "PDF 内容超过解码上限 0.25 MB"
    assert (response.json()["extraction_status"], response.json()["extraction_error"]) == ("failed", reason)
    assert elapsed < 10
    assert_kept(judge_api, paper, data, reason)


def test_the_probe_pdf_is_stopped_by_the_wall_clock(settings, judge_api, paper):
    """The reported file (3,000 pages sharing a 1 MiB stream) is killed at the wall-clock limit."""
    settings.PAPER_EXTRACT_WALL_SECONDS = 1
    data = make_shared_stream_pdf(3000)

    response, elapsed = upload(judge_api, paper, "probe.pdf", data)

    assert response.status_code == 200
    assert elapsed < 5
    assert_kept(judge_api, paper, data, "提取超时，超过 1 秒")


def test_cpu_limit_ends_the_child(settings, judge_api, paper):
    settings.PAPER_EXTRACT_CPU_SECONDS = 1
    settings.PAPER_EXTRACT_WALL_SECONDS = 30
    data = make_shared_stream_pdf(3000)

    response, elapsed = upload(judge_api, paper, "probe.pdf", data)

    assert response.status_code == 200
    assert elapsed < 10
    assert_kept(judge_api, paper, data, "提取超过 CPU 时间上限 1 秒")


def test_memory_limit_ends_the_child(settings, judge_api, paper):
    settings.PAPER_EXTRACT_MEMORY_BYTES = 48 * 1024 * 1024
    data = make_shared_stream_pdf(1, stream_bytes=4 * 1024 * 1024)

    response, _ = upload(judge_api, paper, "big.pdf", data)

    assert response.status_code == 200
    assert_kept(judge_api, paper, data, "提取内存超限 48 MB")


def test_docx_with_oversized_xml_is_refused_before_parsing(settings, judge_api, paper):
    settings.PAPER_EXTRACT_MAX_DOCX_XML_BYTES = 1024 * 1024
    data = make_docx_with_xml(2 * 1024 * 1024)
    assert len(data) < 100 * 1024

    response, elapsed = upload(judge_api, paper, "课题.docx", data)

    assert response.status_code == 200
    assert elapsed < 5
    assert_kept(judge_api, paper, data, "DOCX 文档 XML 超过 1 MB")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n garbage garbage", "无法读取 PDF 文件，文件可能已损坏"),
        ("pages.pdf", make_shared_stream_pdf(4, stream_bytes=64), "PDF 超过 3 页"),
    ],
)
def test_unreadable_files_are_kept_with_the_reason(settings, judge_api, paper, name, data, reason):
    settings.PAPER_EXTRACT_MAX_PAGES = 3

    response, _ = upload(judge_api, paper, name, data)

    assert response.status_code == 200
    assert (response.json()["has_file"], response.json()["file_type"]) == (True, "pdf")
    assert_kept(judge_api, paper, data, reason)


@pytest.mark.parametrize(
    ("name", "data", "text"),
    [
        ("课题.docx", make_docx("第一章 担保物权", "第二章 实现程序"), "第一章 担保物权\n第二章 实现程序"),
        ("paper.pdf", make_pdf("Security interests in rem"), "Security interests in rem"),
    ],
)
def test_readable_files_are_extracted_outside_the_web_process(block_parsers, judge_api, paper, name, data, text):
    block_parsers()

    response, _ = upload(judge_api, paper, name, data)

    assert response.status_code == 200
    assert (response.json()["extraction_status"], response.json()["extraction_error"]) == ("done", "")
    paper.refresh_from_db()
    assert (paper.full_text.strip(), paper.extraction_status) == (text, "done")


def test_extracted_text_is_searchable(judge_api, paper):
    from search_index import searcher, services

    response, _ = upload(judge_api, paper, "paper.pdf", make_pdf("Hypothecation of movables"))
    searcher.reset()
    services.index_rebuild()
    try:
        result = services.search("hypothecation", filters=services.Filters())
    finally:
        searcher.reset()
    assert response.json()["extraction_status"] == "done"
    assert [(hit.type, hit.id) for hit in result.items] == [("paper", paper.pk)]


def test_a_paper_without_file_has_no_extraction_status(judge_api, paper):
    body = judge_api.get(f"/api/v1/papers/{paper.pk}").json()
    assert (body["has_file"], body["extraction_status"], body["extraction_error"]) == (False, "", "")


def test_the_paper_page_says_why_the_text_is_missing(settings, client, judge_api, paper):
    settings.PAPER_EXTRACT_MAX_PAGES = 3
    upload(judge_api, paper, "pages.pdf", make_shared_stream_pdf(4, stream_bytes=64))

    page = client.get(f"/papers/{paper.pk}")

    assert page.status_code == 200
    assert "全文文本未能提取，无法按全文检索：PDF 超过 3 页" in page.content.decode()


def test_text_files_need_no_child(monkeypatch, judge_api, paper):
    """Plain text is only decoded, in the web process: no child is started."""
    import subprocess

    monkeypatch.setattr(subprocess, "run", None)
    response, _ = upload(judge_api, paper, "gbk.txt", "担保物权".encode("gb18030"))

    assert (response.json()["extraction_status"], response.json()["extraction_error"]) == ("done", "")
    paper.refresh_from_db()
    assert paper.full_text == "担保物权"
