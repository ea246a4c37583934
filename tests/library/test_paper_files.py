"""A paper's full-text file on disk follows its row: only the file the paper names is kept, whatever races
(attack round 12: 15 parallel uploads to one paper left 8 files no paper named)."""

import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Role
from accounts.services import token_issue
from library import services, tasks
from library.models import Paper
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log


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

    def test_a_file_whose_transaction_fails_is_not_kept_and_the_old_one_stays(self, paper, monkeypatch):
        old = paper.file.name

        def refuse(**kwargs):
            raise RuntimeError("the queue is unavailable")

        monkeypatch.setattr(tasks, "paper_extract_enqueue", refuse)
        with pytest.raises(RuntimeError):
            tasks.paper_upload_file(paper=paper, data="新稿".encode(), filename="b.txt")

        assert stored_files() == named_files() == [old]


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
