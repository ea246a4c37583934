"""A paper's full-text file on disk follows its row: only the file the paper names is kept, whatever races
(attack round 12: 15 parallel uploads to one paper left 8 files no paper named; an upload racing the paper's
deletion answered 500, or 200 and kept the file of a deleted paper; the admin's deletions kept every file)."""

import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from accounts.services import token_issue
from core.errors import DomainError
from library import services, tasks
from library.models import Paper
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log, delete, start_server


def stored_files() -> list[str]:
    """The files under MEDIA_ROOT/papers, as names a paper's ``file`` holds."""
    folder = Path(settings.MEDIA_ROOT) / "papers"
    return sorted(f"papers/{p.name}" for p in folder.iterdir()) if folder.exists() else []


def named_files() -> list[str]:
    return sorted(name for name in Paper.objects.values_list("file", flat=True) if name)


@pytest.mark.django_db
class TestInProcess:
    @pytest.fixture
    def paper(self, judge):
        paper = services.paper_create(title="关于担保物权实现程序问题的研究", created_by=judge)
        services.paper_store_file(paper=paper, data="初稿".encode(), filename="a.txt")
        return paper

    def test_an_upload_through_a_paper_loaded_before_another_upload_replaces_the_file_the_row_names(
        self, paper, django_capture_on_commit_callbacks
    ):
        first, second = Paper.objects.get(pk=paper.pk), Paper.objects.get(pk=paper.pk)  # two requests' loads
        with django_capture_on_commit_callbacks(execute=True):
            services.paper_store_file(paper=first, data="第二稿".encode(), filename="b.txt")
        with django_capture_on_commit_callbacks(execute=True):
            services.paper_store_file(paper=second, data="第三稿".encode(), filename="c.txt")

        assert stored_files() == named_files() == [second.file.name]
        assert Paper.objects.get(pk=paper.pk).file_name == "c.txt"

    def test_an_upload_to_a_paper_deleted_since_it_was_loaded_is_paper_not_found_and_keeps_no_file(
        self, paper, django_capture_on_commit_callbacks
    ):
        loaded = Paper.objects.get(pk=paper.pk)
        with django_capture_on_commit_callbacks(execute=True):
            services.paper_delete(paper=paper)

        with pytest.raises(DomainError) as refused:
            tasks.paper_upload_file(paper=loaded, data="新稿".encode(), filename="b.txt")

        assert (refused.value.code, refused.value.status) == ("paper_not_found", 404)
        assert stored_files() == []

    def test_an_edit_of_a_paper_deleted_since_it_was_loaded_is_paper_not_found(self, paper):
        loaded = Paper.objects.get(pk=paper.pk)
        services.paper_delete(paper=paper)

        with pytest.raises(DomainError) as refused:
            services.paper_update(paper=loaded, changes={"title": "新题目"})

        assert (refused.value.code, refused.value.status) == ("paper_not_found", 404)

    def test_a_file_whose_transaction_fails_is_not_kept_and_the_old_one_stays(self, paper, monkeypatch):
        old = paper.file.name

        def refuse(**kwargs):
            raise RuntimeError("the queue is unavailable")

        monkeypatch.setattr(tasks, "paper_extract_enqueue", refuse)
        with pytest.raises(RuntimeError):
            tasks.paper_upload_file(paper=paper, data="新稿".encode(), filename="b.txt")

        assert stored_files() == named_files() == [old]

    def test_deleting_a_paper_loaded_before_its_file_was_replaced_removes_the_current_file(
        self, paper, django_capture_on_commit_callbacks
    ):
        loaded = Paper.objects.get(pk=paper.pk)
        with django_capture_on_commit_callbacks(execute=True):
            services.paper_store_file(paper=paper, data="第二稿".encode(), filename="b.txt")
        with django_capture_on_commit_callbacks(execute=True):
            services.paper_delete(paper=loaded)

        assert stored_files() == []

    def test_the_admin_deletes_a_papers_file_with_it(self, paper, librarian, django_capture_on_commit_callbacks):
        client = Client()
        client.force_login(librarian)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/admin/library/paper/{paper.pk}/delete/", {"post": "yes"})

        assert response.status_code == 302
        assert (Paper.objects.count(), stored_files()) == (0, [])

    def test_the_admins_delete_action_deletes_the_files_too(self, paper, librarian, judge,
                                                            django_capture_on_commit_callbacks):
        other = services.paper_create(title="执行难问题调研报告", created_by=judge)
        services.paper_store_file(paper=other, data="全文".encode(), filename="x.txt")
        kept = services.paper_create(title="诉调对接机制研究", created_by=judge)
        services.paper_store_file(paper=kept, data="全文".encode(), filename="y.txt")
        client = Client()
        client.force_login(librarian)
        with django_capture_on_commit_callbacks(execute=True):
            # Searching by an author's name makes the admin's queryset DISTINCT.
            response = client.post("/admin/library/paper/?q=问题", {
                "action": "delete_selected", "_selected_action": [paper.pk, other.pk], "post": "yes",
            })

        assert response.status_code == 302
        assert list(Paper.objects.values_list("pk", flat=True)) == [kept.pk]
        assert stored_files() == [kept.file.name]


# --- real parallel requests on a live multi-process server ---------------------------------------------------


def upload(url: str, token: str, data: bytes, filename: str = "全文.txt") -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_fifteen_uploads_at_once_to_one_paper_leave_only_its_current_file(server):
    base, log = server
    judge = make_user("uploader", Role.JUDGE)
    token = token_issue(user=judge, name="parallel").raw
    paper = services.paper_create(title="关于担保物权实现程序问题的研究", created_by=judge)
    url = f"{base}/api/v1/papers/{paper.pk}/file"

    statuses = all_at_once([lambda i=i: upload(url, token, f"第{i}稿".encode()) for i in range(15)])

    assert statuses == [200] * 15
    paper.refresh_from_db()
    assert stored_files() == [paper.file.name]
    assert_clean_log(log)


@pytest.mark.django_db(transaction=True)
def test_uploads_racing_the_deletion_of_their_paper_answer_404_and_leave_no_file(tmp_path):
    with start_server(tmp_path, env={"PAPER_UPLOADS_PER_HOUR": "100"}) as (base, log):
        _uploads_racing_deletions(base, log)


def _uploads_racing_deletions(base: str, log: Path) -> None:
    judge = make_user("uploader", Role.JUDGE)
    token = token_issue(user=judge, name="parallel").raw
    outcomes = []
    for round_ in range(4):
        paper = services.paper_create(title=f"执行难问题调研报告{round_}", created_by=judge)
        url = f"{base}/api/v1/papers/{paper.pk}/file"
        calls = [lambda i=i, url=url: upload(url, token, f"第{i}稿".encode()) for i in range(6)]
        calls.insert(3, lambda gone=f"{base}/api/v1/papers/{paper.pk}": delete(gone, token)[0])
        results = all_at_once(calls)
        assert results[3] == 204
        outcomes += results[:3] + results[4:]

    assert set(outcomes) <= {200, 404}, outcomes
    assert Paper.objects.count() == 0
    assert stored_files() == [], os.listdir(Path(settings.MEDIA_ROOT) / "papers")
    assert_clean_log(log)
