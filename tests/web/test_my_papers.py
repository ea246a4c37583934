"""A judge enters their own research paper and uploads its full text from the web (routine walk: only the API
could, so judges could not put their 调研课题 where colleagues find them)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from library.models import Paper
from search_index import services as search
from search_index.services import Filters
from tests.conftest import apply_index_outbox, make_user
from tests.jobs.worker import run_queued_jobs
from tests.library.files import make_docx

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, page: str, data: dict, files: dict | None = None):
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(page).content.decode()).group(1)
    return client.post(page, {"csrfmiddlewaretoken": token, **data, **(files or {})})


@pytest.fixture
def judge_a(db):
    return make_user("judge_a", "judge", display_name="王法官")


def test_a_judge_enters_a_paper_uploads_its_text_and_colleagues_find_it(judge_a):
    client = logged_in(judge_a)
    form = client.get("/me/papers").content.decode()
    created = post(client, "/me/papers", {
        "title": "关于担保物权实现程序问题的研究", "authors": "王法官、李法官", "kind": "research_project", "year": "2026",
        "abstract": "担保物权实现的非讼程序。", "keywords": "担保物权，非讼程序", "visibility": "internal"})
    paper = Paper.objects.get()
    uploaded = post(client, f"/me/papers/{paper.pk}", {"upload": "1"}, {
        "file": SimpleUploadedFile("课题.docx", make_docx("实现担保物权案件的审查标准与异议处理。"))})
    pending = client.get(f"/me/papers/{paper.pk}").content.decode()
    run_queued_jobs()
    apply_index_outbox()
    done = client.get(f"/me/papers/{paper.pk}").content.decode()
    listed = client.get("/me/papers").content.decode()
    colleague = search.search("异议处理", filters=Filters(include_internal=True))

    assert 'value="王法官"' in form  # the author defaults to the judge's name
    assert created.status_code == 302 and created["Location"] == f"/me/papers/{paper.pk}"
    assert (paper.created_by, paper.keywords, [a.name for a in paper.paper_authors.all()]) == (
        judge_a, ["担保物权", "非讼程序"], ["王法官", "李法官"])
    assert uploaded.status_code == 302
    assert 'id="extraction-pending"' in pending and 'http-equiv="refresh"' in pending
    assert 'id="extraction-done"' in done
    assert "可全文检索" in listed and "关于担保物权实现程序问题的研究" in listed
    assert [(hit.type, hit.id) for hit in colleague.items] == [("paper", paper.pk)]


def test_a_judge_edits_only_their_own_papers_and_a_reader_of_another_role_enters_none(judge_a):
    other = make_user("judge_b", "judge")
    organizer = make_user("organizer_x", "organizer")
    paper = Paper.objects.create(title="他人的课题", created_by=other)

    assert logged_in(judge_a).get(f"/me/papers/{paper.pk}").status_code == 404
    assert logged_in(organizer).get("/me/papers").status_code == 403
    assert Client().get("/me/papers").status_code == 302  # to the login page


def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(judge_a):
    client = logged_in(judge_a)

    refused = post(client, "/me/papers", {"title": "题目\r\n第二行", "kind": "research_project",
                                          "visibility": "internal", "year": "3000"})
    paper = Paper.objects.create(title="已有课题", created_by=judge_a)
    unknown_type = post(client, f"/me/papers/{paper.pk}", {"upload": "1"}, {
        "file": SimpleUploadedFile("课题.exe", b"MZ\x90\x00" + b"\x00" * 100)})

    body = refused.content.decode()
    assert refused.status_code == 200 and 'role="alert"' in body
    assert Paper.objects.count() == 1
    assert unknown_type.status_code == 200 and "PDF" in unknown_type.content.decode()
    paper.refresh_from_db()
    assert not paper.file


def test_a_judge_enters_at_most_a_days_worth_of_papers(judge_a, librarian, settings):
    """Attack round 9: one judge entered 2,000 public papers in half a minute; they outranked the books and
    slowed every search."""
    from tests.conftest import api_for

    settings.PAPERS_CREATED_PER_DAY = 2
    api = api_for(judge_a)
    statuses = [api.post("/api/v1/papers", {"title": f"课题{i}"}).status_code for i in range(2)]
    refused = api.post("/api/v1/papers", {"title": "第三篇"})
    page = post(logged_in(judge_a), "/me/papers", {"title": "第四篇", "kind": "research_project", "visibility": "internal"})
    by_librarian = api_for(librarian).post("/api/v1/papers", {"title": "馆员补录"})

    assert statuses == [201, 201]
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_papers")
    assert page.status_code == 200 and "最多录入 2 篇" in page.content.decode()
    assert by_librarian.status_code == 201
    assert sorted(Paper.objects.values_list("title", flat=True)) == ["课题0", "课题1", "馆员补录"]


def test_deleting_papers_frees_no_quota_and_a_refused_form_costs_none(judge_a, settings):
    """Attack round 11: the daily limit counted papers held, so delete-and-recreate entered any number."""
    from tests.conftest import api_for

    settings.PAPERS_CREATED_PER_DAY = 2
    api = api_for(judge_a)
    invalid = api.post("/api/v1/papers", {"title": "课题", "year": 99999})
    created = [api.post("/api/v1/papers", {"title": f"课题{i}"}).json()["id"] for i in range(2)]
    deleted = [api.delete(f"/api/v1/papers/{pk}").status_code for pk in created]
    again = api.post("/api/v1/papers", {"title": "删了再录"})

    assert invalid.status_code == 422
    assert deleted == [204, 204]
    assert (again.status_code, again.json()["code"]) == (429, "too_many_papers")
    assert not Paper.objects.exists()


def test_the_paper_page_refuses_an_edit_past_the_daily_limit_with_the_reason(judge_a, settings):
    settings.PAPER_EDITS_PER_DAY = 1
    client = logged_in(judge_a)
    paper = Paper.objects.create(title="已有课题", created_by=judge_a)
    form = {"title": "已有课题", "kind": "research_project", "visibility": "internal"}
    assert post(client, f"/me/papers/{paper.pk}", {**form, "abstract": "第一稿"}).status_code == 302

    refused = post(client, f"/me/papers/{paper.pk}", {**form, "abstract": "第二稿"})

    assert refused.status_code == 200 and "24 小时内最多修改调研成果 1 次" in refused.content.decode()
    assert Paper.objects.get(pk=paper.pk).abstract == "第一稿"
