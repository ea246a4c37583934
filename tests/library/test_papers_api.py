"""Research papers: visibility, object-level edit rights, full-text upload and download."""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from library.models import Paper, PaperDownload
from library.services import paper_attach_file, paper_create, paper_download_record
from tests.jobs.worker import run_queued_jobs
from tests.library.files import make_docx, make_pdf

pytestmark = pytest.mark.django_db

TITLE = "关于担保物权实现程序问题的研究"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def public_paper():
    return paper_create(title=TITLE, authors=["张明", "李娜"], year=2023, visibility="public",
                        keywords=["担保物权", "实现程序"], awards="自治区高院优秀调研课题")


@pytest.fixture
def internal_paper():
    return paper_create(title="执行难问题调研报告", year=2024, visibility="internal")


def test_judge_creates_paper_and_owns_it(judge_api, judge):
    response = judge_api.post("/api/v1/papers", {"title": "诉调对接机制研究", "authors": ["张明"], "kind": "article",
                                                 "keywords": ["诉调对接", "诉调对接"], "visibility": "public"})
    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["authors"], body["kind"], body["keywords"], body["has_file"]) == (
        "诉调对接机制研究", ["张明"], "article", ["诉调对接"], False)
    assert Paper.objects.get(pk=body["id"]).created_by == judge


def test_paper_defaults_to_internal(librarian_api):
    assert librarian_api.post("/api/v1/papers", {"title": "内部课题"}).json()["visibility"] == "internal"


def test_anonymous_sees_only_public_papers(anon_api, public_paper, internal_paper):
    body = anon_api.get("/api/v1/papers").json()
    assert (body["count"], [p["title"] for p in body["items"]]) == (1, [TITLE])
    assert anon_api.get(f"/api/v1/papers/{internal_paper.pk}").status_code == 404
    assert anon_api.get(f"/api/v1/papers/{public_paper.pk}").json()["authors"] == ["张明", "李娜"]


@pytest.mark.parametrize("who", ["judge_api", "librarian_api", "organizer_api"])
def test_logged_in_users_see_internal_papers(request, who, public_paper, internal_paper):
    client = request.getfixturevalue(who)
    assert client.get("/api/v1/papers").json()["count"] == 2
    assert client.get(f"/api/v1/papers/{internal_paper.pk}").status_code == 200


def test_list_papers_filters(judge_api, public_paper, internal_paper):
    assert [p["id"] for p in judge_api.get("/api/v1/papers", {"visibility": "internal"}).json()["items"]] == [internal_paper.pk]
    assert [p["id"] for p in judge_api.get("/api/v1/papers", {"year": 2023}).json()["items"]] == [public_paper.pk]


@pytest.mark.parametrize("count", [1, 3])
def test_list_papers_query_count_does_not_grow(anon_api, count):
    for i in range(count):
        paper_create(title=f"课题{i}", authors=["甲", "乙"], visibility="public")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert anon_api.get("/api/v1/papers").json()["count"] == count
    assert len(queries) == 3  # count, page, authors


def test_only_librarian_or_entering_judge_edits(judge_api, librarian_api, organizer_api, judge):
    mine = paper_create(title="我的课题", created_by=judge)
    theirs = paper_create(title="别人的课题")
    assert judge_api.patch(f"/api/v1/papers/{mine.pk}", {"awards": "一等奖"}).json()["awards"] == "一等奖"
    refused = judge_api.patch(f"/api/v1/papers/{theirs.pk}", {"awards": "一等奖"})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert organizer_api.patch(f"/api/v1/papers/{mine.pk}", {"title": "x"}).status_code == 403
    assert organizer_api.post("/api/v1/papers", {"title": "x"}).status_code == 403
    assert librarian_api.patch(f"/api/v1/papers/{theirs.pk}", {"authors": ["王芳"]}).json()["authors"] == ["王芳"]
    theirs.refresh_from_db()
    assert theirs.awards == ""


def test_anonymous_cannot_write_papers(anon_api, public_paper):
    assert anon_api.post("/api/v1/papers", {"title": "x"}).status_code == 401
    assert anon_api.patch(f"/api/v1/papers/{public_paper.pk}", {"title": "x"}).status_code == 401
    assert anon_api.delete(f"/api/v1/papers/{public_paper.pk}").status_code == 401
    assert Paper.objects.get().title == TITLE


def test_delete_paper_removes_its_file(librarian_api, public_paper, django_capture_on_commit_callbacks):
    paper_attach_file(paper=public_paper, data="全文".encode(), filename="a.txt")
    path = public_paper.file.path
    assert os.path.exists(path)
    with django_capture_on_commit_callbacks(execute=True):
        assert librarian_api.delete(f"/api/v1/papers/{public_paper.pk}").status_code == 204
    assert not os.path.exists(path)
    assert not Paper.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "file_type", "text"),
    [
        ("研究.txt", "担保物权实现程序属于非讼程序。".encode(), "txt", "担保物权实现程序属于非讼程序。"),
        ("gbk.txt", "担保物权实现程序".encode("gb18030"), "txt", "担保物权实现程序"),
        ("bom.txt", "\ufeff担保物权".encode(), "txt", "担保物权"),
        ("课题.docx", make_docx("第一章 担保物权", "第二章 实现程序"), "docx", "第一章 担保物权\n第二章 实现程序"),
        ("paper.pdf", make_pdf("Security interests in rem"), "pdf", "Security interests in rem"),
    ],
)
def test_upload_extracts_text_and_download_returns_the_same_bytes(librarian_api, anon_api, public_paper, name, data,
                                                                   file_type, text):
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file",
                                    {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")})
    assert response.status_code == 200
    body = response.json()
    assert (body["has_file"], body["file_type"], body["file_name"], body["file_size"]) == (True, file_type, name, len(data))
    assert (body["extraction_status"], public_paper.full_text) == ("pending", "")
    [job] = run_queued_jobs()
    public_paper.refresh_from_db()
    assert (job.state, job.key, job.summary) == ("done", f"paper_extract:{public_paper.pk}",
                                                 {"extraction": "done", "ran": True})
    assert (public_paper.full_text.strip(), public_paper.extraction_status) == (text, "done")
    assert librarian_api.get(f"/api/v1/papers/{public_paper.pk}").json()["extraction_status"] == "done"
    # Stored under a random name inside MEDIA_ROOT/papers, never the client's name.
    assert public_paper.file.name.startswith("papers/") and name not in public_paper.file.name
    download = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    if file_type == "txt":
        assert download["Content-Type"] == "text/plain; charset=" + ("gb18030" if name == "gbk.txt" else "utf-8")
    # ?view=true shows a text file in the browser (a judge on a phone got a download), sandboxed; other types are
    # still downloaded.
    shown = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file", {"view": "true"})
    assert b"".join(shown.streaming_content) == data
    assert shown["Content-Disposition"].split(";")[0] == ("inline" if file_type == "txt" else "attachment")
    assert (shown.get("Content-Security-Policy") == "sandbox; default-src 'none'") == (file_type == "txt")
    assert shown["X-Content-Type-Options"] == "nosniff"


def test_replacing_a_file_deletes_the_old_one(librarian_api, public_paper, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        paper_attach_file(paper=public_paper, data=b"first", filename="a.txt")
    old = public_paper.file.path
    with django_capture_on_commit_callbacks(execute=True):
        librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("b.txt", b"second")})
    run_queued_jobs()
    public_paper.refresh_from_db()
    assert not os.path.exists(old)
    assert public_paper.full_text == "second"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("evil.pdf", b"MZ\x90\x00\x03\x00\x00\x00binary", "bad_file_type"),
        ("x.docx", b"PK\x03\x04not really a zip", "bad_file_type"),
        ("empty.txt", b"", "empty_file"),
        ("latin1.txt", "caf\xe9 \xff\xfe".encode("latin-1"), "bad_file_type"),
    ],
)
def test_bad_uploads_are_422_and_change_nothing(librarian_api, public_paper, name, data, code):
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["detail"][0]["field"]) == (code, "file")
    public_paper.refresh_from_db()
    assert (public_paper.has_file, public_paper.full_text) == (False, "")


def test_oversized_upload_is_refused(settings, librarian_api, public_paper):
    settings.PAPER_MAX_UPLOAD_BYTES = 10
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"x" * 11)})
    assert (response.status_code, response.json()["code"]) == (422, "file_too_large")


def test_upload_without_file_is_422(librarian_api, public_paper):
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "file"


@pytest.mark.parametrize("who", ["judge_api", "librarian_api", "organizer_api"])
def test_internal_paper_file_is_for_logged_in_users_only(request, anon_api, internal_paper, who):
    paper_attach_file(paper=internal_paper, data="内部全文".encode(), filename="内部.txt")
    assert anon_api.get(f"/api/v1/papers/{internal_paper.pk}/file").status_code == 404
    response = request.getfixturevalue(who).get(f"/api/v1/papers/{internal_paper.pk}/file")
    assert b"".join(response.streaming_content) == "内部全文".encode()


@pytest.mark.parametrize(("who", "status"), [("anon_api", 401), ("organizer_api", 403)])
def test_only_editors_upload_or_delete(request, public_paper, who, status):
    client = request.getfixturevalue(who)
    upload = client.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"x")})
    assert upload.status_code == status
    assert client.delete(f"/api/v1/papers/{public_paper.pk}").status_code == status
    public_paper.refresh_from_db()
    assert (public_paper.has_file, Paper.objects.count()) == (False, 1)


def test_download_without_file_is_404(anon_api, public_paper):
    response = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not PaperDownload.objects.exists()  # nothing served, nothing counted


def test_each_download_is_recorded_with_its_reader_and_instant(judge_api, anon_api, judge, public_paper):
    """The reports' "most read papers" count these rows; an anonymous download has no reader."""
    paper_attach_file(paper=public_paper, data="全文".encode(), filename="a.txt")
    with time_machine.travel(datetime(2026, 3, 2, 9, 30, tzinfo=SH), tick=False):
        assert b"".join(judge_api.get(f"/api/v1/papers/{public_paper.pk}/file").streaming_content) == "全文".encode()
    with time_machine.travel(datetime(2026, 3, 3, 9, 30, tzinfo=SH), tick=False):
        assert anon_api.get(f"/api/v1/papers/{public_paper.pk}/file").status_code == 200

    assert list(PaperDownload.objects.order_by("at").values_list("paper", "reader", "at")) == [
        (public_paper.pk, judge.pk, datetime(2026, 3, 2, 9, 30, tzinfo=SH)),
        (public_paper.pk, None, datetime(2026, 3, 3, 9, 30, tzinfo=SH))]


def test_recording_a_download_is_one_insert(public_paper, judge, django_assert_num_queries):
    with django_assert_num_queries(1):
        paper_download_record(paper=public_paper, reader=judge)


def test_judge_cannot_upload_to_someone_elses_paper(judge_api, public_paper):
    response = judge_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"x")})
    assert response.status_code == 403
    public_paper.refresh_from_db()
    assert not public_paper.has_file


@pytest.mark.parametrize(("payload", "field"), [({"title": ""}, "title"), ({"title": "x", "kind": "novel"}, "kind"),
                                                ({"title": "x", "visibility": "secret"}, "visibility"),
                                                ({"title": "x", "keywords": "a;b"}, "keywords"),
                                                ({"title": "x", "extra": True}, "extra")])
def test_invalid_paper_input_is_422(librarian_api, payload, field):
    response = librarian_api.post("/api/v1/papers", payload)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["detail"]]


def test_docx_zip_bomb_is_refused_before_unpacking(librarian_api, public_paper):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "a" * (120 * 1024 * 1024) + "</w:document>")
    data = out.getvalue()
    assert len(data) < 1024 * 1024  # a small upload …
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("bomb.docx", data)})
    assert (response.status_code, response.json()["code"]) == (422, "bad_file")
    public_paper.refresh_from_db()
    assert not public_paper.has_file


@pytest.mark.parametrize("planted", ["name", "symlink"])
def test_downloads_never_leave_media_root(librarian_api, anon_api, public_paper, settings, tmp_path, planted):
    """A tampered file name or a symlink planted in the media folder never serves a file from outside it."""
    from library.models import Paper

    secret = tmp_path / "outside.txt"
    secret.write_text("not for readers")
    assert librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file",
                                {"file": SimpleUploadedFile("a.txt", b"inside")}).status_code == 200
    paper = Paper.objects.get(pk=public_paper.pk)
    stored = paper.file.path
    if planted == "name":
        Paper.objects.filter(pk=paper.pk).update(file="../outside.txt")
    else:
        import os

        os.remove(stored)
        os.symlink(secret, stored)
    response = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file")
    assert response.status_code == 404
    assert b"not for readers" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_uploads_are_throttled_per_user(settings, judge_api, librarian_api, judge):
    """The upload after PAPER_UPLOADS_PER_HOUR in an hour is 429; another user may still upload."""
    settings.PAPER_UPLOADS_PER_HOUR = 2
    paper = paper_create(title="诉调对接机制研究", created_by=judge)
    url = f"/api/v1/papers/{paper.pk}/file"
    statuses = [judge_api.upload(url, {"file": SimpleUploadedFile("a.txt", b"text")}).status_code for _ in range(2)]

    refused = judge_api.upload(url, {"file": SimpleUploadedFile("b.txt", b"other")})

    assert statuses == [200, 200]
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 3600
    run_queued_jobs()
    paper.refresh_from_db()
    assert paper.full_text == "text"
    assert librarian_api.upload(url, {"file": SimpleUploadedFile("c.txt", b"third")}).status_code == 200


def test_a_judge_saves_paper_edits_at_most_paper_edits_per_day_and_librarians_are_exempt(settings, judge_api,
                                                                                        librarian_api, judge):
    """Attack round 12: a judge rewrote their 20 papers 1,000 times with 20,000-character abstracts, and the
    search index grew from 13 MB to 590 MB in four minutes."""
    settings.PAPER_EDITS_PER_DAY = 3
    papers = [paper_create(title=f"诉调对接机制研究{i}", created_by=judge) for i in range(2)]
    urls = [f"/api/v1/papers/{p.pk}" for p in papers]
    statuses = [judge_api.patch(urls[i % 2], {"abstract": f"第{i}稿"}).status_code for i in range(3)]

    refused = judge_api.patch(urls[1], {"keywords": ["调解"]})

    assert statuses == [200, 200, 200]  # counted per judge, over all their papers
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_paper_edits")
    assert 0 < refused.json()["retry_after"] <= 24 * 3600
    assert Paper.objects.get(pk=papers[1].pk).keywords == []
    assert librarian_api.patch(urls[1], {"keywords": ["调解"]}).status_code == 200


def test_an_edit_refused_by_the_models_caps_costs_no_edit(settings, judge):
    from django.core.exceptions import ValidationError

    from library.services import paper_update

    settings.PAPER_EDITS_PER_DAY = 1
    paper = paper_create(title="诉调对接机制研究", created_by=judge)
    with pytest.raises(ValidationError) as long_abstract:
        paper_update(paper=paper, changes={"abstract": "摘" * 20_001}, actor=judge)
    with pytest.raises(ValidationError) as many_keywords:
        paper_update(paper=Paper.objects.get(pk=paper.pk), changes={"keywords": [f"词{i}" for i in range(51)]},
                     actor=judge)

    assert list(long_abstract.value.message_dict) == ["abstract"]
    assert list(many_keywords.value.message_dict) == ["keywords"]
    paper_update(paper=Paper.objects.get(pk=paper.pk), changes={"abstract": "摘要"}, actor=judge)


@pytest.mark.parametrize(
    ("name", "data", "download_name", "content_type"),
    [
        ("evil.html", b"<script>alert(document.cookie)</script>", "evil.txt", "text/plain; charset=utf-8"),
        ("report.pdf.html", make_pdf("x"), "report.pdf.pdf", "application/pdf"),
        ("noext", make_docx("x"), "noext.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_download_name_takes_the_extension_of_the_detected_type(librarian_api, anon_api, public_paper, name, data,
                                                                 download_name, content_type):
    response = librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile(name, data)})
    assert response.json()["file_name"] == download_name

    download = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file")

    assert download["Content-Disposition"] == f'attachment; filename="{download_name}"'
    assert (download["Content-Type"], download["X-Content-Type-Options"]) == (content_type, "nosniff")


def test_download_name_is_fixed_for_files_stored_before(librarian_api, anon_api, public_paper):
    """A row stored before names were normalized still downloads with the detected type's extension."""
    librarian_api.upload(f"/api/v1/papers/{public_paper.pk}/file", {"file": SimpleUploadedFile("a.txt", b"<b>hi</b>")})
    Paper.objects.filter(pk=public_paper.pk).update(file_name="evil.html")

    download = anon_api.get(f"/api/v1/papers/{public_paper.pk}/file")

    assert download["Content-Disposition"] == 'attachment; filename="evil.txt"'
