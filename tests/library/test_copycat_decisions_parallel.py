"""Two librarians decide a copy-cataloguing conflict on one local book at the same moment, through a live
multi-process server (gunicorn, four workers; SQLite here, PostgreSQL with ``make test-pg``): exactly one
decision applies, the other is refused as made on a book that has changed (409 book_changed)."""

import pytest

from accounts.models import Role
from accounts.services import token_issue
from library import copycat, importers, services
from library.models import Book
from tests.conftest import make_user
from tests.library.sru_server import marc21_record
from tests.live import all_at_once, assert_clean_log, post

pytestmark = pytest.mark.django_db(transaction=True)

ISBN = "9787301048153"


def test_two_replace_decisions_sent_at_once_on_one_book_apply_exactly_one(server):
    base, log = server
    first, second = make_user("librarian1", Role.LIBRARIAN), make_user("librarian2", Role.LIBRARIAN)
    target = copycat.sru_target_create(name="国家图书馆", base_url="http://localhost:9/sru")
    book = services.book_create(title="民法总论", isbn=ISBN, publisher="北大出版社", year=2009, contributors=["王泽鉴"])
    fingerprint = importers.book_fingerprint(book)
    # Each librarian compared the book with another library's record: the two records differ from the book and
    # from each other, so whichever is written second would silently overwrite the first without the check.
    publishers = {"北京大学出版社": first, "法律出版社": second}
    tokens = {publisher: copycat.sign_record(target, marc21_record(
        title="民法总论", isbn=ISBN, author="王泽鉴", publisher=publisher, year=2009).encode())
        for publisher in publishers}
    api_tokens = {publisher: token_issue(user=user, name="parallel").raw for publisher, user in publishers.items()}
    url = f"{base}/api/v1/sru-targets/{target.pk}/import"

    answers = all_at_once([
        lambda publisher=publisher: post(url, api_tokens[publisher], {
            "token": tokens[publisher], "on_conflict": "replace", "fingerprint": fingerprint})
        for publisher in publishers])

    assert sorted(status for status, _ in answers) == [200, 409]
    refused = next(body for status, body in answers if status == 409)
    applied = next(publisher for publisher, (status, _) in zip(publishers, answers, strict=True) if status == 200)
    assert refused["code"] == "book_changed"
    book.refresh_from_db()
    assert (book.publisher, Book.objects.count()) == (applied, 1)
    assert_clean_log(log)
