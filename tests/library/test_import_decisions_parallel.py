"""Two librarians decide one import conflict at the same moment, through a live multi-process server
(gunicorn, four workers; SQLite here, PostgreSQL with ``make test-pg``): exactly one decision applies."""

import pytest

from accounts.models import Role
from accounts.services import token_issue
from library import services
from library.models import Book, CatalogImport, ImportRecord
from library.tasks import catalog_import_start
from tests.conftest import make_user
from tests.jobs.worker import run_queued_jobs
from tests.library.test_import_export import ISBN_A, csv_text, row
from tests.live import all_at_once, assert_clean_log, post

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_decisions_sent_at_once_on_one_conflict_apply_exactly_one(server):
    base, log = server
    first, second = make_user("librarian1", Role.LIBRARIAN), make_user("librarian2", Role.LIBRARIAN)
    book = services.book_create(title="民法总则", isbn=ISBN_A, publisher="北京大学出版社")
    started = catalog_import_start(data=csv_text(row(isbn=ISBN_A, title="民法总则", publisher="法律出版社",
                                                     barcodes="P1")).encode(),
                                   filename="books.csv", format=None, location=None, started_by=first)
    run_queued_jobs()
    url = f"{base}/api/v1/imports/{started.pk}/records/1/decision"
    tokens = [token_issue(user=user, name="parallel").raw for user in (first, second)]

    answers = all_at_once([lambda: post(url, tokens[0], {"action": "replace"}),
                           lambda: post(url, tokens[1], {"action": "new"})])

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 409]
    refused = next(body for status, body in answers if status == 409)
    assert refused["code"] == "already_decided"
    record = ImportRecord.objects.get(catalog_import=started, position=1)
    done = CatalogImport.objects.get(pk=started.pk)
    if record.decision == "replace":
        book.refresh_from_db()
        assert (book.publisher, Book.objects.count(), done.updated, done.created) == ("法律出版社", 1, 1, 0)
    else:
        assert (record.decision, Book.objects.count(), done.created, done.updated) == ("new", 2, 1, 0)
    assert done.conflicts == 0
    assert list(Book.objects.filter(copies__barcode="P1").values_list("pk", flat=True)) == [record.book_id]
    assert_clean_log(log)
