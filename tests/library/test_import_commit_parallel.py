"""正式导入 of one dry run sent four times at once (attack round 18, F8), through a live multi-process server (gunicorn,
four workers; SQLite here, PostgreSQL with ``make test-pg``): exactly one real import is started, and the dry run
names it."""

import urllib.error
import urllib.request

import pytest
from django.test import Client

from accounts.models import Role
from library.models import CatalogImport
from library.tasks import catalog_import_start
from tests.conftest import make_user
from tests.jobs.worker import run_queued_jobs
from tests.library.test_import_export import csv_text, row
from tests.live import all_at_once, assert_clean_log

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "k" * 32  # a CSRF secret of our own: the cookie and the form field carry the same one


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer


def page_post(url: str, session: str, fields: dict[str, str]) -> tuple[int, str]:
    """A page's form POST with ``session`` (a logged-in session id) and a CSRF token: (status, Location)."""
    body = "&".join(f"{k}={v}" for k, v in {**fields, "csrfmiddlewaretoken": CSRF}.items()).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Cookie": f"sessionid={session}; csrftoken={CSRF}", "Content-Type": "application/x-www-form-urlencoded",
        "Referer": url})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=60) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_commits_of_one_dry_run_sent_at_once_start_exactly_one_real_import(server):
    base, log = server
    librarians = [make_user(f"librarian{i}", Role.LIBRARIAN) for i in range(4)]
    rows = [row(isbn="", title=f"并发书{i:04d}", year="2020", barcodes=f"CC{i:04d}") for i in range(300)]
    dry_run = catalog_import_start(data=csv_text(*rows).encode(), filename="books.csv", format=None, location=None,
                                   started_by=librarians[0], dry_run=True)
    run_queued_jobs()
    url = f"{base}/catalog/import/{dry_run.pk}/commit"
    sessions = [session_of(librarian) for librarian in librarians]

    answers = all_at_once([lambda session=session: page_post(url, session, {}) for session in sessions])

    real = list(CatalogImport.objects.filter(dry_run=False))
    assert len(real) == 1
    dry_run.refresh_from_db()
    assert dry_run.committed_as_id == real[0].pk and not dry_run.file
    # Each was sent on: one to the real import it started, the others back to the dry run with the reason.
    assert sorted(location for _status, location in answers) == sorted(
        [f"/catalog/import/{real[0].pk}"] + [f"/catalog/import/{dry_run.pk}"] * 3)
    assert [status for status, _location in answers] == [302] * 4
    run_queued_jobs()
    real[0].refresh_from_db()
    assert (real[0].created, real[0].failed) == (300, 0)
    assert_clean_log(log)
